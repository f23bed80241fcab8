"""The route table: one screen that shows the Cal.com surface calproxy serves itself."""

from __future__ import annotations

from aiohttp import web

from proxy.handlers import admin, admin_page, bookings, openapi, ops, passthrough, quote, reservations, slots


def setup_routes(app: web.Application) -> None:
    """Register every route; anything else under /v1 and /v2 is forwarded to Cal.com unchanged."""
    r = app.router
    r.add_get("/v2/slots", slots.get_slots)
    r.add_get("/v2/slots/available", slots.get_available)
    r.add_post("/v2/slots/reservations", reservations.create)
    r.add_get("/v2/slots/reservations/{uid}", reservations.get)
    r.add_patch("/v2/slots/reservations/{uid}", reservations.update)
    r.add_delete("/v2/slots/reservations/{uid}", reservations.delete)
    r.add_post("/v2/slots/reserve", reservations.legacy_reserve)
    r.add_delete("/v2/slots/selected-slot", reservations.legacy_delete)
    r.add_delete("/v2/slots/delete", reservations.legacy_delete)
    r.add_post("/v2/bookings", bookings.create)
    r.add_post("/v2/bookings/{uid}/reschedule", bookings.reschedule)
    r.add_post("/v2/bookings/{uid}/cancel", bookings.cancel)

    r.add_post("/calproxy/v1/quote", quote.quote)
    r.add_get("/calproxy/v1/openapi.json", openapi.document)
    r.add_get("/calproxy/v1/admin/ttl-policy", admin.get_policy)
    r.add_put("/calproxy/v1/admin/ttl-policy", admin.put_policy)
    r.add_get("/calproxy/v1/admin/holds", admin.list_holds)
    r.add_delete("/calproxy/v1/admin/holds/{reservation_uid}", admin.release_reservation)
    r.add_delete("/calproxy/v1/admin/holds/{resource}/{uid}", admin.release_hold)
    r.add_get("/calproxy/v1/admin/stats", admin.stats)
    r.add_post("/calproxy/v1/admin/reconcile", admin.reconcile)

    # The status page for people (session cookie + CSRF; the JSON API above keeps its Bearer token).
    r.add_get("/calproxy/v1/admin", admin_page.to_page)
    r.add_get("/calproxy/v1/admin/", admin_page.status)
    r.add_get("/calproxy/v1/admin/page.css", admin_page.css)
    r.add_get("/calproxy/v1/admin/login", admin_page.login_form)
    r.add_post("/calproxy/v1/admin/login", admin_page.login)
    r.add_post("/calproxy/v1/admin/logout", admin_page.logout)
    r.add_post("/calproxy/v1/admin/page/release", admin_page.release)
    r.add_post("/calproxy/v1/admin/page/ttl-policy", admin_page.save_policy)
    r.add_post("/calproxy/v1/admin/page/reconcile", admin_page.reconcile)

    r.add_get("/metrics", ops.metrics)
    r.add_get("/healthz", ops.healthz)
    r.add_get("/readyz", ops.readyz)

    r.add_route("*", "/v2/{tail:.*}", passthrough.forward)
    r.add_route("*", "/v1/{tail:.*}", passthrough.forward)
