"""PolicyStore: the TTL policy kept in Redis, so every process sees an operator's change at once.

The policy is one hash (``keys.policy_key``) with fields ``default``, ``min``, ``max``, ``version``
and ``o:<resource>`` per override; fields that are absent fall back to the ``defaults`` given to the
constructor. A single-field change is one MULTI/EXEC that writes the field, bumps ``version`` and
publishes the new version on ``keys.policy_channel``, which ``holds.policy_watch.PolicyWatcher``
listens to.

``replace`` writes a whole policy in one script (all fields, version bump and publish together), so an
operator's change of several fields is never seen half-applied. A replaced hash is *complete*
(field ``complete``): from then on the defaults no longer fill gaps, which is what lets a replace
remove an override that came from the defaults.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from redis.asyncio import Redis

from holds import keys
from holds.errors import InvalidPolicy, redis_errors
from holds.logic import check_resource
from holds.models import TtlPolicy

_OVERRIDE = "o:"
_COMPLETE = "complete"
_REPLACE_SOURCE = (resources.files("holds") / "lua" / "replace_policy.lua").read_text("utf-8")


class PolicyStore:
    """Read and change the shared TTL policy."""

    def __init__(self, redis: Redis, *, prefix: str = "calproxy", defaults: TtlPolicy) -> None:
        keys.check_prefix(prefix)
        self.redis = redis
        self.defaults = defaults
        self.key = keys.policy_key(prefix)
        self.channel = keys.policy_channel(prefix)
        self._replace = redis.register_script(_REPLACE_SOURCE)

    async def load(self) -> TtlPolicy:
        """The current policy: stored fields over the defaults."""
        return (await self.load_versioned())[0]

    async def load_versioned(self) -> tuple[TtlPolicy, int]:
        """The current policy and its version (0 while nothing was ever stored), read together."""
        with redis_errors("policy load"):
            raw = await self.redis.hgetall(self.key)
        fields = {_text(k): _text(v) for k, v in raw.items()}
        # A replaced policy is complete: the defaults' overrides must not come back after a removal.
        overrides = {} if fields.get(_COMPLETE) == "1" else dict(self.defaults.overrides)
        overrides.update({k[len(_OVERRIDE) :]: int(v) for k, v in fields.items() if k.startswith(_OVERRIDE)})
        policy = TtlPolicy(
            default_ms=int(fields.get("default", self.defaults.default_ms)),
            min_ms=int(fields.get("min", self.defaults.min_ms)),
            max_ms=int(fields.get("max", self.defaults.max_ms)),
            overrides=overrides,
        )
        return policy, int(fields.get("version", 0))

    async def replace(self, policy: TtlPolicy, *, if_version: int | None = None) -> int | None:
        """Store this whole policy atomically, bump the version and announce it; the new version.

        With ``if_version``, nothing is written unless the stored version still is that one (a
        compare-and-set for read-modify-write callers), and None is returned instead. Raises
        InvalidPolicy, before any write, when the default or an override lies outside [min, max].
        """
        check_whole(policy)
        fields: list[str | int] = [_COMPLETE, 1, "default", policy.default_ms, "min", policy.min_ms]
        fields += ["max", policy.max_ms]
        for resource, ms in sorted(policy.overrides.items()):
            fields += [_OVERRIDE + resource, ms]
        expected = "" if if_version is None else str(if_version)
        with redis_errors("policy replace"):
            version = int(await self._replace(keys=[self.key], args=[self.channel, expected, *fields]))
        return None if version < 0 else version

    async def set_default(self, ms: int) -> None:
        """Change the default TTL."""
        _check_ms("default", ms)
        await self._change({"default": ms})

    async def set_bounds(self, min_ms: int, max_ms: int) -> None:
        """Change the bounds every acquire and extend is clamped to."""
        _check_ms("min_ms", min_ms)
        _check_ms("max_ms", max_ms)
        if min_ms > max_ms:
            raise InvalidPolicy(f"need min_ms <= max_ms, got {min_ms} > {max_ms}")
        await self._change({"min": min_ms, "max": max_ms})

    async def set_override(self, resource: str, ms: int | None) -> None:
        """Set the TTL of one resource, or remove its override with None."""
        check_resource(resource)
        if ms is None:
            await self._change({}, delete=_OVERRIDE + resource)
        else:
            _check_ms("override", ms)
            await self._change({_OVERRIDE + resource: ms})

    async def _change(self, fields: dict[str | bytes, int | str], *, delete: str | None = None) -> None:
        with redis_errors("policy change"):
            async with self.redis.pipeline(transaction=True) as pipe:
                if fields:
                    pipe.hset(self.key, mapping={k: v for k, v in fields.items()})
                if delete is not None:
                    pipe.hdel(self.key, delete)
                pipe.hincrby(self.key, "version", 1)
                results = await pipe.execute()
                await self.redis.publish(self.channel, str(results[-1]))


def check_whole(policy: TtlPolicy) -> None:
    """Refuse a policy whose default or overrides lie outside its own bounds (they would be clamped)."""
    _check_ms("default_ms", policy.default_ms)
    _check_ms("min_ms", policy.min_ms)
    _check_ms("max_ms", policy.max_ms)
    if any(not isinstance(r, str) or not r for r in policy.overrides):
        raise InvalidPolicy("override resources must be non-empty strings")
    named = [("default", policy.default_ms), *((f"override {r}", ms) for r, ms in policy.overrides.items())]
    for name, ms in named:
        _check_ms(name, ms)
        if not policy.min_ms <= ms <= policy.max_ms:
            raise InvalidPolicy(f"{name} {ms} ms is outside [{policy.min_ms}, {policy.max_ms}] ms")


def _check_ms(name: str, ms: int) -> None:
    if not isinstance(ms, int) or isinstance(ms, bool) or ms <= 0:
        raise InvalidPolicy(f"{name} must be a positive integer of milliseconds, got {ms!r}")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
