"""CalcomClient: every call calproxy makes to Cal.com, over one httpx.AsyncClient with timeouts."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import httpx

from proxy.errors import UpstreamTimeout, UpstreamUnavailable
from proxy.logs import current_request_id, get_logger
from proxy.upstream_path import booking_uid_segment

log = get_logger(__name__)

SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
VERSION_HEADER = "cal-api-version"


@dataclass(frozen=True)
class UpstreamResponse:
    """A Cal.com answer: status, headers and raw body (passed through byte for byte when we can)."""

    status: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    def error_message(self) -> str:
        """The message of either Cal.com error shape (envelope or bare statusCode/message)."""
        body = self.json()
        if not isinstance(body, dict):
            return ""
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        message = body.get("message")
        return message if isinstance(message, str) else ""


class UpstreamObserver(Protocol):
    """Told about every upstream exchange: metrics and activity counters (no I/O allowed)."""

    def __call__(
        self, endpoint: str, status: int | str, seconds: float, headers: httpx.Headers | None
    ) -> None:
        """`status` is the HTTP status, or "timeout" / "unavailable" when there was no answer."""


@dataclass(frozen=True)
class Admission:
    """The gate's answer for a request asked ahead of sending it: a refusal to answer instead, or a grant
    (an opaque token the gate can take back if the request is never sent)."""

    refusal: UpstreamResponse | None = None
    grant: object = None


class UpstreamGate(Protocol):
    """The shared upstream budget (proxy.upstream_budget): asked before each request, told of each 429."""

    async def admit(
        self, method: str, endpoint: str, path: str, headers: Mapping[str, str], priority: str | None
    ) -> UpstreamResponse | None:
        """None: send. Else the Cal.com-shaped 429 to answer instead, without going upstream."""

    async def admit_ahead(
        self, method: str, endpoint: str, path: str, headers: Mapping[str, str], priority: str | None
    ) -> Admission:
        """Like admit, for a request sent later (its preparation runs meanwhile)."""

    async def refund(self, headers: Mapping[str, str], admission: Admission) -> None:
        """A request admitted ahead was not sent after all: give its place back."""

    async def throttled(self, headers: Mapping[str, str], response_headers: httpx.Headers) -> None:
        """Cal.com answered 429 to a request with these headers."""


def _ignore(endpoint: str, status: int | str, seconds: float, headers: httpx.Headers | None) -> None:
    return None


class CalcomClient:
    """One method per upstream call; httpx errors become UpstreamTimeout / UpstreamUnavailable."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        observer: UpstreamObserver = _ignore,
        gate: UpstreamGate | None = None,
    ) -> None:
        self._client = client
        self._gate = gate
        self._own_credentials = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._observe = observer

    @property
    def own_credentials(self) -> dict[str, str]:
        """calproxy's own key as request headers (empty without one): for calproxy's own upstream work."""
        return dict(self._own_credentials)

    @property
    def has_own_credentials(self) -> bool:
        """Whether the proxy can list bookings on its own (reconciliation, unknown outcomes)."""
        return bool(self._own_credentials)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        json_body: Any = None,
        endpoint: str = "passthrough",
        priority: str | None = None,
        admission: Admission | None = None,
    ) -> UpstreamResponse:
        """Send one request; the only place that talks to httpx. `endpoint` is the path's template.

        `priority` ("commit", "slots", "background") is the share of the upstream budget it draws from;
        None: the enclosing `upstream_priority` block's, else the endpoint's default. `admission`: the
        budget was asked ahead (`admit_create`), so it is not asked again.
        """
        sent = dict(headers or {})
        request_id = current_request_id()
        if request_id is not None:
            # One id from the caller through calproxy to Cal.com, so one conversation can be followed.
            sent.setdefault("X-Request-Id", request_id)
        if admission is not None:
            if admission.refusal is not None:
                return admission.refusal
        elif self._gate is not None:
            refused = await self._gate.admit(method, endpoint, path, sent, priority)
            if refused is not None:
                return refused
        started = time.perf_counter()
        try:
            query = httpx.QueryParams(cast(Any, params)) if params is not None else None
            response = await self._client.request(
                method, path, params=query, headers=sent, content=content, json=json_body
            )
        except httpx.TimeoutException as exc:
            self._observe(endpoint, "timeout", time.perf_counter() - started, None)
            log.warning("upstream_timeout", method=method, endpoint=endpoint)
            raise UpstreamTimeout() from exc  # the body names no endpoint; the line above does
        except httpx.HTTPError as exc:
            self._observe(endpoint, "unavailable", time.perf_counter() - started, None)
            log.warning("upstream_unavailable", method=method, endpoint=endpoint, error=type(exc).__name__)
            raise UpstreamUnavailable() from exc
        self._observe(endpoint, response.status_code, time.perf_counter() - started, response.headers)
        if response.status_code == 429 and self._gate is not None:
            await self._gate.throttled(sent, response.headers)
        return UpstreamResponse(response.status_code, response.headers, response.content)

    async def get_slots(
        self,
        event_type_id: int,
        start: str,
        end: str,
        duration: int | None,
        credentials: Mapping[str, str],
        *,
        reschedule_uid: str | None = None,
    ) -> UpstreamResponse:
        """GET /v2/slots in range format, UTC, for the snapshot cache."""
        params = {"eventTypeId": str(event_type_id), "start": start, "end": end, "format": "range"}
        if duration:
            params["duration"] = str(duration)
        if reschedule_uid:
            params["bookingUidToReschedule"] = reschedule_uid
        headers = {VERSION_HEADER: SLOTS_VERSION, **credentials}
        return await self.request("GET", "/v2/slots", params=params, headers=headers, endpoint="/v2/slots")

    async def create_booking(
        self, body: dict[str, Any], credentials: Mapping[str, str], admission: Admission | None = None
    ) -> UpstreamResponse:
        """POST /v2/bookings with the 2024-08-13 body."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **credentials}
        return await self.request(
            "POST",
            "/v2/bookings",
            headers=headers,
            json_body=body,
            endpoint="/v2/bookings",
            admission=admission,
        )

    async def admit_create(self, credentials: Mapping[str, str]) -> Admission:
        """Ask the budget for a create now, while the commit prepares (one round trip saved)."""
        if self._gate is None:
            return Admission()
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **credentials}
        return await self._gate.admit_ahead("POST", "/v2/bookings", "/v2/bookings", headers, None)

    async def refund(self, credentials: Mapping[str, str], admission: Admission) -> None:
        """A create admitted ahead that will not be sent gives its place in the budget back."""
        if self._gate is not None and admission.grant is not None:
            await self._gate.refund(credentials, admission)

    async def reschedule_booking(
        self, uid: str, body: dict[str, Any], credentials: Mapping[str, str]
    ) -> UpstreamResponse:
        """POST /v2/bookings/{uid}/reschedule."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **credentials}
        return await self.request(
            "POST",
            f"/v2/bookings/{booking_uid_segment(uid)}/reschedule",
            headers=headers,
            json_body=body,
            endpoint="/v2/bookings/{uid}/reschedule",
        )

    async def cancel_booking(self, uid: str, reason: str, credentials: Mapping[str, str]) -> UpstreamResponse:
        """POST /v2/bookings/{uid}/cancel (compensation uses the proxy's own key when it has one)."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **(self._own_credentials or credentials)}
        body = {"cancellationReason": reason}
        return await self.request(
            "POST",
            f"/v2/bookings/{booking_uid_segment(uid)}/cancel",
            headers=headers,
            json_body=body,
            endpoint="/v2/bookings/{uid}/cancel",
        )

    async def get_booking(self, uid: str, credentials: Mapping[str, str]) -> UpstreamResponse:
        """GET /v2/bookings/{uid}."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **(self._own_credentials or credentials)}
        return await self.request(
            "GET", f"/v2/bookings/{booking_uid_segment(uid)}", headers=headers, endpoint="/v2/bookings/{uid}"
        )

    async def list_bookings(
        self, params: Mapping[str, str], credentials: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        """GET /v2/bookings with filters; needs credentials (the proxy's own, or the caller's)."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **(self._own_credentials or credentials or {})}
        return await self.request(
            "GET", "/v2/bookings", params=params, headers=headers, endpoint="/v2/bookings"
        )

    async def get_own(self, template: str, version: str, ident: int | None = None) -> UpstreamResponse:
        """GET one catalogue resource (`/v2/event-types/{id}`, `/v2/schedules/{id}`, `/v2/me`) with the
        proxy's own key: operator views only, never on a caller's behalf."""
        path = template if ident is None else template.replace("{id}", str(int(ident)))
        headers = {VERSION_HEADER: version, **self._own_credentials}
        return await self.request("GET", path, headers=headers, endpoint=template)
