"""A tiny in-process TTL map: a short local memo in front of Redis for data that may be a second stale."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlMemo(Generic[K, V]):
    """Entries live `ttl_s` seconds (monotonic clock), or as long as `put` says for one entry; the oldest go
    first beyond `max_entries`."""

    def __init__(
        self, ttl_s: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        # key -> (expiry, stored at, value), on this memo's clock
        self._entries: OrderedDict[K, tuple[float, float, V]] = OrderedDict()

    def get(self, key: K, max_age_s: float | None = None) -> V | None:
        """The live value, or None; with `max_age_s`, only one stored at most that long ago."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if entry[0] <= now:
            del self._entries[key]
            return None
        if max_age_s is not None and now - entry[1] >= max_age_s:
            return None
        return entry[2]

    def stored_at(self, key: K) -> float | None:
        """When the entry was stored (this memo's clock), or None when there is none."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key: K, value: V, ttl_s: float | None = None) -> None:
        """Remember a value, for `ttl_s` instead of the memo's TTL when given (a TTL of zero or less
        remembers nothing)."""
        ttl = self._ttl if ttl_s is None else ttl_s
        if ttl <= 0:
            return
        now = self._clock()
        self._entries[key] = (now + ttl, now, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        """Entries held, expired ones not yet let go included."""
        return len(self._entries)

    def drop(self, key: K) -> None:
        """Forget one key."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything (what it held may rest on Redis state that no longer exists)."""
        self._entries.clear()
