"""Load the Lua scripts, register them on a client, and map their reply codes to results or errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from holds.errors import HoldCommitting, HoldConflict, HoldNotFound, HoldNotOwned, InvalidHold, StaleFence
from holds.models import Hold
from holds.records import decode_record

SCRIPT_NAMES = (
    "acquire_hold",
    "extend_hold",
    "release_hold",
    "begin_commit",
    "finish_commit",
    "abort_commit",
    "mark_booked",
    "live_holds",
    "get_hold",
    "force_release",
)


class Code(IntEnum):
    """First element of every script reply."""

    OK = 0
    CONFLICT = 1
    NOT_FOUND = 2
    NOT_OWNED = 3
    STALE_FENCE = 4
    COMMITTING = 5
    UID_TAKEN = 6


def _lua(name: str) -> str:
    return (resources.files("holds") / "lua" / f"{name}.lua").read_text("utf-8")


def script_source(name: str) -> str:
    """The text sent to Redis for one operation: the shared prelude, then the operation's file."""
    return _lua("_common") + "\n" + _lua(name)


def library_source(*operations: str) -> str:
    """The prelude and the named operations as local Lua functions, for scripts built on top of holds.

    Each operation becomes ``local function <name>(ARGV) ... end``: its file reads its arguments from the
    parameter exactly as it reads them from Redis's ARGV when run alone, so ``acquire_hold({ARGV[1], uid,
    ...})`` returns the reply the operation's own script would. A script that appends its own Lua to this
    text runs hold operations and its own writes atomically, in one round trip; it receives the resource's
    five keys as KEYS[1..5] (its own keys follow) and the clock as ARGV[1], like every hold script
    (``HoldStore.call_composed`` passes both).
    """
    unknown = set(operations) - set(SCRIPT_NAMES)
    if unknown:
        raise ValueError(f"unknown hold operations {sorted(unknown)}")
    functions = [f"local function {name}(ARGV)\n{_lua(name)}\nend" for name in operations]
    return "\n".join([_lua("_common"), *functions])


@dataclass(frozen=True)
class Scripts:
    """The registered scripts of one HoldStore; registration is local (SHA1 only) until first use."""

    acquire_hold: AsyncScript
    extend_hold: AsyncScript
    release_hold: AsyncScript
    begin_commit: AsyncScript
    finish_commit: AsyncScript
    abort_commit: AsyncScript
    mark_booked: AsyncScript
    live_holds: AsyncScript
    get_hold: AsyncScript
    force_release: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        """Register every script on this client (no I/O; EVALSHA falls back to SCRIPT LOAD on NOSCRIPT)."""
        return cls(*(redis.register_script(script_source(name)) for name in SCRIPT_NAMES))


@dataclass(frozen=True)
class ResourceState:
    """A read of one resource: its live holds and markers, the version of its last change, Redis's clock."""

    version: int
    now_ms: int
    holds: list[Hold]


def decode_live(reply: Any, resource: str) -> ResourceState:
    """The reply of live_holds: ``{0, version, now, uid, record, ...}``."""
    if not isinstance(reply, list) or len(reply) < 3 or int(reply[0]) != Code.OK or len(reply) % 2 == 0:
        raise RuntimeError(f"malformed live_holds reply {reply!r}")
    pairs = reply[3:]
    holds = [decode_record(resource, _text(pairs[i]), _text(pairs[i + 1])) for i in range(0, len(pairs), 2)]
    return ResourceState(version=int(reply[1]), now_ms=int(reply[2]), holds=holds)


@dataclass(frozen=True)
class CallContext:
    """What an error raised from a reply should say it was about."""

    resource: str
    uid: str | None = None
    start_ms: int = 0
    end_ms: int = 0
    fence: int = 0


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def decode_reply(reply: Any, ctx: CallContext) -> list[Hold]:
    """Map a script reply to the holds it carries, or raise the error its code stands for.

    Unknown codes and malformed replies raise RuntimeError: they mean the Lua and Python sides disagree.
    """
    if not isinstance(reply, list) or not reply:
        raise RuntimeError(f"malformed script reply {reply!r}")
    code = int(reply[0])
    uid = ctx.uid
    if code == Code.OK:
        # OK replies carry (uid, record) pairs; force_release carries a 0/1 flag instead, read by the store.
        pairs = reply[1:] if len(reply) % 2 == 1 else []
        return [
            decode_record(ctx.resource, _text(pairs[i]), _text(pairs[i + 1])) for i in range(0, len(pairs), 2)
        ]
    if code == Code.CONFLICT:
        raise HoldConflict(
            resource=ctx.resource,
            start_ms=ctx.start_ms,
            end_ms=ctx.end_ms,
            expires_at_ms=int(reply[1]),
            booked=bool(int(reply[2])),
            now_ms=int(reply[3]) if len(reply) > 3 else None,
        )
    if code == Code.NOT_FOUND:
        raise HoldNotFound(f"no live hold {uid} on {ctx.resource}", resource=ctx.resource, uid=uid)
    if code == Code.NOT_OWNED:
        raise HoldNotOwned(f"hold {uid} on {ctx.resource} has another owner", resource=ctx.resource, uid=uid)
    if code == Code.STALE_FENCE:
        raise StaleFence(
            f"fence {ctx.fence} is not the current commit of hold {uid} on {ctx.resource}",
            resource=ctx.resource,
            uid=uid or "",
            fence=ctx.fence,
        )
    if code == Code.COMMITTING:
        raise HoldCommitting(
            f"hold {uid} on {ctx.resource} is being committed", resource=ctx.resource, uid=uid
        )
    if code == Code.UID_TAKEN:
        raise InvalidHold(f"uid {uid} is already used on {ctx.resource}", resource=ctx.resource, uid=uid)
    raise RuntimeError(f"unknown script reply code {code} in {reply!r}")
