"""calproxy's OpenAPI document (proxy/openapi/) covers every operation calproxy answers itself."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from proxy.openapi import document_bytes
from proxy.routes import setup_routes

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / ".." / "shared" / "calcom" / "openapi-v2.json"
# Served but not part of the JSON API: the forwarded rest of Cal.com, the people's status page, Prometheus.
UNDOCUMENTED_PREFIXES = ("/calproxy/v1/admin/page", "/calproxy/v1/admin/login", "/calproxy/v1/admin/logout")
UNDOCUMENTED = {
    ("GET", "/calproxy/v1/admin"),
    ("GET", "/calproxy/v1/admin/"),
    ("GET", "/calproxy/v1/admin/page.css"),
    ("GET", "/metrics"),
}


def _template(path: str) -> str:
    """`/v2/bookings/{uid}/cancel` and `/v2/bookings/{bookingUid}/cancel` name the same route."""
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


def served_operations() -> set[tuple[str, str]]:
    app = web.Application()
    setup_routes(app)
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("HEAD", "*") or "{tail" in path:
            continue
        if (route.method, path) in UNDOCUMENTED or path.startswith(UNDOCUMENTED_PREFIXES):
            continue
        found.add((route.method, _template(path)))
    return found


def documented_operations() -> set[tuple[str, str]]:
    document = json.loads(document_bytes())
    return {(method.upper(), _template(path)) for path, ops in document["paths"].items() for method in ops}


def test_every_operation_calproxy_answers_is_documented_and_nothing_else() -> None:
    assert served_operations() == documented_operations()


def test_every_documented_error_has_calcoms_envelope() -> None:
    document = json.loads(document_bytes())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/readyz":
                    assert response["$ref"].startswith("#/components/responses/Error"), (method, path, status)
