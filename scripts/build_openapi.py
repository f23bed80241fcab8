"""Builds calproxy's own OpenAPI document, served at GET /calproxy/v1/openapi.json.

    python3 scripts/build_openapi.py            # rewrite proxy/openapi/calproxy-openapi.json
    python3 scripts/build_openapi.py --check    # exit 1 when the committed document differs

What it holds:
- The Cal.com API v2 operations calproxy answers itself (not the ones it forwards unchanged), copied from
  Cal.com's own OpenAPI v2 document (as of 2025-09-26, read from ../shared/calcom/openapi-v2.json) with every
  component schema they refer to. The copy is unchanged except for the corrections in PATCHES below, each
  with its reason; they are also listed in the document's `info.x-calproxy-changes`.
- Hand-written operations: the legacy 2024-04-15 slot endpoints (absent from Cal.com's current document),
  the native quote, the admin JSON API, /healthz and /readyz.
- Every 4xx (and the 5xx a dependency outage causes) in Cal.com's error envelope, which Cal.com's document
  leaves out.

The document is what tests/proxy/test_fuzz.py fuzzes with schemathesis: a response that does not match it is
a failure, so change the document (here) together with the behaviour, then rerun this script.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import generated_json

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / ".." / "shared" / "calcom" / "openapi-v2.json"
TARGET = ROOT / "proxy" / "openapi" / "calproxy-openapi.json"
SOURCE_DATE = "2025-09-26"
PREFIX = generated_json.PREFIX
ADMIN = "/calproxy/v1/admin"

Json = dict[str, Any]

# (path, method) in Cal.com's document -> the statuses calproxy answers besides Cal.com's documented success.
CALCOM_OPERATIONS: dict[tuple[str, str], tuple[int, ...]] = {
    # Other cal-api-versions, slug queries and ranges outside Cal.com's window go to Cal.com: its refusals.
    ("/v2/slots", "get"): (400, 401, 403, 404, 429, 502, 503, 504),
    ("/v2/slots/reservations", "post"): (400, 401, 404, 409, 413, 422, 429, 502, 503, 504),
    ("/v2/slots/reservations/{uid}", "get"): (400, 404, 503),
    ("/v2/slots/reservations/{uid}", "patch"): (400, 401, 404, 409, 413, 422, 429, 502, 503, 504),
    ("/v2/slots/reservations/{uid}", "delete"): (400, 404, 503),
    ("/v2/bookings", "post"): (400, 401, 403, 404, 409, 413, 422, 429, 502, 503, 504),
    ("/v2/bookings/{bookingUid}/reschedule", "post"): (400, 401, 403, 404, 409, 413, 422, 429, 502, 503, 504),
    ("/v2/bookings/{bookingUid}/cancel", "post"): (400, 401, 403, 404, 409, 413, 422, 429, 502, 503, 504),
}

# The cal-api-version each copied operation is served for (Cal.com: "Must be set to ...").
VERSIONS = {
    "/v2/slots": ["2024-09-04"],
    "/v2/slots/reservations": ["2024-09-04"],
    "/v2/slots/reservations/{uid}": ["2024-09-04"],
    "/v2/bookings": ["2024-08-13", "2026-02-25"],
    "/v2/bookings/{bookingUid}/reschedule": ["2024-08-13", "2026-02-25"],
    "/v2/bookings/{bookingUid}/cancel": ["2024-08-13", "2026-02-25"],
}
LEGACY_VERSIONS = ["2024-04-15", "2024-06-11", "2024-06-14", "2024-08-13"]

STATUS_TEXT = {
    400: "Invalid request (Cal.com's texts in `error.message`; for bodies and queries under Cal.com's global "
    "ValidationPipe, `Bad Request Exception` with class-validator's errors in `error.details.errors`), or a "
    "refusal such as not_a_slot.",
    401: "No credential, or one Cal.com does not accept.",
    403: "Forbidden (Cal.com's refusal, or the admin API disabled).",
    404: "Not found (Cal.com's wording: unknown event type, booking or route).",
    409: "The slot is held by another caller or booked; `error.details` carries the reason and alternatives.",
    413: "Body larger than the limit (Nest's bare shape).",
    422: "Unprocessable (reservation rules, or an Idempotency-Key reused with another body).",
    429: "Rate limit or hold budget exceeded; `Retry-After` says when to try again.",
    502: "Cal.com unreachable or answered 5xx; the outcome is unknown.",
    503: "Redis unavailable (calproxy fails closed) or the ledger write failed.",
    504: "Cal.com did not answer in time; the outcome is unknown.",
}

# ----------------------------------------------------------------------------------- hand-written schemas

ERROR_SCHEMAS: Json = {
    "CalcomErrorEnvelope": {
        "type": "object",
        "description": "Cal.com's error envelope (NestJS exception filter); every calproxy refusal has it.",
        "required": ["status", "timestamp", "path", "error"],
        "properties": {
            "status": {"type": "string", "enum": ["error"]},
            "timestamp": {"type": "string", "example": "2026-12-04T14:00:00.000Z"},
            "path": {"type": "string", "example": "/v2/bookings"},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "BadRequestException"},
                    "message": {"type": "string"},
                    "details": {
                        "description": "Nest's getResponse(): an object (message, error, statusCode and "
                        "calproxy's reason/alternatives) or, for 429, the message string."
                    },
                },
            },
        },
    },
    "CalcomBareError": {
        "type": "object",
        "description": "Nest's fallback shape (for example 413, or Cal.com's own bare 409).",
        "required": ["statusCode", "message"],
        "properties": {"statusCode": {"type": "integer"}, "message": {}},
    },
}


def error_response(status: int) -> Json:
    schema = {"anyOf": [{"$ref": PREFIX + "CalcomErrorEnvelope"}, {"$ref": PREFIX + "CalcomBareError"}]}
    return {"description": STATUS_TEXT[status], "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> Json:
    return {str(s): {"$ref": f"#/components/responses/Error{s}"} for s in statuses}


def success(schema: Json, description: str = "") -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def envelope(data: Json, *, required: bool = True) -> Json:
    return {
        "type": "object",
        "required": ["status", "data"] if required else ["status"],
        "properties": {"status": {"type": "string", "enum": ["success"]}, "data": data},
    }


STATUS_ONLY: Json = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["success"]}},
}

NULLABLE_STRING: Json = {"type": "string", "nullable": True}
COMMIT_IDS: Json = {"type": "array", "items": {"type": "string"}}

OWN_SCHEMAS: Json = {
    # GET /v2/slots/reservations/{uid}: Cal.com's GetReservedSlotOutput_2024_09_04 refers to itself as `data`.
    "CalproxyReservedSlot": {
        "type": "object",
        "required": [
            "eventTypeId",
            "slotStart",
            "slotEnd",
            "slotDuration",
            "reservationUid",
            "reservationUntil",
        ],
        "properties": {
            "eventTypeId": {"type": "number"},
            "slotStart": {"type": "string"},
            "slotEnd": {"type": "string"},
            "slotDuration": {"type": "number"},
            "reservationUid": {"type": "string"},
            "reservationUntil": {"type": "string"},
        },
    },
    "CalproxySlotsData": {
        "type": "object",
        "description": "Slots by date in the caller's zone: ISO strings, or {start, end} with format=range "
        "(seated slots add attendeesCount and bookingUid).",
        "additionalProperties": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["start"],
                        "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
                    },
                ]
            },
        },
    },
    "CalproxyLegacySlotsData": {
        "type": "object",
        "required": ["slots"],
        "properties": {
            "slots": {
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "time": {"type": "string"},
                            "startTime": {"type": "string"},
                            "endTime": {"type": "string"},
                        },
                    },
                },
            }
        },
    },
    "CalproxyQuoteInput": {
        "type": "object",
        "required": ["eventTypeId", "start", "timeZone"],
        "additionalProperties": False,
        "properties": {
            "eventTypeId": {"type": "integer", "minimum": 1, "example": 1001},
            "start": {
                "type": "string",
                "example": "2027-01-25T13:00:00Z",
                "description": "The instant asked for (ISO 8601); only an exact slot start is available.",
            },
            "timeZone": {
                "type": "string",
                "example": "Europe/Berlin",
                "description": "IANA zone of the answer",
            },
            "lengthInMinutes": {"type": "integer", "minimum": 1},
            "alternatives": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
            "holdAlternatives": {"type": "boolean", "default": False},
        },
    },
    "CalproxyQuoteOutput": envelope(
        {
            "type": "object",
            "required": ["available", "reason", "slot", "reservationUid", "reservationUntil", "alternatives"],
            "properties": {
                "available": {"type": "boolean"},
                "reason": {
                    "type": "string",
                    "nullable": True,
                    "enum": ["booked", "held", "not_a_slot", "outside_window", None],
                },
                "slot": {
                    "type": "object",
                    "nullable": True,
                    "required": ["start", "end"],
                    "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
                },
                "reservationUid": NULLABLE_STRING,
                "reservationUntil": NULLABLE_STRING,
                "alternatives": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["start", "end"],
                        "properties": {
                            "start": {"type": "string"},
                            "end": {"type": "string"},
                            "reservationUid": {"type": "string"},
                            "reservationUntil": {"type": "string"},
                        },
                    },
                },
            },
        }
    ),
    "CalproxyTtlPolicy": {
        "type": "object",
        "required": ["defaultSeconds", "minSeconds", "maxSeconds", "overrides"],
        "properties": {
            "defaultSeconds": {"type": "number"},
            "minSeconds": {"type": "number"},
            "maxSeconds": {"type": "number"},
            "overrides": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    },
    "CalproxyTtlPolicyInput": {
        "type": "object",
        "description": "Fields left out keep their value; an override of null removes it.",
        "properties": {
            "defaultSeconds": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 86400},
            "minSeconds": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 86400},
            "maxSeconds": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 86400},
            "overrides": {
                "type": "object",
                "additionalProperties": {"type": "number", "nullable": True},
                "example": {"grp:host-1": 90},
            },
        },
    },
    "CalproxyHoldView": {
        "type": "object",
        "required": ["uid", "resource", "state", "start", "end", "expiresAt", "remainingSeconds"],
        "properties": {
            "reservationUid": NULLABLE_STRING,
            "uid": {"type": "string"},
            "resource": {"type": "string"},
            "eventTypeId": {"type": "integer", "nullable": True},
            "state": {"type": "string"},
            "start": {"type": "string"},
            "end": {"type": "string"},
            "expiresAt": {"type": "string"},
            "timeZone": {"type": "string"},
            "timeZoneSource": {"type": "string"},
            "startLocal": {"type": "string"},
            "endLocal": {"type": "string"},
            "expiresAtLocal": {"type": "string"},
            "remainingSeconds": {"type": "number"},
            "owner": {"type": "string"},
        },
    },
    "CalproxyReconcileReport": {
        "type": "object",
        "required": ["consistencyRatio", "confirmed", "present", "missing", "mismatched", "unresolved"],
        "properties": {
            "consistencyRatio": {"type": "number"},
            "confirmed": {"type": "integer"},
            "present": {"type": "integer"},
            "missing": COMMIT_IDS,
            "mismatched": COMMIT_IDS,
            "ghostsCancelled": COMMIT_IDS,
            "closedWithoutBooking": COMMIT_IDS,
            "unresolved": COMMIT_IDS,
        },
    },
    "CalproxyStats": {
        "type": "object",
        "required": ["quoteToCommitMs", "recommendedTtlSeconds", "advisor", "thisProcess"],
        "properties": {
            "quoteToCommitMs": {"type": "object"},
            "recommendedTtlSeconds": {"type": "number", "nullable": True},
            "advisor": {"type": "object"},
            "thisProcess": {"type": "object"},
        },
    },
    "CalproxyReadiness": {
        "type": "object",
        "required": ["status", "redis", "upstream"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "redis": {"type": "string", "enum": ["up", "down"]},
            "upstream": {"type": "string", "enum": ["up", "down"]},
        },
    },
}


def ref(name: str) -> Json:
    return {"$ref": PREFIX + name}


def header(name: str, description: str, *, schema: Json | None = None, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def version_header(versions: list[str], *, required: bool) -> Json:
    text = "One of " + ", ".join(versions) + "; other versions are not served by this operation."
    return header("cal-api-version", text, schema={"type": "string", "enum": versions}, required=required)


CALL_ID = header(
    "X-Call-Id",
    "calproxy: the conversation the hold belongs to (one caller = one tenant + call id). Not a secret "
    "unless the deployment signs it (CALPROXY_CALL_ID_SECRETS).",
)
IDEMPOTENCY = header("Idempotency-Key", "calproxy: replays the first answer for the same key and body.")
REFRESH = header(
    "X-Calproxy-Refresh",
    "calproxy: `1` extends the caller's own reservation in place (Cal.com answers 422 to a PATCH over the "
    "reservation's own unexpired time, and so does calproxy without this header).",
)
AUTHORIZATION = header(
    "Authorization",
    "`Bearer <token>` where `<token>` is an api key prefixed with cal_ or a managed user access token; "
    "calproxy verifies it with Cal.com before it creates a hold.",
)


def query_param(
    name: str, schema: Json | None = None, *, required: bool = False, example: Any = None
) -> Json:
    param = {"name": name, "in": "query", "required": required, "schema": schema or {"type": "string"}}
    return param if example is None else {**param, "example": example}


def uid_param(name: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


LEGACY_TAG = "Slots (legacy 2024-04-15)"


def legacy_operations() -> Json:
    version = version_header(LEGACY_VERSIONS, required=False)
    legacy_uid = query_param("uid")
    delete = {
        "summary": "Release a legacy reservation (uid from the query or the `uid` cookie); always 200",
        "tags": [LEGACY_TAG],
        "parameters": [version, legacy_uid],
        "responses": {"200": success(STATUS_ONLY), **errors(400, 404, 503)},
    }
    query = [
        query_param("startTime", required=True, example="2027-01-25"),
        query_param("endTime", required=True, example="2027-01-26"),
        query_param("eventTypeId", {"type": "integer"}, example=1001),
        query_param("eventTypeSlug"),
        query_param("timeZone"),
        query_param("duration", {"type": "integer"}),
        query_param("slotFormat", {"type": "string", "enum": ["time", "range"]}),
        query_param("rescheduleUid"),
    ]
    reserve_body = {
        "type": "object",
        "required": ["eventTypeId", "slotUtcStartDate", "slotUtcEndDate"],
        "properties": {
            "eventTypeId": {"type": "integer", "example": 1001},
            "slotUtcStartDate": {"type": "string", "example": "2027-01-25T13:00:00Z"},
            "slotUtcEndDate": {"type": "string", "example": "2027-01-25T13:30:00Z"},
            "bookingUid": {"type": "string"},
        },
    }
    return {
        "/v2/slots/available": {
            "get": {
                "operationId": "calproxy_legacyAvailableSlots",
                "summary": "Available slots in the 2024-04-15 shape (data.slots[date][].time)",
                "tags": [LEGACY_TAG],
                "parameters": [version, *query],
                "responses": {
                    "200": success(envelope(ref("CalproxyLegacySlotsData"))),
                    **errors(400, 401, 403, 404, 429, 502, 503, 504),
                },
            }
        },
        "/v2/slots/reserve": {
            "post": {
                "operationId": "calproxy_legacyReserveSlot",
                "summary": "Reserve a slot for 5 minutes; data is the reservation uid (also cookie `uid`)",
                "tags": [LEGACY_TAG],
                "parameters": [version, AUTHORIZATION, CALL_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": reserve_body}}},
                "responses": {
                    "201": success(envelope({"type": "string"})),
                    **errors(400, 401, 404, 409, 413, 422, 429, 502, 503, 504),
                },
            }
        },
        "/v2/slots/selected-slot": {"delete": {**delete, "operationId": "calproxy_legacyDeleteSelectedSlot"}},
        "/v2/slots/delete": {"delete": {**delete, "operationId": "calproxy_legacyDeleteSlot"}},
    }


def native_operations() -> Json:
    admin_security: list[Json] = [{"adminToken": []}]

    def admin_op(op_id: str, summary: str, data: Json | None, *statuses: int, **extra: Any) -> Json:
        body = STATUS_ONLY if data is None else envelope(data)
        return {
            "operationId": op_id,
            "summary": summary,
            "tags": ["calproxy admin"],
            "security": admin_security,
            "responses": {"200": success(body), **errors(401, 403, *statuses, 503)},
            **extra,
        }

    return {
        "/calproxy/v1/quote": {
            "post": {
                "operationId": "calproxy_quote",
                "summary": "Exact-instant availability: held on success, else reason and alternatives",
                "tags": ["calproxy"],
                "parameters": [AUTHORIZATION, CALL_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("CalproxyQuoteInput")}},
                },
                "responses": {
                    "200": success(ref("CalproxyQuoteOutput")),
                    **errors(400, 401, 403, 404, 413, 429, 502, 503, 504),
                },
            }
        },
        "/calproxy/v1/openapi.json": {
            "get": {
                "operationId": "calproxy_openapi",
                "summary": "This document",
                "tags": ["calproxy"],
                "responses": {"200": success({"type": "object", "required": ["openapi", "info", "paths"]})},
            }
        },
        f"{ADMIN}/ttl-policy": {
            "get": admin_op("calproxy_admin_getTtlPolicy", "The TTL policy", ref("CalproxyTtlPolicy")),
            "put": admin_op(
                "calproxy_admin_putTtlPolicy",
                "Change the TTL policy, validated whole and applied atomically",
                ref("CalproxyTtlPolicy"),
                400,
                409,
                413,
                502,
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": ref("CalproxyTtlPolicyInput")}},
                },
            ),
        },
        f"{ADMIN}/holds": {
            "get": admin_op(
                "calproxy_admin_listHolds",
                "Live holds and booked markers",
                {"type": "array", "items": ref("CalproxyHoldView")},
                400,
                parameters=[query_param("resource")],
            )
        },
        f"{ADMIN}/holds/{{reservationUid}}": {
            "delete": admin_op(
                "calproxy_admin_releaseReservation",
                "Force-release the hold behind a reservationUid",
                None,
                400,
                404,
                parameters=[uid_param("reservationUid")],
            )
        },
        f"{ADMIN}/holds/{{resource}}/{{uid}}": {
            "delete": admin_op(
                "calproxy_admin_releaseHold",
                "Force-release one hold by resource and internal uid",
                None,
                400,
                404,
                parameters=[uid_param("resource"), uid_param("uid")],
            )
        },
        f"{ADMIN}/stats": {
            "get": admin_op(
                "calproxy_admin_stats", "Quote-to-commit times, TTL advisor", ref("CalproxyStats")
            )
        },
        f"{ADMIN}/reconcile": {
            "post": admin_op(
                "calproxy_admin_reconcile",
                "Run reconciliation now",
                ref("CalproxyReconcileReport"),
                502,
                504,
            )
        },
        "/healthz": {
            "get": {
                "operationId": "calproxy_healthz",
                "summary": "Liveness",
                "tags": ["operations"],
                "responses": {"200": success({"type": "object", "required": ["status"]})},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "calproxy_readyz",
                "summary": "Readiness of Redis and Cal.com (503 names the one that does not answer)",
                "tags": ["operations"],
                "responses": {
                    "200": success(ref("CalproxyReadiness")),
                    "503": success(ref("CalproxyReadiness"), "Redis or Cal.com does not answer"),
                },
            }
        },
    }


# ---------------------------------------------------------------------------------- the Cal.com copy


# The corrections `patch` makes to Cal.com's copy, listed in the document's info.x-calproxy-changes.
CHANGES = [
    "cal-api-version: an enum of the versions calproxy serves the operation for (Cal.com: any string).",
    "GET /v2/slots 200: the {status, data} envelope around Cal.com's date map (Cal.com's schema describes "
    "the map as the whole body); query parameters typed (Cal.com: empty schemas).",
    "GET /v2/slots/reservations/{uid} 200: data is the reservation or null (Cal.com's schema refers to "
    "itself).",
    "DELETE /v2/slots/reservations/{uid} 200: {status: success}.",
    "Hold-creating operations document calproxy's X-Call-Id; POST /v2/bookings its Idempotency-Key.",
    "Every operation documents the 4xx/5xx it answers, in Cal.com's error envelope.",
]

SLOTS_QUERY_TYPES: Json = {
    "start": {"type": "string"},
    "end": {"type": "string"},
    "eventTypeId": {"type": "integer"},
    "duration": {"type": "integer"},
    "format": {"type": "string", "enum": ["time", "range"]},
}


def patch(path: str, method: str, operation: Json) -> Json:
    op = copy.deepcopy(operation)
    params = []
    for param in op.get("parameters", []):
        if param["in"] == "header" and param["name"] == "cal-api-version":
            param = version_header(VERSIONS[path], required=True)
        elif param["in"] == "query" and param.get("schema") == {}:
            param = {**param, "schema": SLOTS_QUERY_TYPES.get(param["name"], {"type": "string"})}
        params.append(param)
    if method in ("post", "patch") and not path.endswith("/cancel"):
        params.append(CALL_ID)
    if path == "/v2/bookings":
        params.append(IDEMPOTENCY)
    if path == "/v2/slots/reservations/{uid}" and method == "patch":
        params.append(REFRESH)
    op["parameters"] = params
    responses = op["responses"]
    if path == "/v2/slots":
        data = ref("CalproxySlotsData")
        responses["200"]["content"]["application/json"]["schema"] = envelope(data)
    if path == "/v2/slots/reservations/{uid}" and method == "get":
        data = {"nullable": True, "allOf": [ref("CalproxyReservedSlot")]}
        responses["200"]["content"]["application/json"]["schema"] = envelope(data)
    if path == "/v2/slots/reservations/{uid}" and method == "delete":
        responses["200"]["content"]["application/json"]["schema"] = STATUS_ONLY
    responses.update(errors(*CALCOM_OPERATIONS[(path, method)]))
    return op


def build(spec: Json, built_on: str) -> Json:
    paths: Json = {}
    for path, method in CALCOM_OPERATIONS:
        paths.setdefault(path, {})[method] = patch(path, method, spec["paths"][path][method])
    paths.update(legacy_operations())
    paths.update(native_operations())
    own = {**ERROR_SCHEMAS, **OWN_SCHEMAS}
    copied = generated_json.closure(spec["components"]["schemas"], generated_json.refs(paths) - set(own))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "calproxy",
            "version": "1",
            "description": (
                "The operations calproxy answers itself: Cal.com API v2 (slots, reservations, bookings) with "
                "holds on quoted slots and verified bookings, plus calproxy's native quote and admin API. "
                "Every other path under /v1/ and /v2/ is forwarded to Cal.com unchanged; not described here."
            ),
            "x-calproxy-source": "Cal.com's OpenAPI v2 document (../shared/calcom/openapi-v2.json)",
            "x-calproxy-source-date": SOURCE_DATE,
            "x-calproxy-built": built_on,
            "x-calproxy-built-by": "scripts/build_openapi.py",
            "x-calproxy-changes": CHANGES,
        },
        "paths": paths,
        "components": {
            "schemas": {**copied, **own},
            "responses": {f"Error{s}": error_response(s) for s in sorted(STATUS_TEXT)},
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "CALPROXY_ADMIN_TOKEN (the admin API is disabled without one: 403).",
                }
            },
        },
    }


def main(argv: list[str] | None = None) -> int:
    return generated_json.main(__doc__, SOURCE, TARGET, build, "x-calproxy-built", argv)


if __name__ == "__main__":
    sys.exit(main())
