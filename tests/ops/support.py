"""Run `calproxy serve` as a child process on a free loopback port, and stop it by PID."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any calproxy setting, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CALPROXY_") and k not in ("REDIS_URL", "PORT", "PROCFILE")
    }
    return {**env, **extra}


async def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 20
) -> tuple[int, str, str]:
    """Run `python -m proxy ARGS` to completion: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(env or clean_env()),
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Served:
    """A running `calproxy serve`: its URL and what it printed so far."""

    url: str
    process: asyncio.subprocess.Process
    stdout: list[str] = field(default_factory=list)

    async def stderr_after_stop(self) -> str:
        """Stop the process (SIGTERM by PID) and return everything it wrote on stderr."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stderr is not None
        err = await asyncio.wait_for(self.process.stderr.read(), timeout=15)
        await asyncio.wait_for(self.process.wait(), timeout=15)
        return err.decode()


@asynccontextmanager
async def serving(*args: str, env: Mapping[str, str] | None = None) -> AsyncIterator[Served]:
    """`calproxy serve ARGS --port <free>` until it says it listens; killed by PID on the way out."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "serve", "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(env or clean_env()),
    )  # fmt: skip
    served = Served(url=f"http://127.0.0.1:{port}", process=process)
    try:
        assert process.stdout is not None
        while not any("listening on" in line for line in served.stdout):
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
            assert line, f"serve exited early: {served.stdout}"
            served.stdout.append(line)
        yield served
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_ready(url: str, *, want: int = 200, timeout: float = 10) -> httpx.Response:
    """Poll /readyz until it answers `want` (bounded)."""
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await client.get("/readyz")
            if response.status_code == want or asyncio.get_running_loop().time() > deadline:
                return response
            await asyncio.sleep(0.1)
