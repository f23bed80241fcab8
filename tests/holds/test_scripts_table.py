"""Table tests of every script (through HoldStore), each row on fakeredis and on a real redis-server.

A row is a list of steps run in order on a fresh store whose clock starts at T0; every step but
the last must succeed, and the last one's result (or exception) is compared with ``expect``.
Fences are seeded from the clock, so the first fence on a fresh resource begun at T0 is T0 * 1000 + 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from holds import (
    CommitTicket,
    Hold,
    HoldCommitting,
    HoldConflict,
    HoldNotFound,
    HoldNotOwned,
    HoldState,
    InvalidHold,
    StaleFence,
)
from tests.holds.support import T0_MS, Clock, make_store

R = "event-type:42"
F1 = T0_MS * 1000 + 1  # first fence of a fresh resource begun at T0
HOUR = 3_600_000
HELD, COMMITTING, BOOKED = HoldState.HELD, HoldState.COMMITTING, HoldState.BOOKED

Step = tuple[str, dict[str, Any]]


def acq(uid: str, start: int, end: int, owner: str = "A", **kw: Any) -> Step:
    return ("acquire", {"uid": uid, "start_ms": start, "end_ms": end, "owner": owner, **kw})


def ext(uid: str, owner: str = "A", **kw: Any) -> Step:
    return ("extend", {"uid": uid, "owner": owner, **kw})


def rel(uid: str, owner: str = "A") -> Step:
    return ("release", {"uid": uid, "owner": owner})


def begin(uid: str, owner: str = "A", budget_ms: int = 20_000) -> Step:
    return ("begin_commit", {"uid": uid, "owner": owner, "budget_ms": budget_ms})


def finish(uid: str, owner: str = "A", fence: int = F1, booked_ttl_ms: int = 30_000) -> Step:
    return ("finish_commit", {"uid": uid, "owner": owner, "fence": fence, "booked_ttl_ms": booked_ttl_ms})


def abort(uid: str, owner: str = "A", fence: int = F1, **kw: Any) -> Step:
    return ("abort_commit", {"uid": uid, "owner": owner, "fence": fence, **kw})


def booked(uid: str, start: int, end: int, ttl_ms: int = 30_000) -> Step:
    return ("mark_booked", {"uid": uid, "start_ms": start, "end_ms": end, "ttl_ms": ttl_ms})


def live(lo: int, hi: int) -> Step:
    return ("live", {"window_start_ms": lo, "window_end_ms": hi})


def get(uid: str) -> Step:
    return ("get", {"uid": uid})


def force(uid: str) -> Step:
    return ("force_release", {"uid": uid})


def wait(ms: int) -> Step:
    return ("advance", {"ms": ms})


@dataclass(frozen=True)
class Row:
    """One table row: steps, then the expected outcome of the last step."""

    id: str
    steps: list[Step]
    # An exception class, a dict of expected attributes (of the Hold or CommitTicket.hold), a list of
    # uids (live), or a plain value (None/True/False).
    expect: Any


def h(**attrs: Any) -> dict[str, Any]:
    return attrs


ROWS = [
    # acquire_hold
    Row(
        "acquire/new",
        [acq("a1", 0, HOUR)],
        h(
            uid="a1",
            owner="A",
            state=HELD,
            expires_at_ms=T0_MS + 60_000,
            created_ms=T0_MS,
            fence=0,
            start_ms=0,
            end_ms=HOUR,
        ),
    ),
    Row("acquire/requested-ttl", [acq("a1", 0, HOUR, ttl_ms=5_000)], h(expires_at_ms=T0_MS + 5_000)),
    Row("acquire/ttl-clamped-to-max", [acq("a1", 0, HOUR, ttl_ms=10**9)], h(expires_at_ms=T0_MS + 600_000)),
    Row("acquire/ttl-clamped-to-min", [acq("a1", 0, HOUR, ttl_ms=1)], h(expires_at_ms=T0_MS + 1_000)),
    Row(
        "acquire/refresh-keeps-uid",
        [acq("a1", 0, HOUR), wait(10_000), acq("a2", 0, HOUR)],
        h(uid="a1", created_ms=T0_MS, expires_at_ms=T0_MS + 70_000),
    ),
    Row(
        "acquire/same-owner-overlap-is-new",
        [acq("a1", 0, HOUR), acq("a2", HOUR // 4, HOUR + HOUR // 4)],
        h(uid="a2", state=HELD),
    ),
    Row(
        "acquire/other-owner-overlap-conflicts",
        [acq("a1", 0, HOUR), acq("b1", HOUR - 1, 2 * HOUR, "B")],
        HoldConflict,
    ),
    Row(
        "acquire/quarter-slot-inside-hour-conflicts",
        [acq("a1", 13 * HOUR, 14 * HOUR), acq("b1", 13 * HOUR + 45 * 60_000, 14 * HOUR + 45 * 60_000, "B")],
        HoldConflict,
    ),
    Row("acquire/adjacent-is-free", [acq("a1", 0, HOUR), acq("b1", HOUR, 2 * HOUR, "B")], h(uid="b1")),
    Row(
        "acquire/other-resource-is-free",
        [
            acq("a1", 0, HOUR),
            ("acquire", {"resource": "other", "uid": "b1", "start_ms": 0, "end_ms": HOUR, "owner": "B"}),
        ],
        h(uid="b1", resource="other"),
    ),
    Row(
        "acquire/expired-blocker-is-absent",
        [acq("a1", 0, HOUR), wait(60_000), acq("b1", 0, HOUR, "B")],
        h(uid="b1"),
    ),
    Row(
        "acquire/long-hold-blocks-far-inside",
        [acq("a1", 0, 10 * HOUR), acq("a2", 20 * HOUR, 21 * HOUR), acq("b1", 9 * HOUR, 9 * HOUR + 1, "B")],
        HoldConflict,
    ),
    Row(
        "acquire/committing-own-is-returned-unchanged",
        [acq("a1", 0, HOUR), begin("a1"), wait(1_000), acq("a2", 0, HOUR)],
        h(uid="a1", state=COMMITTING, expires_at_ms=T0_MS + 20_000, fence=F1),
    ),
    Row(
        "acquire/committing-blocks-others",
        [acq("a1", 0, HOUR), begin("a1"), acq("b1", 0, HOUR, "B")],
        HoldConflict,
    ),
    Row(
        "acquire/booked-blocks-its-committer",
        [acq("a1", 0, HOUR), begin("a1"), finish("a1"), acq("a2", 0, HOUR)],
        HoldConflict,
    ),
    Row("acquire/marker-blocks-everyone", [booked("m1", 0, HOUR), acq("a1", 30, 40)], HoldConflict),
    Row("acquire/uid-taken", [acq("a1", 0, HOUR), acq("a1", 2 * HOUR, 3 * HOUR, "B")], InvalidHold),
    Row(
        "acquire/cap-evicts-oldest",
        [acq("a1", 0, 1), acq("a2", 1, 2), acq("a3", 2, 3), acq("a4", 3, 4), get("a1")],
        None,
    ),
    Row(
        "acquire/cap-keeps-second-oldest",
        [acq("a1", 0, 1), acq("a2", 1, 2), acq("a3", 2, 3), acq("a4", 3, 4), get("a2")],
        h(uid="a2"),
    ),
    Row(
        "acquire/cap-is-per-owner",
        [acq("a1", 0, 1), acq("a2", 1, 2), acq("a3", 2, 3), acq("b1", 3, 4, "B"), get("a1")],
        h(uid="a1"),
    ),
    Row(
        "acquire/cap-skips-committing",
        [acq("a1", 0, 1), begin("a1"), acq("a2", 1, 2), acq("a3", 2, 3), acq("a4", 3, 4), get("a1")],
        h(uid="a1", state=COMMITTING),
    ),
    Row(
        "acquire/cap-evicted-the-next-oldest",
        [acq("a1", 0, 1), begin("a1"), acq("a2", 1, 2), acq("a3", 2, 3), acq("a4", 3, 4), get("a2")],
        None,
    ),
    Row(
        "acquire/refresh-does-not-trip-cap",
        [acq("a1", 0, 1), acq("a2", 1, 2), acq("a3", 2, 3), acq("x", 0, 1), get("a1")],
        h(uid="a1"),
    ),
    Row("acquire/empty-interval", [acq("a1", 5, 5)], InvalidHold),
    # extend_hold
    Row("extend/owner", [acq("a1", 0, HOUR), wait(30_000), ext("a1")], h(expires_at_ms=T0_MS + 90_000)),
    Row(
        "extend/requested-clamped",
        [acq("a1", 0, HOUR), ext("a1", ttl_ms=10**9)],
        h(expires_at_ms=T0_MS + 600_000),
    ),
    Row("extend/not-owner", [acq("a1", 0, HOUR), ext("a1", "B")], HoldNotOwned),
    Row("extend/unknown", [ext("zz")], HoldNotFound),
    Row("extend/expired", [acq("a1", 0, HOUR), wait(60_000), ext("a1")], HoldNotFound),
    Row("extend/committing", [acq("a1", 0, HOUR), begin("a1"), ext("a1")], HoldCommitting),
    Row("extend/booked", [acq("a1", 0, HOUR), begin("a1"), finish("a1"), ext("a1")], HoldNotFound),
    # release_hold
    Row("release/owner", [acq("a1", 0, HOUR), rel("a1"), get("a1")], None),
    Row("release/frees-slot", [acq("a1", 0, HOUR), rel("a1"), acq("b1", 0, HOUR, "B")], h(uid="b1")),
    Row("release/not-owner", [acq("a1", 0, HOUR), rel("a1", "B")], HoldNotOwned),
    Row(
        "release/not-owner-keeps-hold",
        [acq("a1", 0, HOUR), ("expect_error", {"step": rel("a1", "B")}), get("a1")],
        h(uid="a1"),
    ),
    Row("release/unknown", [rel("zz")], HoldNotFound),
    Row("release/expired", [acq("a1", 0, HOUR), wait(60_001), rel("a1")], HoldNotFound),
    Row("release/committing-allowed", [acq("a1", 0, HOUR), begin("a1"), rel("a1"), get("a1")], None),
    Row("release/booked", [acq("a1", 0, HOUR), begin("a1"), finish("a1"), rel("a1")], HoldNotFound),
    # begin_commit
    Row(
        "begin/held",
        [acq("a1", 0, HOUR), wait(5_000), begin("a1", budget_ms=700_000)],
        h(state=COMMITTING, fence=(T0_MS + 5_000) * 1000 + 1, expires_at_ms=T0_MS + 5_000 + 700_000),
    ),
    Row(
        "begin/again-while-committing-refused", [acq("a1", 0, HOUR), begin("a1"), begin("a1")], HoldCommitting
    ),
    Row(
        "begin/after-abort-issues-higher-fence",
        [acq("a1", 0, HOUR), begin("a1"), abort("a1"), begin("a1")],
        h(fence=F1 + 1),
    ),
    Row(
        "begin/fence-per-resource",
        [acq("a1", 0, HOUR), begin("a1"), acq("b1", 2 * HOUR, 3 * HOUR, "B"), begin("b1", "B")],
        h(fence=F1 + 1),
    ),
    Row("begin/not-owner", [acq("a1", 0, HOUR), begin("a1", "B")], HoldNotOwned),
    Row("begin/unknown", [begin("zz")], HoldNotFound),
    Row("begin/expired", [acq("a1", 0, HOUR), wait(60_000), begin("a1")], HoldNotFound),
    Row("begin/booked", [acq("a1", 0, HOUR), begin("a1"), finish("a1"), begin("a1")], HoldNotFound),
    # finish_commit
    Row(
        "finish/leaves-marker",
        [acq("a1", 0, HOUR), begin("a1"), wait(1_000), finish("a1"), get("a1")],
        h(state=BOOKED, expires_at_ms=T0_MS + 31_000),
    ),
    Row("finish/is-idempotent", [acq("a1", 0, HOUR), begin("a1"), finish("a1"), finish("a1")], None),
    Row(
        "finish/stale-fence",
        [acq("a1", 0, HOUR), begin("a1"), abort("a1"), begin("a1"), finish("a1", fence=F1)],
        StaleFence,
    ),
    Row("finish/not-begun", [acq("a1", 0, HOUR), finish("a1", fence=0)], StaleFence),
    Row("finish/not-owner", [acq("a1", 0, HOUR), begin("a1"), finish("a1", "B")], HoldNotOwned),
    Row("finish/unknown", [finish("zz")], HoldNotFound),
    Row("finish/budget-expired", [acq("a1", 0, HOUR), begin("a1"), wait(20_000), finish("a1")], HoldNotFound),
    Row(
        "finish/frees-owner-cap",
        [
            acq("a1", 0, 1),
            acq("a2", 1, 2),
            acq("a3", 2, 3),
            begin("a1"),
            finish("a1"),
            acq("a4", 3, 4),
            get("a2"),
        ],
        h(uid="a2"),
    ),
    # abort_commit
    Row(
        "abort/back-to-held",
        [acq("a1", 0, HOUR), begin("a1"), abort("a1", ttl_ms=9_000)],
        h(state=HELD, fence=F1, expires_at_ms=T0_MS + 9_000),
    ),
    Row(
        "abort/then-finish-is-stale", [acq("a1", 0, HOUR), begin("a1"), abort("a1"), finish("a1")], StaleFence
    ),
    Row("abort/stale-fence", [acq("a1", 0, HOUR), begin("a1"), abort("a1", fence=F1 + 5)], StaleFence),
    Row("abort/after-finish", [acq("a1", 0, HOUR), begin("a1"), finish("a1"), abort("a1")], StaleFence),
    Row("abort/not-owner", [acq("a1", 0, HOUR), begin("a1"), abort("a1", "B")], HoldNotOwned),
    Row("abort/unknown", [abort("zz")], HoldNotFound),
    # mark_booked
    Row(
        "mark/new",
        [booked("m1", 0, HOUR, ttl_ms=5)],
        h(uid="m1", owner="", state=BOOKED, expires_at_ms=T0_MS + 5),
    ),
    Row("mark/conflict-says-booked", [booked("m1", 0, HOUR), acq("a1", 0, HOUR)], HoldConflict),
    Row("mark/expires", [booked("m1", 0, HOUR, ttl_ms=5), wait(5), acq("a1", 0, HOUR)], h(uid="a1")),
    Row("mark/over-existing-hold", [acq("a1", 0, HOUR), booked("m1", 0, HOUR), get("m1")], h(state=BOOKED)),
    Row("mark/uid-taken", [acq("a1", 0, HOUR), booked("a1", 0, HOUR)], InvalidHold),
    # live_holds
    Row(
        "live/sorted-by-start",
        [
            acq("a2", 2 * HOUR, 3 * HOUR),
            acq("b1", 0, HOUR, "B"),
            booked("m1", HOUR, 2 * HOUR),
            live(0, 3 * HOUR),
        ],
        ["b1", "m1", "a2"],
    ),
    Row(
        "live/window-is-half-open",
        [acq("a1", 0, HOUR), acq("a2", 2 * HOUR, 3 * HOUR), live(HOUR, 2 * HOUR)],
        [],
    ),
    Row("live/long-hold-seen-from-inside", [acq("a1", 0, 10 * HOUR), live(9 * HOUR, 9 * HOUR + 1)], ["a1"]),
    Row(
        "live/expired-left-out",
        [acq("a1", 0, HOUR, ttl_ms=1_000), acq("a2", HOUR, 2 * HOUR), wait(1_000), live(0, 2 * HOUR)],
        ["a2"],
    ),
    Row("live/empty-resource", [live(0, HOUR)], []),
    # force_release
    Row("force/live", [acq("a1", 0, HOUR), force("a1")], True),
    Row("force/frees-slot", [acq("a1", 0, HOUR), force("a1"), acq("b1", 0, HOUR, "B")], h(uid="b1")),
    Row("force/unknown", [force("zz")], False),
    Row("force/expired", [acq("a1", 0, HOUR), wait(60_000), force("a1")], False),
    Row("force/marker", [booked("m1", 0, HOUR), force("m1")], True),
    # get (plain HGET)
    Row("get/live", [acq("a1", 0, HOUR), get("a1")], h(uid="a1", resource=R, owner="A")),
    Row("get/expired", [acq("a1", 0, HOUR), wait(60_000), get("a1")], None),
    Row("get/unknown", [get("zz")], None),
]


async def run_step(store: Any, clock: Clock, step: Step) -> Any:
    name, kwargs = step
    if name == "advance":
        clock.advance(kwargs["ms"])
        return None
    if name == "expect_error":
        with pytest.raises(Exception):  # noqa: B017 - the row only needs the step to be refused
            await run_step(store, clock, kwargs["step"])
        return None
    return await getattr(store, name)(**{"resource": R, **kwargs})


def check(result: Any, expect: Any) -> None:
    if isinstance(result, CommitTicket):
        assert result.fence == result.hold.fence
        result = result.hold
    if isinstance(expect, dict):
        assert isinstance(result, Hold), result
        assert {k: getattr(result, k) for k in expect} == expect
    elif isinstance(expect, list):
        assert [hold.uid for hold in result] == expect
    else:
        assert result == expect


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_script_table(redis, row):
    clock = Clock()
    store = make_store(redis, clock)
    for step in row.steps[:-1]:
        await run_step(store, clock, step)
    if isinstance(row.expect, type) and issubclass(row.expect, Exception):
        with pytest.raises(row.expect) as info:
            await run_step(store, clock, row.steps[-1])
        assert info.value.resource == R
    else:
        check(await run_step(store, clock, row.steps[-1]), row.expect)
