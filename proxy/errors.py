"""The proxy's refusals, all Cal.com-shaped (they extend proxy.calcom.errors), and the one mapping of
hold-engine errors to HTTP.

    CalcomError                       (proxy.calcom.errors: the envelope, status, code)
    ├── BadRequest
    │   └── NotASlot                  start is not one of the event type's slots (400)
    ├── Conflict
    │   ├── SlotReserved              another caller holds an overlapping slot (409)
    │   ├── SlotTaken                 the slot is booked (409)
    │   ├── BookingMismatch           Cal.com booked something else; it was cancelled (409)
    │   └── IdempotencyInFlight       the same Idempotency-Key is still being processed (409)
    ├── Unprocessable
    │   └── IdempotencyKeyReused      same key, different body (422)
    ├── UpstreamRefusal           Cal.com's own 4xx, status/code/message unchanged, plus alternatives
    ├── UpstreamUnavailable           Cal.com unreachable or 5xx, outcome unknown (502)
    ├── UpstreamTimeout               Cal.com did not answer in time, outcome unknown (504)
    └── StoreUnavailable              Redis is down: fail closed (503)

Every refusal of a booking carries `error.details.alternatives`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from redis.exceptions import RedisClusterException, RedisError

from holds import HoldError, HoldStoreUnavailable, InvalidHold
from proxy.calcom.errors import (
    BadRequest,
    BareHttpError,
    CalcomError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    error_timestamp,
)

if TYPE_CHECKING:
    from proxy.upstream import UpstreamResponse

NEST_CODES = {
    cls.status: cls.code
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, TooManyRequests)
}


def _with_alternatives(
    alternatives: Sequence[str] | None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    details: dict[str, Any] = dict(extra or {})
    if alternatives is not None:
        details["alternatives"] = list(alternatives)
    return details


class NotASlot(BadRequest):
    """The requested start is not an element of the event type's slots (Cal.com does not check this)."""

    def __init__(self, message: str, alternatives: Sequence[str]) -> None:
        super().__init__(message, extra_details=_with_alternatives(alternatives, {"reason": "not_a_slot"}))


class SlotReserved(Conflict):
    """Another caller holds an overlapping slot; says when it frees up, never who holds it."""

    def __init__(self, message: str, alternatives: Sequence[str], seconds_until_release: int) -> None:
        extra = {"reason": "held", "secondsUntilRelease": seconds_until_release}
        super().__init__(message, extra_details=_with_alternatives(alternatives, extra))


class SlotTaken(Conflict):
    """The slot is booked (or outside the bookable window)."""

    def __init__(self, message: str, alternatives: Sequence[str], reason: str = "booked") -> None:
        super().__init__(message, extra_details=_with_alternatives(alternatives, {"reason": reason}))


class BookingMismatch(Conflict):
    """Cal.com created a booking that differs from the request; it was cancelled upstream."""

    def __init__(self, message: str, alternatives: Sequence[str], compensated: bool) -> None:
        extra = {"reason": "mismatch", "compensated": compensated}
        super().__init__(message, extra_details=_with_alternatives(alternatives, extra))


class IdempotencyInFlight(Conflict):
    """A retry arrived while the first request with this Idempotency-Key is still running."""


class IdempotencyKeyReused(Unprocessable):
    """The Idempotency-Key was first used with a different request body."""


class _ServerSideError(CalcomError):
    """A 5xx in Nest's envelope (Nest's BadGateway/ServiceUnavailable/GatewayTimeout exceptions).

    Built without a message, it says only what a caller can act on; which upstream call failed, the
    upstream's host and port and the transport's exception go to the log line, never into the body.
    """

    reason_phrase: ClassVar[str] = "Error"
    default_message: ClassVar[str] = "Service unavailable, please retry shortly."

    def __init__(self, message: str | None = None, *, extra_details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.default_message, extra_details=extra_details)

    def details(self) -> Any:
        """Nest's getResponse() with this status's reason phrase."""
        return {
            "message": self.message,
            "error": self.reason_phrase,
            "statusCode": self.status,
            **self.extra_details,
        }


class UpstreamUnavailable(_ServerSideError):
    """Cal.com could not be reached or failed; any booking outcome is unknown."""

    status = 502
    code = "BadGatewayException"
    reason_phrase = "Bad Gateway"
    default_message = "Cal.com could not be reached or failed to answer, please retry shortly."


class UpstreamTimeout(_ServerSideError):
    """Cal.com did not answer within the timeout; any booking outcome is unknown."""

    status = 504
    code = "GatewayTimeoutException"
    reason_phrase = "Gateway Timeout"
    default_message = "Cal.com did not answer in time, please retry shortly."


class StoreUnavailable(_ServerSideError):
    """Redis is unreachable; the proxy fails closed rather than offer slots it cannot protect."""

    status = 503
    code = "ServiceUnavailableException"
    reason_phrase = "Service Unavailable"


class UpstreamRefusal(BareHttpError):
    """Cal.com refused: its status, code and message pass through unchanged, with our details added."""

    def __init__(self, status: int, code: str, message: str, details: Any, extra: dict[str, Any]) -> None:
        super().__init__(status, message)
        self.upstream_code = code
        self.upstream_details = details
        self.extra_details = dict(extra)

    @classmethod
    def from_response(cls, response: UpstreamResponse, extra: dict[str, Any]) -> UpstreamRefusal:
        """Read either Cal.com error shape (envelope, or bare statusCode/message)."""
        body = response.json()
        code = NEST_CODES.get(response.status, "HttpException")
        details: Any = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code", code))
            details = error.get("details")
        message = response.error_message() or response.content.decode("utf-8", "replace")[:500]
        return cls(response.status, code, message, details, extra)

    def details(self) -> Any:
        """Cal.com's details with ours merged in (a string detail is kept under "message")."""
        base = self.upstream_details
        if isinstance(base, dict):
            return {**base, **self.extra_details}
        if base is None:
            return {"message": self.message, "statusCode": self.bare_status, **self.extra_details}
        return {"message": base, "statusCode": self.bare_status, **self.extra_details}

    def body(self, path: str) -> dict[str, Any]:
        """Always the envelope, so the refusal can carry error.details.alternatives."""
        return {
            "status": "error",
            "timestamp": error_timestamp(),
            "path": path,
            "error": {"code": self.upstream_code, "message": self.message, "details": self.details()},
        }


INVALID_HOLD_MESSAGE = "The requested slot cannot be held: check the start time and the length."
HOLD_CONFLICT_MESSAGE = "The reservation changed meanwhile (released, expired or being booked). Please retry."


def from_internal_error(exc: HoldError | RedisError | RedisClusterException) -> CalcomError:
    """The one mapping of hold-engine and Redis errors that escape a handler to an HTTP error."""
    if isinstance(exc, HoldStoreUnavailable | RedisError | RedisClusterException):
        return StoreUnavailable("Hold store unavailable, please retry shortly.")
    # Fixed texts: the engine's messages name resources, uids and epoch milliseconds, none of them the
    # caller's business (and requests are validated first, so reaching these is a bug worth a log line).
    if isinstance(exc, InvalidHold):
        return BadRequest(INVALID_HOLD_MESSAGE)
    return Conflict(HOLD_CONFLICT_MESSAGE)
