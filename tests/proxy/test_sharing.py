"""Calendar sharing learned from Cal.com (issue 11, item 2): with no resource configuration, the event types
of one owner share one hold resource, so one hour of one person is never promised to two callers.

Before: without `CALPROXY_RESOURCE_GROUPS`, event types 1001 and 1002 of one host were both quoted available
and both held at 11:00.
"""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest

from proxy.errors import UpstreamUnavailable
from proxy.identity import ResourceMap
from proxy.keys import ProxyKeys
from proxy.sharing import MAX_CHECKED, RETRY_S, Sharing, calendar_of
from proxy.upstream import CalcomClient
from tests.proxy.conftest import StackFactory
from tests.proxy.fleet import count_of, sim_stats
from tests.proxy.test_e2e_commit import BERLIN, berlin, booking, live

UNGROUPED: dict[str, Any] = {"resource_groups": {}}
EVENT_TYPE = "GET /v2/event-types/{id}"


def test_an_event_types_calendar_is_its_owners_and_a_team_event_type_stays_alone() -> None:
    assert calendar_of({"id": 1001, "ownerId": 1}) == "usr:1"
    assert calendar_of({"id": 7, "ownerId": None, "teamId": 3, "hosts": [{"userId": 1}]}) is None
    assert calendar_of({"id": 7, "ownerId": 1, "teamId": 3}) is None
    assert calendar_of({"id": 8}) is None
    assert calendar_of({"id": 8, "ownerId": True}) is None


async def test_two_event_types_of_one_host_never_both_hold_one_hour(make_stack: StackFactory) -> None:
    stack = await make_stack(settings=UNGROUPED)
    first = await stack.quote("A", eventTypeId=1001, start=berlin("11:00"), timeZone=BERLIN)
    assert first["available"] is True
    # 1002 is the same host's 60-minute event type: 11:00 overlaps A's hold, so B is not offered it.
    second = await stack.quote("B", eventTypeId=1002, start=berlin("11:00"), timeZone=BERLIN)
    assert second["available"] is False and second["reason"] == "held", second
    # Nor does B's plain slot list show it; A's still does.
    day = berlin("00:00")[:10]
    query = {"eventTypeId": "1002", "start": day, "end": day, "timeZone": BERLIN}
    headers = {"cal-api-version": "2024-09-04"}
    seen_by_b = await stack.proxy.get("/v2/slots", params=query, headers={**headers, "X-Call-Id": "B"})
    starts = [s["start"] for s in seen_by_b.json()["data"].get(day, [])]
    assert berlin("11:00") not in starts and starts, starts
    # And B cannot book it: refused before Cal.com is asked.
    refused = await stack.book("B", booking("11:00", name="Bea", event_type_id=1002))
    assert refused.status_code == 409, refused.text
    assert (await stack.book("A", booking("11:00"))).status_code == 201
    assert len(live(await stack.truth())) == 1


async def test_what_one_process_learned_the_others_read_from_redis(make_stack: StackFactory) -> None:
    stack = await make_stack(settings=UNGROUPED)
    await stack.quote("A", eventTypeId=1001, start=berlin("11:00"), timeZone=BERLIN)
    asked = count_of(await sim_stats(stack.direct), EVENT_TYPE)
    assert asked >= 1
    # A second process on the same Redis: it knows 1001's calendar without asking Cal.com.
    other = stack.services
    other.availability.resources.learned.clear()
    other.sharing._checked.clear()  # as if it had just started
    assert await other.sharing.learn(1001, {}) == "usr:1"
    assert count_of(await sim_stats(stack.direct), EVENT_TYPE) == asked


async def test_configured_groups_win_over_what_cal_com_says(make_stack: StackFactory) -> None:
    stack = await make_stack(settings={"resource_groups": {1001: "front-desk"}})
    assert await stack.services.sharing.learn(1001, {}) == "grp:front-desk"
    assert count_of(await sim_stats(stack.direct), EVENT_TYPE) == 0


async def test_when_cal_com_cannot_tell_the_event_type_is_held_alone_and_asked_again_later(
    make_stack: StackFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = await make_stack(settings=UNGROUPED)
    real = CalcomClient.get_own

    async def down(self: CalcomClient, *args: Any, **kwargs: Any) -> Any:
        raise UpstreamUnavailable()

    monkeypatch.setattr(CalcomClient, "get_own", down)
    sharing = stack.services.sharing
    assert await sharing.learn(1001, {}) == "et:1001"
    monkeypatch.setattr(CalcomClient, "get_own", real)
    assert await sharing.learn(1001, {}) == "et:1001", "not asked again within the minute"
    sharing._checked.drop(1001)  # the minute has passed (here and in the catalogue's memory)
    sharing.catalog._cache.clear()
    assert await sharing.learn(1001, {}) == "usr:1"


class NoCatalog:
    """calproxy's own key learns nothing (Cal.com down, or no key)."""

    async def event_type(self, event_type_id: int) -> None:
        return None


async def test_the_retry_times_stay_bounded_whatever_ids_callers_send() -> None:
    """Callers choose the event type ids they ask about; the ids not learned are retried after a minute,
    and remembering that must not grow without end."""
    now = [0.0]
    redis = fakeredis.FakeAsyncRedis()
    sharing = Sharing(
        None,
        redis,
        ProxyKeys("calproxy"),
        ResourceMap({}),
        NoCatalog(),
        clock=lambda: now[0],  # type: ignore[arg-type]
    )
    for event_type_id in range(MAX_CHECKED + 500):
        assert await sharing.learn(event_type_id, {}) == f"et:{event_type_id}"
    assert len(sharing._checked) <= MAX_CHECKED
    newest = MAX_CHECKED + 499
    assert sharing._checked.get(newest), "the newest is kept"
    now[0] = RETRY_S - 1
    assert sharing._checked.get(newest)
    now[0] = RETRY_S + 1
    assert not sharing._checked.get(newest), "asked again after a minute"
