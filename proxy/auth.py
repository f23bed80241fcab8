"""Verified Cal.com credentials for hold-creating requests (CONTRACT §2).

A hold costs every other caller a slot, so calproxy creates one only for a credential Cal.com itself
accepts: it asks `GET /v2/me` with that credential (API key, access token, or platform client id *and*
secret, which Cal.com's ApiAuthStrategy tries first) and remembers the answer in Redis under a keyed hash
of the credential, briefly (accepted: minutes; refused: seconds), shared by every process. A refusal is
Cal.com's own 401 text, so a made-up `Bearer cal_whatever` is answered exactly as Cal.com answers it.

The pure parts (credential parsing, fingerprints, call-id signatures) are in `proxy.credentials`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from redis.asyncio import Redis

from proxy.calcom.errors import Unauthorized
from proxy.credentials import NO_AUTH, Credential, credential_of, fingerprint, tenant_id, upstream_headers
from proxy.errors import UpstreamUnavailable
from proxy.keys import ProxyKeys
from proxy.localcache import TtlMemo
from proxy.logs import get_logger
from proxy.upstream import CalcomClient

log = get_logger(__name__)

ME_PATH = "/v2/me"
ME_VERSION = "2024-08-13"


@dataclass(frozen=True)
class Verdict:
    """Cal.com's answer about one credential: accepted, or refused with its status and message."""

    accepted: bool
    status: int = 200
    message: str = ""

    def encode(self) -> str:
        """Compact JSON for Redis."""
        return json.dumps({"a": self.accepted, "s": self.status, "m": self.message}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: bytes | str) -> Verdict:
        """Inverse of encode."""
        data = json.loads(raw)
        return cls(bool(data["a"]), int(data["s"]), str(data["m"]))


def verdict_of(status: int, message: str) -> Verdict | None:
    """What Cal.com's /v2/me answer says about the credential; None when it says nothing (5xx, 429)."""
    if status == 200:
        return Verdict(True)
    if status in (401, 403):
        return Verdict(False, status, message or NO_AUTH)
    return None


@dataclass
class CredentialVerifier:
    """Asks Cal.com once per credential and TTL; every process shares the answer through Redis."""

    redis: Redis
    keys: ProxyKeys
    upstream: CalcomClient
    secret: bytes
    accepted_ttl_ms: int
    refused_ttl_ms: int
    local_ttl_s: float = 1.0
    upstream_checks: int = 0
    _memo: TtlMemo[str, Verdict] = field(init=False)
    _inflight: dict[str, asyncio.Future[Verdict]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._memo = TtlMemo(self.local_ttl_s)

    async def require(self, headers: Mapping[str, str]) -> Credential:
        """The request's credential once Cal.com has accepted it; Cal.com's 401 otherwise."""
        credential = credential_of(headers)
        if credential is None:
            raise Unauthorized(NO_AUTH)
        verdict = await self.verdict(credential, headers)
        if not verdict.accepted:
            # Cal.com's own text, as it would answer this very credential.
            raise Unauthorized(verdict.message or NO_AUTH)
        return credential

    async def verdict(self, credential: Credential, headers: Mapping[str, str]) -> Verdict:
        """Local memo, then Redis, then one upstream check per process at a time."""
        digest = fingerprint(self.secret, credential.material, "verify")
        local = self._memo.get(digest)
        if local is not None:
            return local
        key = self.keys.credential(self.tenant_of(credential), digest[:32])
        raw = await self.redis.get(key)
        if raw is not None:
            found = Verdict.decode(raw)
            self._memo.put(digest, found)
            return found
        pending = self._inflight.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            verdict = await self._ask(credential, headers)
            ttl = self.accepted_ttl_ms if verdict.accepted else self.refused_ttl_ms
            await self.redis.set(key, verdict.encode(), px=ttl)
            self._memo.put(digest, verdict)
            future.set_result(verdict)
            return verdict
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            self._inflight.pop(digest, None)

    def tenant_of(self, credential: Credential) -> str:
        """The tenant id of a credential (same derivation as proxy.identity.tenant_of)."""
        return tenant_id(self.secret, credential)

    async def _ask(self, credential: Credential, headers: Mapping[str, str]) -> Verdict:
        self.upstream_checks += 1
        response = await self.upstream.request(
            "GET",
            ME_PATH,
            headers={"cal-api-version": ME_VERSION, **upstream_headers(credential, headers)},
            endpoint=ME_PATH,
        )
        verdict = verdict_of(response.status, response.error_message())
        if verdict is None:
            # Cal.com could not say (5xx, its own rate limit): fail closed, remember nothing.
            log.warning("credential_check_inconclusive", status=response.status)
            raise UpstreamUnavailable("Cal.com could not verify the credential; try again shortly.")
        log.info("credential_checked", kind=credential.kind, accepted=verdict.accepted)
        return verdict
