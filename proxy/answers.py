"""Rendered slot answers, reused while nothing they were computed from can have changed.

A cached slot answer is the snapshot's days minus other owners' holds, formatted. Recomputing it was most
of a request's own cost, although it changes only when one of its inputs does:
- the days: reused no longer than this process reuses the days themselves (`Snapshot.fresh_until`), and
  dropped when this process takes in, drops or forgets a day of the event type (`generation`);
- the holds: only while the live view is current and at the version the answer was built on (any hold
  change of the resource, by any process, bumps it), and until the first hold that hid a slot expires;
- the clock: until the first offered start passes (it would leave the answer).
So a reused answer is exactly what recomputing would give, never staler than the view and memo it rests on;
without a live view nothing is reused.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from holds.live_view import LiveHolds
from proxy.calcom.slots import AvailableQuery, SlotsQuery


@dataclass(frozen=True, eq=False)
class Resolved:
    """What a slots request's query and headers come to: the validated query and the caller's hold owner,
    or None for a request Cal.com answers itself (another version, a slug, a reschedule, a host subset).

    Compared by identity: a remembered resolution is the key of its answers, and hashing the query's
    fields on every request cost more than the rest of the lookup.
    """

    query: SlotsQuery | AvailableQuery | None
    owner: str = ""


class Resolutions:
    """Resolutions by (route, raw query, the headers they depend on): a pure function of those and the
    settings, so remembered (a refused request raises and is never stored). It was half of a cached
    answer's own cost: version check, parsing, the range rule, hashing the credential and call id.
    Bounded: emptied when full (distinct requests are few: event types x days x zones x callers)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._entries: dict[Hashable, Resolved] = {}

    def get(self, key: Hashable) -> Resolved | None:
        """The remembered resolution, or None."""
        return self._entries.get(key)

    def put(self, key: Hashable, resolved: Resolved) -> None:
        """Remember one resolution."""
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = resolved


@dataclass(frozen=True)
class Answer:
    """One rendered body and what it rests on."""

    body: bytes
    resource: str
    version: int  # the live view's version of the resource
    generation: int  # the snapshot cache's generation of the event type
    fresh_until: float  # monotonic: the days' local freshness
    until_ms: int  # this process's clock: the first offered start
    holds_until_ms: int  # Redis's clock (as the view estimates it): the first hiding hold's expiry


class AnswerCache:
    """Bounded map of answers; the oldest go first."""

    def __init__(
        self,
        live_view: LiveHolds,
        *,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._view = live_view
        self._max = max_entries
        self._clock = clock
        self._monotonic = monotonic
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, generation: Callable[[], int]) -> bytes | None:
        """The answer stored under key if it is still exactly what recomputing would give."""
        answer = self._entries.get(key)
        if answer is None or not self._valid(answer, generation()):
            self.misses += 1
            return None
        self.hits += 1
        return answer.body

    def put(self, key: Hashable, answer: Answer) -> None:
        """Store an answer computed from the view at `answer.version`."""
        if self._view.version(answer.resource) != answer.version:
            return  # the holds changed while it was computed: not provably current
        self._entries[key] = answer
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def _valid(self, answer: Answer, generation: int) -> bool:
        if answer.generation != generation or self._view.version(answer.resource) != answer.version:
            return False
        now_ms = int(self._clock() * 1000)
        return (
            self._monotonic() < answer.fresh_until
            and now_ms < answer.until_ms
            and self._view.redis_now_ms(now_ms) < answer.holds_until_ms
        )
