"""The proxy's services, wired once per app from settings, a Redis client and an httpx client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis

from holds import HoldStore, PolicyStore, TtlPolicy
from holds.live_view import LiveHolds
from proxy.abandoned import AbandonedCommits
from proxy.activity import UPSTREAM_429, UPSTREAM_REQUESTS, Activity
from proxy.answers import AnswerCache, Resolutions
from proxy.auth import CredentialVerifier
from proxy.availability import Availability
from proxy.budgets import HoldBudget, QuoteRates, TenantHolds, rate_storage
from proxy.catalog import OwnCatalog
from proxy.commit import CommitPolicy, CommitService
from proxy.commit_records import CommitRecords
from proxy.idempotency import Idempotency
from proxy.identity import ResourceMap
from proxy.keys import ProxyKeys
from proxy.ledger import Ledger
from proxy.liveness import Liveness
from proxy.metrics import Metrics, status_class
from proxy.mirror import HoldMirror
from proxy.opstats import GRACE_MS, OpsStats
from proxy.outcome import OutcomeResolver
from proxy.quote import QuoteService
from proxy.reach import KeyReach
from proxy.readiness import ReadinessProbe
from proxy.reconcile import Reconciler, event_types_of
from proxy.reschedule import Rescheduler
from proxy.reservations import ReservationService
from proxy.settings import Settings
from proxy.sharing import Sharing
from proxy.snapshot import SnapshotCache
from proxy.state_guard import StateGuard
from proxy.upstream import CalcomClient, UpstreamObserver
from proxy.upstream_budget import UpstreamBudget
from proxy.zones import ZoneDirectory


@dataclass
class Services:
    """Everything a handler may use; built by `build_services`, closed by `aclose`."""

    settings: Settings
    redis: Redis
    http: httpx.AsyncClient
    upstream: CalcomClient
    keys: ProxyKeys
    metrics: Metrics
    holds: HoldStore
    policy: PolicyStore
    snapshots: SnapshotCache
    availability: Availability
    quotes: QuoteService
    reservations: ReservationService
    ledger: Ledger
    idempotency: Idempotency
    commits: CommitService
    rescheduler: Rescheduler
    reconciler: Reconciler
    liveness: Liveness
    abandoned: AbandonedCommits
    sharing: Sharing
    mirror: HoldMirror
    stats: OpsStats
    activity: Activity
    readiness: ReadinessProbe
    zones: ZoneDirectory
    state_guard: StateGuard = field(init=False)
    clock: Callable[[], float]
    verifier: CredentialVerifier
    budget: HoldBudget
    rates: QuoteRates
    # Rendered slot answers reused while provably current (None without a live view).
    answers: AnswerCache | None = None
    # What slots requests resolve to (validated query, owner), by their query and headers.
    slot_requests: Resolutions = field(default_factory=Resolutions)

    @property
    def tenant_secret(self) -> bytes:
        """The key of tenant hashes."""
        return self.settings.tenant_secret.get_secret_value().encode()

    async def aclose(self) -> None:
        """Stop background listeners and close the upstream client (Redis is closed by its owner)."""
        await self.mirror.aclose()
        if self.availability.live_view is not None:
            await self.availability.live_view.aclose()
        await self.holds.aclose()
        await self.http.aclose()


def default_policy(settings: Settings) -> TtlPolicy:
    """The TTL policy from settings and the resource file (Redis values, once set, take precedence)."""
    overrides = {k: int(v * 1000) for k, v in settings.resources().hold_ttl_overrides_s.items()}
    return TtlPolicy(
        default_ms=int(settings.hold_ttl_default_s * 1000),
        min_ms=int(settings.hold_ttl_min_s * 1000),
        max_ms=int(settings.hold_ttl_max_s * 1000),
        overrides=overrides,
    )


def upstream_observer(metrics: Metrics, activity: Activity) -> UpstreamObserver:
    """Counts, times and rate-limit headroom of every Cal.com exchange, for /metrics and the status page."""

    def observe(endpoint: str, status: int | str, seconds: float, headers: httpx.Headers | None) -> None:
        metrics.upstream_requests.labels(endpoint=endpoint, status=str(status)).inc()
        klass = status_class(status) if isinstance(status, int) else status
        metrics.upstream_duration.labels(endpoint=endpoint, status_class=klass).observe(seconds)
        activity.add(UPSTREAM_REQUESTS)
        if status == 429:
            activity.add(UPSTREAM_429)
        remaining = ratelimit_remaining(headers)
        if remaining is not None:
            metrics.upstream_ratelimit_remaining.set(remaining)

    return observe


def ratelimit_remaining(headers: httpx.Headers | None) -> int | None:
    """Cal.com's X-RateLimit-Remaining (its default throttler suffixes the name with -Default)."""
    if headers is None:
        return None
    for name in ("X-RateLimit-Remaining", "X-RateLimit-Remaining-Default"):
        value = headers.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def build_services(
    settings: Settings, redis: Redis, upstream_url: str, *, clock: Callable[[], float] = time.time
) -> Services:
    """Wire every service; no I/O happens here."""
    timeout = httpx.Timeout(settings.upstream_timeout_s, connect=min(5.0, settings.upstream_timeout_s))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    http = httpx.AsyncClient(base_url=upstream_url, timeout=timeout, limits=limits)
    api_key = settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
    keys = ProxyKeys(settings.key_prefix)
    metrics = Metrics()
    activity = Activity(redis, keys, clock)
    # One budget per Cal.com credential for every process (issue 10): commits first, background work last.
    upstream_budget = UpstreamBudget(
        redis=redis,
        keys=keys,
        per_minute=settings.upstream_budget_per_minute,
        secret=settings.tenant_secret.get_secret_value().encode(),
        metrics=metrics,
    )
    upstream = CalcomClient(
        http, api_key=api_key, observer=upstream_observer(metrics, activity), gate=upstream_budget
    )
    policy = PolicyStore(redis, prefix=settings.key_prefix, defaults=default_policy(settings))
    # No clock: every hold decision uses Redis's own (TIME in the scripts), so processes whose clocks
    # disagree still agree on holds; `clock` here serves display, ledger and stats times only.
    holds = HoldStore(
        redis,
        prefix=settings.key_prefix,
        max_per_owner=settings.max_holds_per_owner,
        policy=policy,
    )
    snapshots = SnapshotCache(
        redis=redis,
        keys=keys,
        upstream=upstream,
        ttl_ms=int(settings.snapshot_ttl_s * 1000),
        lock_ms=int(settings.snapshot_lock_s * 1000),
        clock=clock,
        local_ttl_s=min(settings.snapshot_local_ttl_s, settings.snapshot_ttl_s),
        metrics=metrics,
        seen_ttl_ms=int(settings.slots_seen_ttl_s * 1000),
    )
    verifier = CredentialVerifier(
        redis=redis,
        keys=keys,
        upstream=upstream,
        secret=settings.tenant_secret.get_secret_value().encode(),
        accepted_ttl_ms=int(settings.credential_ttl_s * 1000),
        refused_ttl_ms=int(settings.credential_refused_ttl_s * 1000),
    )
    budget = HoldBudget(
        tenants=TenantHolds(redis, keys, settings.max_holds_per_tenant),
        holds=holds,
        share=settings.resource_share,
        floor=settings.resource_share_floor,
    )
    rates = QuoteRates(
        storage=rate_storage(redis, keys),
        keys=keys,
        per_tenant=settings.quote_rate_per_tenant,
        per_address=settings.quote_rate_per_address,
        clock=clock,
    )
    resources = ResourceMap(groups=settings.resources().resource_groups)
    catalog = OwnCatalog(upstream)
    sharing = Sharing(upstream, redis, keys, resources, catalog)
    live_view = LiveHolds(redis, holds, prefix=settings.key_prefix) if settings.live_view else None
    if live_view is not None:
        metrics.follow_live_view(live_view)
    availability = Availability(
        snapshots=snapshots,
        holds=holds,
        resources=resources,
        clock=clock,
        sharing=sharing,
        live_view=live_view,
    )
    ledger = Ledger(redis, keys)
    # A commit may convert a hold up to its budget past the quoted expiry: wait that long before censoring.
    stats = OpsStats(
        redis,
        keys,
        clock=clock,
        grace_ms=max(GRACE_MS, settings.commit_budget_ms),
        window_s=settings.advisor_window_s,
        min_events=settings.advisor_min_events,
    )
    idempotency = Idempotency(redis, keys)
    commit_policy = CommitPolicy(
        budget_ms=settings.commit_budget_ms,
        booked_ttl_ms=int(settings.booked_marker_ttl_s * 1000),
        freshness_ms=int(settings.commit_freshness_s * 1000),
        alternatives=settings.alternatives_default,
        search_days=settings.alternatives_search_days,
    )
    resolver = OutcomeResolver(upstream=upstream, metrics=metrics, clock=clock)
    mirror = HoldMirror(
        upstream, redis, keys, holds, resources, metrics, activity,
        enabled=settings.mirror_holds and upstream.has_own_credentials, clock=clock,
        on_removed=lambda et, days: snapshots.invalidate(et, None, days),
    )  # fmt: skip
    snapshots.own_reservations = mirror.reserved_starts
    liveness = Liveness(redis, keys)
    reach = KeyReach(catalog)
    commits = CommitService(
        availability=availability,
        holds=holds,
        snapshots=snapshots,
        upstream=upstream,
        ledger=ledger,
        resolver=resolver,
        metrics=metrics,
        stats=stats,
        policy=commit_policy,
        activity=activity,
        clock=clock,
        records=CommitRecords(holds, ledger, idempotency),
        idempotency=idempotency,
        liveness=liveness,
        sharing=sharing,
        mirror=mirror,
    )
    services = Services(
        settings=settings,
        redis=redis,
        http=http,
        upstream=upstream,
        keys=keys,
        metrics=metrics,
        holds=holds,
        policy=policy,
        snapshots=snapshots,
        availability=availability,
        quotes=QuoteService(
            availability,
            holds,
            settings.alternatives_search_days,
            settings.max_holds_per_owner,
            stats,
            budget,
            mirror,
        ),
        reservations=ReservationService(availability, holds, stats, budget, mirror),
        ledger=ledger,
        idempotency=idempotency,
        commits=commits,
        liveness=liveness,
        sharing=sharing,
        mirror=mirror,
        abandoned=AbandonedCommits(
            ledger,
            resolver,
            holds,
            idempotency,
            booked_ttl_ms=commit_policy.booked_ttl_ms,
            landing_ms=int((settings.upstream_timeout_s + 1) * 1000),
            clock=clock,
            reach=reach,
        ),
        rescheduler=Rescheduler(
            commits, resolver, upstream, ledger, holds, snapshots, idempotency, commit_policy.booked_ttl_ms
        ),
        reconciler=Reconciler(
            ledger,
            upstream,
            resolver,
            metrics,
            clock,
            pending_grace_ms=2 * commit_policy.budget_ms,
            grace_ms=int(settings.reconcile_grace_s * 1000),
            retention_ms=int(settings.ledger_retention_s * 1000),
            page_size=settings.reconcile_page_size,
            lease_ms=int(settings.reconcile_lease_s * 1000),
            interval_ms=int(settings.reconcile_interval_s * 1000),
            event_types=event_types_of(settings.resources().resource_groups),
            resources=resources,
            reach=reach,
        ),
        stats=stats,
        activity=activity,
        readiness=ReadinessProbe(redis, http),
        zones=ZoneDirectory(upstream, catalog),
        clock=clock,
        verifier=verifier,
        budget=budget,
        rates=rates,
        answers=AnswerCache(live_view, clock=clock) if live_view is not None else None,
    )
    # Needs the reconciler it calls on a loss, so it is wired once the rest exists.
    services.state_guard = StateGuard(
        redis, keys, metrics, on_loss=services.reconciler.run, forget_local=snapshots.forget_local
    )
    return services
