"""The global ValidationPipe's pieces: ValidationError JSON, the 400 envelope, IsISO8601 and Number()."""

from __future__ import annotations

import math

import pytest

from proxy.calcom.errors import ValidationFailed
from proxy.calcom.reservations import parse_reserve_slot
from proxy.calcom.validation import FieldError, is_iso8601, js_number, validation_error


def test_global_pipe_error_envelope() -> None:
    """bootstrap.ts:58-70: BadRequestException({errors}) -> message "Bad Request Exception", details
    {errors} only (Nest's createBody keeps an object response as is; http-exception.filter.ts:31-36)."""
    body = ValidationFailed([{"property": "x"}]).body("/v2/slots/reservations")
    assert body["error"] == {
        "code": "BadRequestException",
        "message": "Bad Request Exception",
        "details": {"errors": [{"property": "x"}]},
    }


def test_global_pipe_validation_error_shape() -> None:
    """class-validator ValidationExecutor assigns target, value, property, children, constraints in that
    order; stripEmptyErrors drops an empty constraints object when children carry the errors."""
    child = FieldError("name", ("name must be a string",))
    error = validation_error(FieldError("attendee", (), (child,)), {"attendee": {"name": 1}})
    assert list(error) == ["target", "value", "property", "children"]
    assert error["children"][0] == {
        "target": {"name": 1},
        "value": 1,
        "property": "name",
        "children": [],
        "constraints": {"isString": "name must be a string"},
    }


def test_global_pipe_strips_unknown_keys_from_reservation_bodies() -> None:
    """reserve-slot.input.ts has four properties; whitelist drops the rest instead of refusing them."""
    parsed = parse_reserve_slot({"eventTypeId": 1, "slotStart": "2050-09-05T07:00:00Z", "z": 0})
    assert parsed.event_type_id == 1
    with pytest.raises(ValidationFailed) as info:
        parse_reserve_slot({"slotStart": "2050-09-05T07:00:00Z", "z": 0})
    assert info.value.errors[0]["target"] == {"slotStart": "2050-09-05T07:00:00Z"}


@pytest.mark.parametrize(
    ("text", "strict", "ok"),
    [
        ("2030-09-01T10:00:00Z", True, True),
        ("2030-09-01", True, True),
        ("2030-02-30", False, True),
        ("2030-02-30", True, False),
        ("2028-02-29T00:00:00+01:00", True, True),
        ("2030-366", True, False),
        ("2028-366", True, True),
        ("2030-W10-2", True, True),
        ("2030-09-01 10:00", True, True),
        ("nope", False, False),
        ("20300901", True, True),
    ],
)
def test_is_iso8601_as_validator_js(text: str, strict: bool, ok: bool) -> None:
    """validator.js isISO8601 (class-validator IsISO8601, get-bookings.input.ts:159-217 uses strict)."""
    assert is_iso8601(text, strict=strict) is ok


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" 7 ", 7), ("", 0), ("1.5", 1.5), ("0x10", 16), ("1e3", 1000), ("Infinity", math.inf)],
)
def test_js_number(text: str, value: float) -> None:
    """class-transformer @Type(() => Number) is Number(value) (get-bookings.input.ts:116-157)."""
    assert js_number(text) == value


def test_js_number_nan() -> None:
    assert all(math.isnan(js_number(t)) for t in ("abc", "inf", "1_0", "12px"))
