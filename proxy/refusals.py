"""The Cal.com-shaped refusals of a commit, each with the nearest free alternatives (CONTRACT §5.7)."""

from __future__ import annotations

from holds import HoldConflict
from proxy.availability import View
from proxy.calcom.errors import CalcomError
from proxy.calcom.timefmt import format_ms
from proxy.errors import NotASlot, SlotReserved, SlotTaken
from proxy.slotmath import Reason, nearest


def alternatives(view: View, start_ms: int, zone: str | None, count: int) -> list[str]:
    """The nearest free, unheld starts, Cal.com-formatted in the attendee's zone."""
    return [format_ms(s, zone) for s in nearest(view.free(), start_ms, count, exclude=[start_ms])]


def seconds_until(until_ms: int, now_ms: int) -> int:
    """Whole seconds (rounded up) until an instant."""
    return max(0, -(-(until_ms - now_ms) // 1000))


def held(view: View, start_ms: int, zone: str, count: int, until_ms: int) -> SlotReserved:
    """Another caller holds an overlapping slot: when it frees up, never who holds it."""
    seconds = seconds_until(until_ms, view.now_ms)
    return SlotReserved(
        f"This time slot is reserved by another caller. It will be freed up in {seconds} seconds "
        f"(at {format_ms(until_ms, zone)}) unless they book it.",
        alternatives(view, start_ms, zone, count),
        seconds,
    )


def from_conflict(view: View, start_ms: int, zone: str, count: int, conflict: HoldConflict) -> CalcomError:
    """The refusal for a hold we could not take."""
    if conflict.booked:
        return SlotTaken(
            "This time slot has just been booked. Please choose a different time.",
            alternatives(view, start_ms, zone, count),
        )
    return held(view, start_ms, zone, count, conflict.expires_at_ms)


def from_reason(view: View, start_ms: int, zone: str, count: int, reason: Reason | None) -> CalcomError:
    """The refusal for a start that is not a free slot, worded by why."""
    options = alternatives(view, start_ms, zone, count)
    when = format_ms(start_ms, zone)
    if reason is Reason.NOT_A_SLOT:
        return NotASlot(f"{when} is not one of this event type's slots.", options)
    if reason is Reason.OUTSIDE_WINDOW:
        return SlotTaken(f"{when} is outside the bookable window.", options, "outside_window")
    return SlotTaken(f"{when} is no longer available.", options)
