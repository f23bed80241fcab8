"""Start and stop a throwaway redis-server on a free loopback port (used by tests and benchmarks)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


def redis_server_binary() -> str | None:
    """Path of the redis-server binary, or None when it is not installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """End a child process by its PID: SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class RedisServer:
    """A redis-server child process without persistence; stop() ends it by its PID."""

    port: int
    process: subprocess.Popen[bytes]
    workdir: tempfile.TemporaryDirectory[str] = field(repr=False)
    args: list[str] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        """redis:// URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """PID of the server process."""
        return self.process.pid

    def restart(self, *, kill: bool = False, ready_timeout_s: float = 10.0) -> None:
        """End the server (SIGKILL with kill=True, else SIGTERM) and start it again on the same port and
        directory: with persistence on, what it had written survives; with it off, it comes back empty."""
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=10)
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            if _ping(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not come back: exit code {self.process.poll()}")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s) and remove its directory."""
        stop_process(self.process)
        self.workdir.cleanup()


def start_redis_server(*extra_args: str, attempts: int = 3, ready_timeout_s: float = 10.0) -> RedisServer:
    """Start redis-server on a free 127.0.0.1 port and wait until it answers PING."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    last_error = "not started"
    for _ in range(attempts):
        # The port is free when probed but may be taken before the server binds it; retry then.
        port = _free_port()
        workdir = tempfile.TemporaryDirectory(prefix="redis-test-")
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", workdir.name, *extra_args]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = RedisServer(port=port, process=process, workdir=workdir, args=args)
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            if _ping(port):
                return server
            time.sleep(0.02)
        last_error = f"exit code {process.poll()}"
        server.stop()
    raise RuntimeError(f"redis-server did not start: {last_error}")
