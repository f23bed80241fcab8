"""The holds error tree; every error carries the resource and uid it is about.

```
HoldError                      root: catch this to catch everything raised by holds
├── HoldConflict               another owner's live hold, or a booked marker, overlaps the interval
├── HoldNotFound               no live hold with that uid (never existed, expired, released or booked)
├── HoldNotOwned               the hold exists but belongs to another owner
├── HoldCommitting             the hold is being committed; extend is refused until finish/abort
├── StaleFence                 the fencing token is not the hold's current commit fence
├── InvalidHold                arguments rejected before reaching Redis
│   └── InvalidPolicy          a TTL policy that cannot be applied (e.g. min > max)
└── HoldStoreUnavailable       Redis failed; wraps redis.RedisError (see ``__cause__``)
```
Errors never carry the owner token of someone else's hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisClusterException, RedisError

# What a Redis client raises when Redis cannot serve: RedisCluster's own failures (no node reachable, a
# slot not covered during a failover) derive from RedisClusterException, not RedisError.
STORE_ERRORS = (RedisError, RedisClusterException)


class HoldError(Exception):
    """Root of every error raised by the holds package."""

    def __init__(self, message: str, *, resource: str | None = None, uid: str | None = None) -> None:
        super().__init__(message)
        self.resource = resource
        self.uid = uid


class HoldConflict(HoldError):
    """The interval overlaps another owner's live hold or a booked marker."""

    def __init__(
        self,
        *,
        resource: str,
        start_ms: int,
        end_ms: int,
        expires_at_ms: int,
        booked: bool,
        now_ms: int | None = None,
    ) -> None:
        what = "booked" if booked else "held by another caller"
        super().__init__(
            f"{resource} [{start_ms}, {end_ms}) is {what} until {expires_at_ms}", resource=resource, uid=None
        )
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.expires_at_ms = expires_at_ms
        self.booked = booked
        # The clock the conflict was decided by (Redis's, or a test's): expires_at_ms - now_ms is how long
        # the slot stays blocked, whatever this process's own clock says. None when not known.
        self.now_ms = now_ms


class HoldNotFound(HoldError):
    """No live hold with this uid on this resource."""


class HoldNotOwned(HoldError):
    """The hold exists but the caller is not its owner."""


class HoldCommitting(HoldError):
    """The hold is in the committing state, which only finish_commit, abort_commit or release may leave."""


class StaleFence(HoldError):
    """The fencing token does not match the hold's current commit."""

    def __init__(self, message: str, *, resource: str, uid: str, fence: int) -> None:
        super().__init__(message, resource=resource, uid=uid)
        self.fence = fence


class InvalidHold(HoldError):
    """Arguments rejected before any Redis call."""


class InvalidPolicy(InvalidHold):
    """A TTL policy value that cannot be applied."""


class HoldStoreUnavailable(HoldError):
    """Redis could not serve the request; the original redis error is the ``__cause__``."""


@contextmanager
def redis_errors(operation: str, *, resource: str | None = None) -> Iterator[None]:
    """Translate any redis error raised inside the block into HoldStoreUnavailable (the one choke point)."""
    try:
        yield
    except STORE_ERRORS as exc:
        raise HoldStoreUnavailable(f"{operation} failed: {exc}", resource=resource) from exc
