"""HoldStore: the async hold API over Redis; every operation is one script call, i.e. one round trip."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError

from holds import keys, logic
from holds.errors import InvalidHold, redis_errors
from holds.models import DEFAULT_POLICY, CommitTicket, Hold, TtlPolicy
from holds.policy import PolicyStore
from holds.policy_watch import PolicyWatcher
from holds.scripts import CallContext, ResourceState, Scripts, decode_live, decode_reply

# The widest window: a whole-resource read (interval bounds are checked as 0 <= start < end, in ms).
_ALL_TIME = (0, 2**52)


def new_uid() -> str:
    """A fresh random hold uid (16 hex characters)."""
    return secrets.token_hex(8)


class HoldStore:
    """Interval holds on resources, with owner checks, a per-owner cap, commits and booked markers.

    One clock decides everything (acquire, extend, expiry, pruning, commit budgets, ``get``): Redis's
    own, read with TIME inside each script, so processes whose clocks disagree still agree on every
    hold; a hold whose expiry has passed is absent even before Redis evicts its keys. The timestamps of
    returned holds and conflicts are Redis's too: compare them with ``HoldConflict.now_ms`` or with
    Redis's time, not with this process's clock. ``clock`` (seconds, like time.time) is for tests only:
    when given, its ``now`` is sent to the scripts in place of TIME, so a test controls time.
    Use ``async with HoldStore(...)`` or call ``aclose()`` when the policy comes from a PolicyStore.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "calproxy",
        clock: Callable[[], float] | None = None,
        max_per_owner: int = 3,
        policy: PolicyStore | TtlPolicy | None = None,
    ) -> None:
        keys.check_prefix(prefix)
        if not isinstance(max_per_owner, int) or max_per_owner < 1:
            raise InvalidHold(f"max_per_owner must be >= 1, got {max_per_owner!r}")
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._max_per_owner = max_per_owner
        self._scripts = Scripts.register(redis)
        # EVALSHA_RO until the server refuses the command (Redis < 7, fakeredis): then plain EVALSHA.
        self._read_only_scripts = True
        self._fixed_policy = policy if isinstance(policy, TtlPolicy) else None
        self._watcher = PolicyWatcher(policy) if isinstance(policy, PolicyStore) else None
        if policy is None:
            self._fixed_policy = DEFAULT_POLICY

    async def __aenter__(self) -> HoldStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the policy listener, if any; the Redis client stays open (the caller owns it)."""
        if self._watcher is not None:
            await self._watcher.aclose()

    async def policy(self) -> TtlPolicy:
        """The TTL policy in force (a local copy; no round trip after the first call)."""
        if self._watcher is not None:
            return await self._watcher.current()
        assert self._fixed_policy is not None
        return self._fixed_policy

    async def acquire(
        self,
        resource: str,
        start_ms: int,
        end_ms: int,
        owner: str,
        *,
        ttl_ms: int | None = None,
        uid: str | None = None,
    ) -> Hold:
        """Hold [start_ms, end_ms) for owner; re-acquiring the same interval refreshes it and keeps its uid.

        ``uid`` lets the caller choose the new hold's uid (e.g. when the uid doubles as the owner token).
        Raises HoldConflict (with the blocker's expiry, never its owner) on overlap with another owner's
        live hold or with any booked marker.
        """
        logic.check_resource(resource)
        logic.check_interval(resource, start_ms, end_ms)
        logic.check_owner(resource, owner)
        uid = new_uid() if uid is None else uid
        logic.check_uid(resource, uid)
        ttl = await self._ttl(resource, ttl_ms)
        args = [uid, owner, start_ms, end_ms, ttl, self._max_per_owner]
        ctx = CallContext(resource, uid, start_ms=start_ms, end_ms=end_ms)
        return (await self._run("acquire_hold", ctx, args))[0]

    async def extend(self, resource: str, uid: str, owner: str, *, ttl_ms: int | None = None) -> Hold:
        """Set a held hold's expiry to now + ttl; HoldCommitting while it is being committed."""
        self._check_ref(resource, uid, owner)
        ttl = await self._ttl(resource, ttl_ms)
        return (await self._run("extend_hold", CallContext(resource, uid), [uid, owner, ttl]))[0]

    async def release(self, resource: str, uid: str, owner: str) -> None:
        """Delete a held or committing hold of owner."""
        self._check_ref(resource, uid, owner)
        await self._run("release_hold", CallContext(resource, uid), [uid, owner])

    async def begin_commit(self, resource: str, uid: str, owner: str, *, budget_ms: int) -> CommitTicket:
        """Move the hold to committing until now + budget_ms (not clamped) and issue a new fence."""
        self._check_ref(resource, uid, owner)
        logic.check_positive(resource, "budget_ms", budget_ms)
        ctx = CallContext(resource, uid)
        hold = (await self._run("begin_commit", ctx, [uid, owner, budget_ms]))[0]
        return CommitTicket(hold=hold, fence=hold.fence)

    async def finish_commit(
        self, resource: str, uid: str, owner: str, fence: int, *, booked_ttl_ms: int
    ) -> None:
        """Replace the committing hold by a booked marker (same uid) living booked_ttl_ms; idempotent."""
        self._check_ref(resource, uid, owner)
        logic.check_positive(resource, "booked_ttl_ms", booked_ttl_ms)
        ctx = CallContext(resource, uid, fence=fence)
        await self._run("finish_commit", ctx, [uid, owner, fence, booked_ttl_ms])

    async def abort_commit(
        self, resource: str, uid: str, owner: str, fence: int, *, ttl_ms: int | None = None
    ) -> Hold:
        """Move the committing hold back to held, expiring now + ttl."""
        self._check_ref(resource, uid, owner)
        ttl = await self._ttl(resource, ttl_ms)
        ctx = CallContext(resource, uid, fence=fence)
        return (await self._run("abort_commit", ctx, [uid, owner, fence, ttl]))[0]

    async def mark_booked(
        self, resource: str, start_ms: int, end_ms: int, *, ttl_ms: int, uid: str | None = None
    ) -> Hold:
        """Place a booked marker that blocks every owner (e.g. a booking made outside a hold)."""
        logic.check_resource(resource)
        logic.check_interval(resource, start_ms, end_ms)
        logic.check_positive(resource, "ttl_ms", ttl_ms)
        uid = new_uid() if uid is None else uid
        logic.check_uid(resource, uid)
        ctx = CallContext(resource, uid, start_ms=start_ms, end_ms=end_ms)
        return (await self._run("mark_booked", ctx, [uid, start_ms, end_ms, ttl_ms]))[0]

    async def live(self, resource: str, window_start_ms: int, window_end_ms: int) -> list[Hold]:
        """Live holds and booked markers overlapping the window, sorted by start.

        The result carries owners so the caller can keep a caller's own holds visible; never show
        another caller's owner token to anyone.
        """
        logic.check_resource(resource)
        logic.check_interval(resource, window_start_ms, window_end_ms)
        state = await self._read_live(resource, window_start_ms, window_end_ms)
        return sorted(state.holds, key=lambda h: (h.start_ms, h.end_ms, h.uid))

    async def state(self, resource: str) -> ResourceState:
        """Every live hold and marker of the resource with the version of its last change (what a live view
        starts from; read-only, one round trip)."""
        logic.check_resource(resource)
        return await self._read_live(resource, *_ALL_TIME)

    async def _read_live(self, resource: str, lo: int, hi: int) -> ResourceState:
        script: AsyncScript = self._scripts.live_holds
        keys_ = self._keys(resource)
        args = [self._now(), lo, hi]
        with redis_errors("live_holds", resource=resource):
            if self._read_only_scripts:
                try:
                    return decode_live(await self._evalsha_ro(script, keys_, args), resource)
                except ResponseError as exc:
                    if "unknown command" not in str(exc).lower():
                        raise
                    self._read_only_scripts = False
            return decode_live(await script(keys=keys_, args=args), resource)

    async def _evalsha_ro(self, script: AsyncScript, keys_: list[str], args: list[Any]) -> Any:
        """EVALSHA_RO (a read that may run on a replica); loads the script once when Redis lacks it."""
        try:
            return await self._redis.evalsha_ro(script.sha, len(keys_), *keys_, *args)
        except NoScriptError:
            await self._redis.script_load(script.script)
            return await self._redis.evalsha_ro(script.sha, len(keys_), *keys_, *args)

    async def get(self, resource: str, uid: str) -> Hold | None:
        """The live hold or booked marker with this uid, or None (live by the scripts' clock; no write)."""
        logic.check_resource(resource)
        logic.check_uid(resource, uid)
        ctx = CallContext(resource, uid)
        holds = await self._run("get_hold", ctx, [uid])
        return holds[0] if holds else None

    async def force_release(self, resource: str, uid: str) -> bool:
        """Operator action: remove a hold or booked marker regardless of owner; True if one was live."""
        logic.check_resource(resource)
        logic.check_uid(resource, uid)
        ctx = CallContext(resource, uid)
        reply = await self._call("force_release", ctx, [uid])
        decode_reply(reply, ctx)
        return bool(int(reply[1]))

    async def resources(self) -> AsyncIterator[str]:
        """Operator listing of resources that have holds or markers in Redis (SCAN; never in the hot path)."""
        seen: set[str] = set()
        with redis_errors("resources"):
            async for key in self._redis.scan_iter(match=keys.holds_key_pattern(self._prefix), count=500):
                text = key.decode("utf-8") if isinstance(key, bytes) else str(key)
                resource = keys.resource_from_holds_key(self._prefix, text)
                if resource is not None and resource not in seen:
                    seen.add(resource)
                    yield resource

    @property
    def max_per_owner(self) -> int:
        """The per-owner cap that acquire enforces."""
        return self._max_per_owner

    async def ttl_ms(self, resource: str, requested_ms: int | None = None) -> int:
        """The hold TTL acquire would use on this resource (the policy's default, override and bounds)."""
        logic.check_resource(resource)
        return await self._ttl(resource, requested_ms)

    def register_composed(self, source: str) -> AsyncScript:
        """Register a script built on ``holds.scripts.library_source`` (no I/O until its first call)."""
        return self._redis.register_script(source)

    async def call_composed(
        self, script: AsyncScript, resource: str, extra_keys: Sequence[str], args: Sequence[Any], *, op: str
    ) -> Any:
        """Run a composed script on one resource: its five hold keys, then ``extra_keys`` (which must share
        the resource's hash tag on Redis Cluster); the clock, then ``args``. Redis errors are wrapped as for
        every hold operation; the reply is the script's own (decode hold replies with ``decode_reply``).
        """
        logic.check_resource(resource)
        with redis_errors(op, resource=resource):
            return await script(keys=[*self._keys(resource), *extra_keys], args=[self._now(), *args])

    def _now(self) -> int | str:
        """ARGV[1] of every script: '' makes it read Redis's TIME; a test clock's now_ms replaces TIME."""
        return "" if self._clock is None else logic.now_ms(self._clock)

    def _keys(self, resource: str) -> list[str]:
        return keys.resource_keys(self._prefix, resource).as_list()

    def _check_ref(self, resource: str, uid: str, owner: str) -> None:
        logic.check_resource(resource)
        logic.check_uid(resource, uid)
        logic.check_owner(resource, owner)

    async def _ttl(self, resource: str, requested_ms: int | None) -> int:
        if requested_ms is not None:
            logic.check_positive(resource, "ttl_ms", requested_ms)
        return (await self.policy()).ttl_for(resource, requested_ms)

    async def _run(self, op: str, ctx: CallContext, args: Sequence[Any]) -> list[Hold]:
        return decode_reply(await self._call(op, ctx, args), ctx)

    async def _call(self, op: str, ctx: CallContext, args: Sequence[Any]) -> Any:
        """The one place scripts are called: one EVALSHA with the clock prepended, redis errors wrapped."""
        script: AsyncScript = getattr(self._scripts, op)
        with redis_errors(op, resource=ctx.resource):
            return await script(keys=self._keys(ctx.resource), args=[self._now(), *args])
