"""The check of Cal.com's answer (CONTRACT §5.5): pure functions over the created booking's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxy.calcom.timefmt import parse_instant

ACCEPTABLE_STATUSES = frozenset({"accepted", "pending"})
COMMIT_TAG = "calproxyCommit"
# Cal.com's no_available_users_found_error texts (errors.service.ts:36-43), which cover a start outside
# working hours as well as a busy host. "Attempting to book a meeting in the past." and the out-of-bounds
# (minimum notice) text are about the start itself, not about someone holding the slot.
SLOT_TAKEN_PREFIXES = (
    "User either already has booking at this time",
    "One of the hosts either already has booking at this time",
)


@dataclass(frozen=True)
class Expected:
    """What the caller asked for."""

    event_type_id: int
    start_ms: int
    end_ms: int


def instant_ms(value: object) -> int | None:
    """Epoch ms of a Cal.com time string, or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    try:
        return int(parse_instant(value).timestamp() * 1000)
    except ValueError:
        return None


def _event_type_of(booking: dict[str, Any]) -> object:
    event_type = booking.get("eventType")
    if isinstance(event_type, dict) and "id" in event_type:
        return event_type["id"]
    return booking.get("eventTypeId")


def mismatches(booking: object, expected: Expected) -> list[str]:
    """Every way the created booking differs from the request; empty means verified."""
    if not isinstance(booking, dict):
        return ["the answer is not a single booking"]
    problems = []
    start = instant_ms(booking.get("start"))
    end = instant_ms(booking.get("end"))
    if start != expected.start_ms:
        problems.append(f"start is {booking.get('start')!r}")
    if end != expected.end_ms:
        problems.append(f"end is {booking.get('end')!r}")
    if _event_type_of(booking) != expected.event_type_id:
        problems.append(f"event type is {_event_type_of(booking)!r}")
    if booking.get("status") not in ACCEPTABLE_STATUSES:
        problems.append(f"status is {booking.get('status')!r}")
    if not isinstance(booking.get("uid"), str):
        problems.append("it has no uid")
    return problems


def booking_uids(data: object) -> list[str]:
    """The uids in a create answer (one booking, or a list for recurring event types)."""
    items = data if isinstance(data, list) else [data]
    return [item["uid"] for item in items if isinstance(item, dict) and isinstance(item.get("uid"), str)]


def is_slot_taken(status: int, message: str) -> bool:
    """Cal.com's "slot taken" 400 can only be told from a validation 400 by its message text."""
    return status == 400 and message.startswith(SLOT_TAKEN_PREFIXES)


def tagged(booking: object, commit_id: str) -> bool:
    """Whether a booking carries this commit's metadata tag."""
    if not isinstance(booking, dict):
        return False
    metadata = booking.get("metadata")
    return isinstance(metadata, dict) and metadata.get(COMMIT_TAG) == commit_id
