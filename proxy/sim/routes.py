"""The simulator's route table: the Cal.com v2 surface it speaks, and the /_sim control endpoints."""

from __future__ import annotations

from aiohttp import web

from proxy.sim import bookings_handlers as bookings
from proxy.sim import catalog_handlers as catalog
from proxy.sim import control_handlers as control
from proxy.sim import reservations_handlers as reservations
from proxy.sim import slots_handlers as slots


def add_routes(app: web.Application) -> None:
    """Register every route."""
    app.router.add_routes(
        [
            web.get("/v2/slots", slots.get_slots, allow_head=False),
            web.get("/v2/slots/available", slots.get_available, allow_head=False),
            web.post("/v2/slots/reservations", reservations.create_reservation),
            web.get("/v2/slots/reservations/{uid}", reservations.get_reservation, allow_head=False),
            web.patch("/v2/slots/reservations/{uid}", reservations.update_reservation),
            web.delete("/v2/slots/reservations/{uid}", reservations.delete_reservation),
            web.post("/v2/slots/reserve", reservations.legacy_reserve),
            web.delete("/v2/slots/selected-slot", reservations.legacy_delete),
            web.delete("/v2/slots/delete", reservations.legacy_delete),
            web.post("/v2/bookings", bookings.create_booking),
            web.get("/v2/bookings", bookings.list_bookings, allow_head=False),
            web.get("/v2/bookings/{uid}", bookings.get_booking, allow_head=False),
            web.post("/v2/bookings/{uid}/cancel", bookings.cancel_booking),
            web.post("/v2/bookings/{uid}/reschedule", bookings.reschedule_booking),
            web.get("/v2/event-types", catalog.list_event_types, allow_head=False),
            web.get("/v2/event-types/{id}", catalog.get_event_type, allow_head=False),
            web.get("/v2/me", catalog.get_me, allow_head=False),
            web.get("/_sim/bookings", control.list_truth, allow_head=False),
            web.post("/_sim/bookings", control.outside_booking),
            web.get("/_sim/faults", control.get_faults, allow_head=False),
            web.post("/_sim/faults", control.set_faults),
            web.post("/_sim/reset", control.reset),
            web.get("/_sim/stats", control.stats, allow_head=False),
        ]
    )
