"""CalcomClient: every call calproxy makes to Cal.com, over one httpx.AsyncClient with timeouts."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx

from proxy.errors import UpstreamTimeout, UpstreamUnavailable

logger = logging.getLogger(__name__)

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


class CalcomClient:
    """One method per upstream call; httpx errors become UpstreamTimeout / UpstreamUnavailable."""

    def __init__(self, client: httpx.AsyncClient, *, api_key: str | None = None) -> None:
        self._client = client
        self._own_credentials = {"Authorization": f"Bearer {api_key}"} if api_key else {}

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
    ) -> UpstreamResponse:
        """Send one request; the only place that talks to httpx."""
        try:
            query = httpx.QueryParams(cast(Any, params)) if params is not None else None
            response = await self._client.request(
                method, path, params=query, headers=headers, content=content, json=json_body
            )
        except httpx.TimeoutException as exc:
            logger.warning("event=upstream_timeout method=%s path=%s", method, path)
            raise UpstreamTimeout(f"{method} {path}") from exc
        except httpx.HTTPError as exc:
            logger.warning(
                "event=upstream_unavailable method=%s path=%s error=%s", method, path, type(exc).__name__
            )
            raise UpstreamUnavailable(f"{method} {path}") from exc
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
        return await self.request("GET", "/v2/slots", params=params, headers=headers)

    async def create_booking(self, body: dict[str, Any], credentials: Mapping[str, str]) -> UpstreamResponse:
        """POST /v2/bookings with the 2024-08-13 body."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **credentials}
        return await self.request("POST", "/v2/bookings", headers=headers, json_body=body)

    async def reschedule_booking(
        self, uid: str, body: dict[str, Any], credentials: Mapping[str, str]
    ) -> UpstreamResponse:
        """POST /v2/bookings/{uid}/reschedule."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **credentials}
        return await self.request("POST", f"/v2/bookings/{uid}/reschedule", headers=headers, json_body=body)

    async def cancel_booking(self, uid: str, reason: str, credentials: Mapping[str, str]) -> UpstreamResponse:
        """POST /v2/bookings/{uid}/cancel (compensation uses the proxy's own key when it has one)."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **(self._own_credentials or credentials)}
        body = {"cancellationReason": reason}
        return await self.request("POST", f"/v2/bookings/{uid}/cancel", headers=headers, json_body=body)

    async def get_booking(self, uid: str, credentials: Mapping[str, str]) -> UpstreamResponse:
        """GET /v2/bookings/{uid}."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **(self._own_credentials or credentials)}
        return await self.request("GET", f"/v2/bookings/{uid}", headers=headers)

    async def list_bookings(
        self, params: Mapping[str, str], credentials: Mapping[str, str] | None = None
    ) -> UpstreamResponse:
        """GET /v2/bookings with filters; needs credentials (the proxy's own, or the caller's)."""
        headers = {VERSION_HEADER: BOOKINGS_VERSION, **(self._own_credentials or credentials or {})}
        return await self.request("GET", "/v2/bookings", params=params, headers=headers)
