"""A bounded HTTP client for callers: one concurrency cap, per-request timeouts, loopback only."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class CallFailed(Exception):
    """The request did not produce an HTTP answer (timeout, connection error)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Answer:
    """Status, parsed JSON (None if not JSON) and elapsed milliseconds."""

    status: int
    body: Any
    elapsed_ms: float


def require_loopback(url: str) -> str:
    """The load test only ever talks to this machine."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise ValueError(f"load test targets must be on loopback, got {url}")
    return url.rstrip("/")


class LoadClient:
    """httpx.AsyncClient behind a semaphore; every call is timed and bounded."""

    def __init__(self, concurrency: int, timeout_s: float) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), limits=limits, trust_env=False)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> Answer:
        """One request; CallFailed when no HTTP answer came back."""
        async with self._sem:
            started = time.perf_counter()
            try:
                response = await self._http.request(method, url, headers=headers, params=params, json=body)
            except httpx.TimeoutException as exc:
                raise CallFailed("timeout") from exc
            except httpx.HTTPError as exc:
                raise CallFailed(type(exc).__name__) from exc
            elapsed = (time.perf_counter() - started) * 1000
        try:
            parsed: Any = json.loads(response.content) if response.content else None
        except ValueError:
            parsed = None
        return Answer(response.status_code, parsed, elapsed)
