"""Prometheus metrics, one registry per app (so tests and several apps in one process never collide).

Label values are bounded by construction: routes and upstream endpoints are templates, never raw paths;
HTTP methods outside the standard set are folded into "other"; status codes are a small set.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from holds.live_view import LiveHolds

# The automatic `_created` series doubles every counter (`calproxy_holds_created_created`) for nothing
# operators read; it is process-global in prometheus-client, so it is turned off where metrics are defined.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HOLD_AGE_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """A bounded method label: anything a client invents becomes "other"."""
    return method if method in KNOWN_METHODS else "other"


def status_class(status: int) -> str:
    """2xx, 3xx, 4xx, 5xx: the upstream latency label (exact codes stay in the request counter)."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


# Request timings kept before they are recorded in the histogram (see Metrics.observe_http). The request
# that fills the list records them all: 4,096 made that one request wait about 3 ms, 256 about 0.2 ms, for
# the same work in all.
HTTP_PENDING_MAX = 256


class Metrics:
    """Every metric calproxy exports (prefix calproxy_, base units, no call ids in labels)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Labelled children of the per-request metrics, looked up once per label set: `labels()` takes a
        # lock and validates its arguments, which was a tenth of a cached slot answer's own cost.
        self._http_children: dict[tuple[str, str, int], Any] = {}
        self._http_pending: list[tuple[str, str, int, float]] = []
        self._snapshot_children: dict[str, Any] = {}
        self.quotes = Counter("calproxy_quotes_total", "Quotes by answer.", ["result"], registry=r)
        self.hold_mirrors = Counter(
            "calproxy_hold_mirrors_total",
            "Holds mirrored as Cal.com reservations, by result (mirrored, degraded: the upstream budget "
            "was short, failed, removed).",
            ["result"],
            registry=r,
        )
        self.commits = Counter(
            "calproxy_bookings_total", "Booking commits by result.", ["result"], registry=r
        )
        self.holds_created = Counter(
            "calproxy_holds_created_total", "Hold acquisitions by outcome.", ["outcome"], registry=r
        )
        self.frozen_objects = Gauge(
            "calproxy_gc_frozen_objects",
            "Objects built at start-up that the garbage collector's full passes skip (gc.freeze at serve).",
            registry=r,
        )
        self.frozen_objects.set_function(gc.get_freeze_count)
        self.live_holds = Gauge(
            "calproxy_live_holds",
            "Live holds and booked markers in Redis, by state (all processes; read at scrape time).",
            ["state"],
            registry=r,
        )
        self.hold_age_at_commit = Histogram(
            "calproxy_hold_age_at_commit_seconds",
            "Time from hold (quote) to confirmed commit.",
            buckets=HOLD_AGE_BUCKETS,
            registry=r,
        )
        self.hold_expired_during_commit = Counter(
            "calproxy_hold_expired_during_commit_total",
            "Commits whose hold lapsed before they finished.",
            registry=r,
        )
        self.compensations = Counter(
            "calproxy_compensations_total",
            "Upstream cancellations of unconfirmed bookings.",
            ["result"],
            registry=r,
        )
        self.upstream_requests = Counter(
            "calproxy_upstream_requests_total",
            "Requests sent to Cal.com, by endpoint template and status (or timeout/unavailable).",
            ["endpoint", "status"],
            registry=r,
        )
        self.upstream_duration = Histogram(
            "calproxy_upstream_request_duration_seconds",
            "Time Cal.com took to answer, by endpoint template and status class.",
            ["endpoint", "status_class"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_ratelimit_remaining = Gauge(
            "calproxy_upstream_ratelimit_remaining",
            "Requests left in Cal.com's rate-limit window, from its last answer's X-RateLimit-Remaining.",
            registry=r,
        )
        self.snapshot_requests = Counter(
            "calproxy_snapshot_cache_requests_total",
            "Slot snapshot day reads by where they were found: local memo, redis, or miss (fetched).",
            ["result"],
            registry=r,
        )
        self.http_duration = Histogram(
            "calproxy_http_request_duration_seconds",
            "Time to answer a request, by route template, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.consistency = Gauge(
            "calproxy_reconcile_consistency_ratio",
            "Confirmed bookings present in the calendar at the confirmed time / confirmed bookings.",
            registry=r,
        )
        self.redis_state_changes = Counter(
            "calproxy_redis_state_changes_total",
            "Redis datasets found new or lost (sentinel gone) or restarted with their data (run_id changed).",
            ["change"],
            registry=r,
        )
        self.reconcile_findings = Gauge(
            "calproxy_reconcile_findings", "Findings of the last reconciliation.", ["kind"], registry=r
        )
        self.reconcile_pages = Counter(
            "calproxy_reconcile_pages_total",
            "Cal.com booking list pages read by reconciliation, by result (read, failed).",
            ["result"],
            registry=r,
        )
        self.reconcile_passes = Counter(
            "calproxy_reconcile_passes_total",
            "Reconciliation attempts by this process, by result (ran, lease_held, recent, lease_lost).",
            ["result"],
            registry=r,
        )
        self.upstream_budget = Counter(
            "calproxy_upstream_budget_requests_total",
            "Cal.com requests asked of the shared budget, by priority and result "
            "(granted, waited: granted after a wait, refused: answered 429 without going upstream, error).",
            ["priority", "result"],
            registry=r,
        )
        self.upstream_budget_wait = Histogram(
            "calproxy_upstream_budget_wait_seconds",
            "Time requests waited for the shared upstream budget, by priority.",
            ["priority"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_pauses = Counter(
            "calproxy_upstream_pauses_total",
            "Cal.com 429s that paused every process's requests with that credential until Cal.com's reset.",
            registry=r,
        )

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request (the route template, never the raw path).

        Kept in a list until the next scrape (or until it is long): a histogram observation takes a lock per
        bucket it walks, a few microseconds of a request that takes sixty.
        """
        self._http_pending.append((route, method, status, seconds))
        if len(self._http_pending) >= HTTP_PENDING_MAX:
            self.flush()

    def flush(self) -> None:
        """Record the pending request timings (before every scrape)."""
        pending, self._http_pending = self._http_pending, []
        for route, method, status, seconds in pending:
            key = (route, method, status)
            child = self._http_children.get(key)
            if child is None:
                child = self.http_duration.labels(route=route, method=method, status=str(status))
                self._http_children[key] = child
            child.observe(seconds)

    def count_snapshot(self, result: str, n: int) -> None:
        """Snapshot day reads by where they were found."""
        child = self._snapshot_children.get(result)
        if child is None:
            child = self._snapshot_children[result] = self.snapshot_requests.labels(result=result)
        child.inc(n)

    def follow_live_view(self, view: LiveHolds) -> None:
        """Export the live view's counters and size, read from it at each scrape."""
        self.registry.register(_LiveViewCollector(view))


class _LiveViewCollector(Collector):
    """The live view's own counters (holds/live_view.py ViewStats) as Prometheus counters and gauges."""

    def __init__(self, view: LiveHolds) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        stats = self._view.stats
        answers = CounterMetricFamily(
            "calproxy_live_view_answers",
            "Holds reads answered from the live view, or refused to (not current).",
            labels=["result"],
        )
        answers.add_metric(["served"], stats.served)
        answers.add_metric(["missed"], stats.missed)
        yield answers
        reads = CounterMetricFamily(
            "calproxy_live_view_rereads", "Whole-resource reads of the live view, by why.", labels=["cause"]
        )
        reads.add_metric(["gap"], stats.gaps)
        reads.add_metric(["audit"], stats.audit_resyncs)
        reads.add_metric(["all"], stats.syncs)
        yield reads
        yield CounterMetricFamily(
            "calproxy_live_view_reconnects",
            "Subscriptions of the live view lost and made again.",
            value=stats.reconnects,
        )
        resources, records = self._view.size()
        yield GaugeMetricFamily(
            "calproxy_live_view_resources", "Resources the live view follows.", value=resources
        )
        yield GaugeMetricFamily(
            "calproxy_live_view_records", "Hold records the live view keeps.", value=records
        )
