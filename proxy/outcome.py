"""What Cal.com did with one create request: verified, refused, compensated, or unknown.

Timeouts and 5xx leave the outcome unknown, so the booking is looked up by its metadata tag before we
answer; a booking that exists but differs from the request is cancelled (compensation), never confirmed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from proxy.calcom.errors import CalcomError
from proxy.calcom.jsonwire import dumps
from proxy.calcom.timefmt import format_ms
from proxy.errors import UpstreamRefusal, UpstreamTimeout, UpstreamUnavailable
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.slotmath import DAY_MS
from proxy.upstream import Admission, CalcomClient, UpstreamResponse
from proxy.verification import Expected, booking_uids, is_slot_taken, mismatches, tagged

log = get_logger(__name__)

Matcher = Callable[[object], bool]
PAGE_SIZE = 250  # Cal.com's maximum `take`
MAX_PAGES = 20
Kind = Literal["confirmed", "refused", "compensated", "compensation_failed", "unknown", "timeout"]
MISMATCH_REASON = "calproxy: Cal.com booked a different time than requested; cancelled automatically"
# Headers of Cal.com's answer worth passing on with a confirmed booking.
PASSTHROUGH_HEADERS = ("x-request-id", "x-ratelimit-limit-default", "x-ratelimit-remaining-default")
PASSTHROUGH_PREFIX = "x-ratelimit-"


def passthrough_headers(response: UpstreamResponse) -> dict[str, str]:
    """Cal.com's request id and rate-limit headers, to hand back with the answer."""
    return {
        name: value
        for name, value in response.headers.items()
        if name.lower() == "x-request-id" or name.lower().startswith(PASSTHROUGH_PREFIX)
    }


@dataclass(frozen=True)
class Outcome:
    """The settled result of one upstream create."""

    kind: Kind
    detail: str = ""
    booking_uid: str | None = None
    response_status: int | None = None
    response_body: bytes | None = None
    passthrough_headers: Mapping[str, str] = field(default_factory=dict)
    slot_taken: bool = False
    upstream: UpstreamResponse | None = None
    # An unknown outcome whose look-up by tag succeeded and found no live booking: nothing was created.
    nothing_created: bool = False

    def as_error(self, extra: dict[str, Any]) -> CalcomError:
        """Cal.com's own refusal, status and message unchanged, with our extra details."""
        assert self.upstream is not None
        return UpstreamRefusal.from_response(self.upstream, extra)


@dataclass
class OutcomeResolver:
    """Creates upstream and settles the outcome."""

    upstream: CalcomClient
    metrics: Metrics
    clock: Callable[[], float]
    search_days: int = 8

    async def create(
        self,
        body: dict[str, Any],
        credentials: Mapping[str, str],
        expected: Expected,
        commit_id: str,
        admission: Admission | None = None,
    ) -> Outcome:
        """POST the booking and decide what it means."""
        return await self._settle(
            self.upstream.create_booking(body, credentials, admission),
            expected,
            lambda booking: tagged(booking, commit_id),
            credentials,
        )

    async def reschedule(
        self, uid: str, body: dict[str, Any], credentials: Mapping[str, str], expected: Expected
    ) -> Outcome:
        """POST the reschedule; the new booking is found again by its rescheduledFromUid."""
        return await self._settle(
            self.upstream.reschedule_booking(uid, body, credentials),
            expected,
            lambda booking: isinstance(booking, dict) and booking.get("rescheduledFromUid") == uid,
            credentials,
        )

    async def _settle(
        self,
        call: Awaitable[UpstreamResponse],
        expected: Expected,
        ours: Matcher,
        credentials: Mapping[str, str],
    ) -> Outcome:
        try:
            response = await call
        except UpstreamTimeout:
            return await self.resolve(expected, ours, credentials, "timeout")
        except UpstreamUnavailable:
            return await self.resolve(expected, ours, credentials, "unknown")
        if response.status >= 500:
            return await self.resolve(expected, ours, credentials, "unknown")
        if response.status in (200, 201):
            payload = response.json()
            data = payload.get("data") if isinstance(payload, dict) else None
            problems = mismatches(data, expected)
            if not problems:
                assert isinstance(data, dict)
                return Outcome(
                    "confirmed",
                    booking_uid=data["uid"],
                    response_status=response.status,
                    response_body=response.content,
                    passthrough_headers=passthrough_headers(response),
                )
            return await self.compensate(booking_uids(data), problems, credentials)
        slot_taken = is_slot_taken(response.status, response.error_message())
        return Outcome("refused", detail=response.error_message(), slot_taken=slot_taken, upstream=response)

    async def find(
        self, expected: Expected, ours: Matcher, credentials: Mapping[str, str]
    ) -> list[dict[str, Any]] | None:
        """Bookings this commit created; None when Cal.com cannot be asked (no key, or it failed)."""
        if not (self.upstream.has_own_credentials or credentials):
            return None
        found: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            params = {
                "eventTypeId": str(expected.event_type_id),
                "afterStart": format_ms(expected.start_ms - DAY_MS),
                "beforeEnd": format_ms(expected.end_ms + self.search_days * DAY_MS),
                "take": str(PAGE_SIZE),
                "skip": str(page * PAGE_SIZE),
            }
            try:
                response = await self.upstream.list_bookings(params, credentials)
            except (UpstreamTimeout, UpstreamUnavailable):
                return None
            payload = response.json()
            data = payload.get("data") if isinstance(payload, dict) else None
            if response.status != 200 or not isinstance(data, list):
                return None
            found.extend(b for b in data if ours(b))
            if len(data) < PAGE_SIZE:
                return found
        # Too many bookings to be sure ours is not among the unread: say "cannot tell", never "none".
        return None

    async def resolve(
        self, expected: Expected, ours: Matcher, credentials: Mapping[str, str], kind: Kind
    ) -> Outcome:
        """Settle an unknown outcome by looking the booking up (by its tag, or its reschedule origin)."""
        found = await self.find(expected, ours, credentials)
        what = "did not answer in time" if kind == "timeout" else "failed"
        if found is None:
            return Outcome(
                kind, detail=f"Cal.com {what} and the booking could not be looked up; outcome unknown."
            )
        live = [b for b in found if b.get("status") != "cancelled"]
        if not live:
            detail = f"Cal.com {what}; no booking was created for this request."
            return Outcome(kind, detail=detail, nothing_created=True)
        verified = [b for b in live if not mismatches(b, expected)]
        if verified:
            first, extra = verified[0], [b["uid"] for b in verified[1:]]
            if extra:
                await self.compensate(extra, ["duplicate of a verified booking"], credentials)
            log.info("unknown_outcome_resolved", booking=first["uid"])
            body = dumps({"status": "success", "data": first}).encode()
            return Outcome("confirmed", booking_uid=first["uid"], response_status=201, response_body=body)
        problems = mismatches(live[0], expected)
        return await self.compensate([b["uid"] for b in live], problems, credentials)

    async def compensate(
        self, uids: list[str], problems: list[str], credentials: Mapping[str, str]
    ) -> Outcome:
        """Cancel what Cal.com created and we cannot confirm."""
        failed = []
        for uid in uids:
            try:
                response = await self.upstream.cancel_booking(uid, MISMATCH_REASON, credentials)
                ok = response.status in (200, 201)
            except (UpstreamTimeout, UpstreamUnavailable):
                ok = False
            self.metrics.compensations.labels(result="cancelled" if ok else "failed").inc()
            if not ok:
                failed.append(uid)
        log.warning("booking_mismatch", uids=uids, problems=problems, failed=failed)
        detail = f"Cal.com did not book the requested time ({'; '.join(problems)}). " + (
            "The booking it created was cancelled."
            if not failed
            else "Cancelling it failed; it will be retried."
        )
        kind: Kind = "compensation_failed" if failed else "compensated"
        return Outcome(kind, detail=detail, booking_uid=uids[0] if uids else None)
