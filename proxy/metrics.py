"""Prometheus metrics, one registry per app (so tests and several apps in one process never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HOLD_AGE_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)


class Metrics:
    """Every metric calproxy exports (prefix calproxy_, base units, no call ids in labels)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.quotes = Counter("calproxy_quotes_total", "Quotes by answer.", ["result"], registry=r)
        self.commits = Counter(
            "calproxy_bookings_total", "Booking commits by result.", ["result"], registry=r
        )
        self.holds_created = Counter(
            "calproxy_holds_created_total", "Hold acquisitions by outcome.", ["outcome"], registry=r
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
            "Requests sent to Cal.com.",
            ["endpoint", "status"],
            registry=r,
        )
        self.snapshot_requests = Counter(
            "calproxy_snapshot_cache_requests_total", "Slot snapshot reads by result.", ["result"], registry=r
        )
        self.http_duration = Histogram(
            "calproxy_http_request_duration_seconds",
            "Time to answer a request.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.consistency = Gauge(
            "calproxy_reconcile_consistency_ratio",
            "Confirmed bookings present in the calendar at the confirmed time / confirmed bookings.",
            registry=r,
        )
        self.reconcile_findings = Gauge(
            "calproxy_reconcile_findings", "Findings of the last reconciliation.", ["kind"], registry=r
        )
