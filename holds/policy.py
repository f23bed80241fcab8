"""PolicyStore: the TTL policy kept in Redis, so every process sees an operator's change at once.

The policy is one hash (``keys.policy_key``) with fields ``default``, ``min``, ``max``, ``version``
and ``o:<resource>`` per override; fields that are absent fall back to the ``defaults`` given to the
constructor. Every change is one MULTI/EXEC that writes the field, bumps ``version`` and publishes
the new version on ``keys.policy_channel``, which ``holds.policy_watch.PolicyWatcher`` listens to.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from holds import keys
from holds.errors import InvalidPolicy, redis_errors
from holds.logic import check_resource
from holds.models import TtlPolicy

_OVERRIDE = "o:"


class PolicyStore:
    """Read and change the shared TTL policy."""

    def __init__(self, redis: Redis, *, prefix: str = "calproxy", defaults: TtlPolicy) -> None:
        keys.check_prefix(prefix)
        self.redis = redis
        self.defaults = defaults
        self.key = keys.policy_key(prefix)
        self.channel = keys.policy_channel(prefix)

    async def load(self) -> TtlPolicy:
        """The current policy: stored fields over the defaults."""
        with redis_errors("policy load"):
            raw = await self.redis.hgetall(self.key)
        fields = {_text(k): _text(v) for k, v in raw.items()}
        overrides = dict(self.defaults.overrides)
        overrides.update({k[len(_OVERRIDE) :]: int(v) for k, v in fields.items() if k.startswith(_OVERRIDE)})
        return TtlPolicy(
            default_ms=int(fields.get("default", self.defaults.default_ms)),
            min_ms=int(fields.get("min", self.defaults.min_ms)),
            max_ms=int(fields.get("max", self.defaults.max_ms)),
            overrides=overrides,
        )

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


def _check_ms(name: str, ms: int) -> None:
    if not isinstance(ms, int) or isinstance(ms, bool) or ms <= 0:
        raise InvalidPolicy(f"{name} must be a positive integer of milliseconds, got {ms!r}")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
