"""/metrics parses with prometheus-client's parser and names what operators need, with bounded labels."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from proxy.metrics import HTTP_PENDING_MAX, Metrics
from tests.ops.test_logs import berlin, monday_in
from tests.proxy.conftest import SLOTS_V, Stack


def names(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


async def test_metrics_parse_and_name_what_operators_need(stack: Stack) -> None:
    day = monday_in(3)
    await stack.quote("A", eventTypeId=1001, start=berlin(day, "11:00"), timeZone="Europe/Berlin")
    await stack.proxy.get(
        "/v2/slots",
        params={"eventTypeId": "1001", "start": str(day), "end": str(day)},
        headers=SLOTS_V,
    )
    await stack.proxy.request("PROPFIND", "/healthz")
    text = (await stack.proxy.get("/metrics")).text
    families = names(text)
    for wanted in (
        "calproxy_live_holds",
        "calproxy_upstream_request_duration_seconds",
        "calproxy_upstream_requests",
        "calproxy_upstream_ratelimit_remaining",
        "calproxy_http_request_duration_seconds",
        "calproxy_snapshot_cache_requests",
        "calproxy_quotes",
        "calproxy_holds_created",
    ):
        assert wanted in families, wanted
    assert "_created" not in text.replace("calproxy_holds_created_total", "")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert samples[("calproxy_live_holds", (("state", "held"),))] == 1
    assert any(
        name == "calproxy_upstream_request_duration_seconds_count"
        and dict(labels).get("status_class") == "2xx"
        for name, labels in samples
    )
    assert any(
        name == "calproxy_http_request_duration_seconds_count"
        and dict(labels) == {"route": "/v2/slots", "method": "GET", "status": "200"}
        for name, labels in samples
    )
    # An invented method is folded into one label value, so clients cannot grow the label set.
    assert any(
        name == "calproxy_http_request_duration_seconds_count" and dict(labels).get("method") == "other"
        for name, labels in samples
    )
    misses = samples[("calproxy_snapshot_cache_requests_total", (("result", "miss"),))]
    assert misses >= 1


async def test_the_live_view_is_seen_in_the_metrics(stack: Stack) -> None:
    day = monday_in(3)
    view = stack.services.availability.live_view
    assert view is not None
    query = {"eventTypeId": "1001", "start": str(day), "end": str(day)}
    await stack.proxy.get(
        "/v2/slots", params=query, headers=SLOTS_V
    )  # first use: follows, answers from Redis
    assert await view.wait_current("grp:host-1")
    await stack.quote("A", eventTypeId=1001, start=berlin(day, "11:00"), timeZone="Europe/Berlin")
    await stack.proxy.get("/v2/slots", params=query, headers=SLOTS_V)
    families = names((await stack.proxy.get("/metrics")).text)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert samples[("calproxy_live_view_answers_total", (("result", "served"),))] >= 1
    assert samples[("calproxy_live_view_answers_total", (("result", "missed"),))] >= 1
    assert samples[("calproxy_live_view_rereads_total", (("cause", "all"),))] >= 1
    assert samples[("calproxy_live_view_resources", ())] >= 1
    assert samples[("calproxy_live_view_records", ())] >= 1


def test_request_timings_wait_for_the_scrape_but_never_pile_up() -> None:
    metrics = Metrics()

    def count() -> float:
        child = metrics.http_duration.labels(route="/v2/slots", method="GET", status="200")
        return float(next(s.value for s in child.collect()[0].samples if s.name.endswith("_count")))

    for _ in range(HTTP_PENDING_MAX - 1):
        metrics.observe_http("/v2/slots", "GET", 200, 0.001)
    assert count() == 0  # kept until the scrape
    metrics.observe_http("/v2/slots", "GET", 200, 0.001)
    assert count() == HTTP_PENDING_MAX  # recorded at once when that many wait
    metrics.observe_http("/v2/slots", "GET", 200, 0.001)
    metrics.flush()
    assert count() == HTTP_PENDING_MAX + 1
