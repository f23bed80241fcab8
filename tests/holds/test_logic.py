"""Pure logic: overlap, TTL policy, record codec, argument checks; no Redis."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from holds import Hold, HoldState, InvalidHold, InvalidPolicy, TtlPolicy
from holds.logic import (
    check_interval,
    check_owner,
    check_positive,
    check_resource,
    check_uid,
    clamp_ttl,
    now_ms,
    overlaps,
)
from holds.records import decode_record, encode_record, record_seq


def test_overlap_matches_set_intersection_on_every_small_interval_pair():
    points = range(6)
    intervals = [(a, b) for a, b in itertools.product(points, points) if a < b]
    for (a0, a1), (b0, b1) in itertools.product(intervals, intervals):
        expected = bool(set(range(a0, a1)) & set(range(b0, b1)))
        assert overlaps(a0, a1, b0, b1) is expected, ((a0, a1), (b0, b1))


def test_hour_hold_blocks_every_quarter_slot_inside_it_and_not_the_next_hour():
    hour = 60 * 60_000
    start = 13 * hour
    for minute in (0, 15, 30, 45):
        slot = start + minute * 60_000
        assert overlaps(start, start + hour, slot, slot + hour)
    assert not overlaps(start, start + hour, start + hour, start + 2 * hour)
    assert not overlaps(start, start + hour, start - hour, start)


@pytest.mark.parametrize(
    ("ttl", "lo", "hi", "expected"),
    [(5, 1, 10, 5), (0, 1, 10, 1), (11, 1, 10, 10), (1, 1, 10, 1), (10, 1, 10, 10), (7, 7, 7, 7)],
)
def test_clamp_ttl(ttl, lo, hi, expected):
    assert clamp_ttl(ttl, lo, hi) == expected


POLICY = TtlPolicy(
    default_ms=60_000, min_ms=10_000, max_ms=300_000, overrides={"vip": 200_000, "tiny": 1_000}
)


@pytest.mark.parametrize(
    ("resource", "requested", "expected"),
    [
        ("plain", None, 60_000),  # default
        ("vip", None, 200_000),  # override
        ("tiny", None, 10_000),  # override clamped up to min
        ("plain", 120_000, 120_000),  # requested wins over default
        ("vip", 30_000, 30_000),  # requested wins over override
        ("plain", 5, 10_000),  # requested clamped to min
        ("plain", 10**9, 300_000),  # requested clamped to max
    ],
)
def test_ttl_for(resource, requested, expected):
    assert POLICY.ttl_for(resource, requested) == expected


def test_ttl_policy_rejects_bad_bounds_and_is_immune_to_later_dict_mutation():
    with pytest.raises(InvalidPolicy):
        TtlPolicy(default_ms=1, min_ms=10, max_ms=5)
    with pytest.raises(InvalidPolicy):
        TtlPolicy(default_ms=1, min_ms=0, max_ms=5)
    with pytest.raises(InvalidPolicy):
        TtlPolicy(default_ms=0, min_ms=1, max_ms=5)
    overrides = {"a": 3}
    policy = TtlPolicy(default_ms=2, min_ms=1, max_ms=5, overrides=overrides)
    overrides["a"] = 4
    assert policy.ttl_for("a", None) == 3


holds_strategy = st.builds(
    Hold,
    uid=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    resource=st.text(min_size=1),
    owner=st.text(),
    start_ms=st.integers(0, 10**14),
    end_ms=st.integers(0, 10**14),
    expires_at_ms=st.integers(0, 10**14),
    state=st.sampled_from(HoldState),
    created_ms=st.integers(0, 10**14),
    fence=st.integers(0, 10**14),
)


@given(holds_strategy, st.integers(0, 10**12))
def test_record_round_trip(hold, seq):
    record = encode_record(hold, seq)
    assert decode_record(hold.resource, hold.uid, record) == hold
    assert record_seq(record) == seq


def test_record_is_compact():
    hold = Hold("0123456789abcdef", "r", "call-123", 1, 2, 3, HoldState.HELD, 4, 0)
    assert encode_record(hold, 7) == "h|1|2|3|4|0|7|call-123"


def test_now_ms_rounds_seconds_to_whole_milliseconds():
    assert now_ms(lambda: 1.2346) == 1235
    assert all(now_ms(lambda t=t: t / 1000) == t for t in range(1_000_000, 1_002_000))


@pytest.mark.parametrize(
    "call",
    [
        lambda: check_resource(""),
        lambda: check_owner("r", ""),
        lambda: check_owner("r", "a\0b"),
        lambda: check_uid("r", ""),
        lambda: check_uid("r", "has space"),
        lambda: check_uid("r", "x" * 65),
        lambda: check_interval("r", 5, 5),
        lambda: check_interval("r", 6, 5),
        lambda: check_interval("r", -1, 5),
        lambda: check_positive("r", "ttl_ms", 0),
        lambda: check_positive("r", "ttl_ms", True),
    ],
)
def test_checks_reject(call):
    with pytest.raises(InvalidHold):
        call()


def test_checks_accept_valid_values():
    check_resource("event-type:42")
    check_owner("r", "tenant|call:1")
    check_uid("r", "A-z_0")
    check_interval("r", 0, 1)
    check_positive("r", "ttl_ms", 1)
