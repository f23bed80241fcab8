"""TtlMemo: entries live their TTL, a reader may ask for a younger one, the oldest go first past the bound."""

from __future__ import annotations

from proxy.localcache import TtlMemo


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_live_their_ttl_and_a_reader_may_ask_for_a_younger_one() -> None:
    clock = Clock()
    memo: TtlMemo[str, int] = TtlMemo(30.0, clock=clock)
    memo.put("day", 1)
    assert memo.stored_at("day") == 100.0
    clock.now = 100.9
    assert memo.get("day", max_age_s=1.0) == 1
    clock.now = 101.0
    assert memo.get("day", max_age_s=1.0) is None  # too old for this reader, still kept
    assert memo.get("day") == 1
    memo.put("day", 2)  # stored again: young again
    assert memo.get("day", max_age_s=1.0) == 2
    clock.now = 131.0
    assert memo.get("day") is None and memo.stored_at("day") is None


def test_the_oldest_go_first_and_a_zero_ttl_remembers_nothing() -> None:
    clock = Clock()
    memo: TtlMemo[int, int] = TtlMemo(30.0, max_entries=2, clock=clock)
    for key in (1, 2, 3):
        memo.put(key, key)
    assert [memo.get(k) for k in (1, 2, 3)] == [None, 2, 3]
    nothing: TtlMemo[int, int] = TtlMemo(0.0, clock=clock)
    nothing.put(1, 1)
    assert nothing.get(1) is None


def test_one_entry_may_live_its_own_ttl() -> None:
    clock = Clock()
    memo: TtlMemo[str, int] = TtlMemo(3600.0, clock=clock)
    memo.put("known", 1)
    memo.put("unknown", 2, ttl_s=60.0)
    memo.put("past", 3, ttl_s=-1.0)  # already over: remembered not at all
    assert (len(memo), memo.get("past")) == (2, None)
    clock.now += 61.0
    assert (memo.get("known"), memo.get("unknown")) == (1, None)
