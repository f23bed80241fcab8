"""class-validator style error messages, formatted as Cal.com's pipes format them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from proxy.calcom.errors import BadRequest, ValidationFailed


@dataclass(frozen=True)
class FieldError:
    """One class-validator ValidationError: a property, its failed constraints and nested errors."""

    property: str
    constraints: tuple[str, ...] = ()
    children: tuple[FieldError, ...] = field(default_factory=tuple)
    # class-validator's constraint keys, one per message (empty: read from the message's wording).
    names: tuple[str, ...] = ()


def format_errors(errors: Iterable[FieldError]) -> str:
    """Cal.com's formatErrors: `${property} property is wrong,${constraints} ${children}` joined by ", "."""
    parts = []
    for error in errors:
        children = format_errors(error.children) if error.children else ""
        parts.append(f"{error.property} property is wrong,{', '.join(error.constraints)} {children}")
    return ", ".join(parts)


def unknown_properties(value: Mapping[str, Any], allowed: Iterable[str]) -> list[FieldError]:
    """forbidNonWhitelisted: one error per property not declared on the DTO, in input order."""
    known = set(allowed)
    return [FieldError(key, (f"property {key} should not exist",)) for key in value if key not in known]


def raise_if_errors(errors: list[FieldError]) -> None:
    """Raise Cal.com's 400 if class-validator found anything."""
    if errors:
        raise BadRequest(format_errors(errors))


def is_int(value: object) -> bool:
    """class-validator IsInt: a JS number with no fraction (bool is not a number in JS)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


# Number.MAX_VALUE has 309 integer digits; parseInt of a longer run of digits is Infinity.
_JS_MAX_DIGITS = 309


def parse_int_param(value: str) -> int | None:
    """JS parseInt(value, 10) as Cal.com's query transforms use it; None for NaN."""
    text = value.strip()
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    digits = ""
    for char in text:
        if not char.isdigit() or not char.isascii():
            break
        digits += char
    if len(digits) > _JS_MAX_DIGITS:
        # parseInt gives Infinity, which @IsNumber refuses; Python's int() would refuse 4300+ digits anyway.
        return None
    return sign * int(digits) if digits else None


# ---- Cal.com's global ValidationPipe (bootstrap.ts:58-70) --------------------------------------------
# whitelist:true without forbidNonWhitelisted strips unknown keys; validationError {target,value} keeps the
# validated object and value in each error; exceptionFactory wraps the raw class-validator errors as
# BadRequestException({errors}). Used by DTOs that have no pipe of their own (reservations, GET /v2/bookings,
# the legacy slots endpoints); CreateBookingInputPipe and friends keep formatErrors above.

# class-validator constraint names, keyed by the default message's wording (bounds.py words its refusals
# as class-validator does, so its FieldErrors carry no names of their own).
_CONSTRAINT_NAMES: tuple[tuple[str, str], ...] = (
    ("must be an integer number", "isInt"),
    ("must be a valid ISO 8601 date string", "isDateString"),
    ("must be a number conforming to the specified constraints", "isNumber"),
    ("must not be less than", "min"),
    ("must not be greater than", "max"),
    ("minimal allowed date for", "minDate"),
    ("maximal allowed date for", "maxDate"),
    ("must be a string", "isString"),
    ("must be a boolean value", "isBoolean"),
    ("must be one of the following values", "isEnum"),
)


def constraint_name(message: str) -> str:
    """The class-validator constraint key for one of its default messages."""
    return next((name for text, name in _CONSTRAINT_NAMES if text in message), "customValidation")


def stripped(data: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """whitelist:true: the declared properties only, in the caller's order (others are dropped silently)."""
    known = set(allowed)
    return {key: value for key, value in data.items() if key in known}


def js_json(value: Any) -> Any:
    """A transformed value as JSON.stringify writes it: NaN and Infinity become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _js_number_json(value)
    if isinstance(value, list):
        return [js_json(item) for item in value]
    if isinstance(value, dict):
        return {key: js_json(item) for key, item in value.items()}
    return value


def _js_number_json(value: float) -> float:
    """A JSON number as JSON.parse then JSON.stringify leave it: a double, integral ones without ".0"."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        # JS prints the shortest round-tripping digits padded with zeros: 2**63 is 9223372036854776000.
        return int(Decimal(repr(number)))
    return number


def validation_error(error: FieldError, target: Mapping[str, Any]) -> dict[str, Any]:
    """One class-validator ValidationError as JSON, keys in the order ValidationExecutor assigns them."""
    output: dict[str, Any] = {"target": js_json(dict(target))}
    if error.property in target:
        # JSON.stringify drops `value` when it is undefined (a missing property).
        output["value"] = js_json(target[error.property])
    output["property"] = error.property
    nested = target.get(error.property)
    child_target = nested if isinstance(nested, Mapping) else {}
    output["children"] = [validation_error(child, child_target) for child in error.children]
    if error.constraints or not error.children:
        # stripEmptyErrors deletes an empty constraints object only when children carry the errors.
        names = error.names or tuple(constraint_name(message) for message in error.constraints)
        output["constraints"] = dict(zip(names, error.constraints, strict=True))
    return output


def raise_if_pipe_errors(errors: list[FieldError], target: Mapping[str, Any]) -> None:
    """The global ValidationPipe's 400: message "Bad Request Exception", details {errors:[...]}."""
    if errors:
        raise ValidationFailed([validation_error(error, target) for error in errors])


# validator.js isISO8601 (class-validator IsISO8601 / IsDateString); JS `\d` is ASCII only.
_ISO8601 = re.compile(
    r"^([\+-]?\d{4}(?!\d{2}\b))((-?)((0[1-9]|1[0-2])(\3([12]\d|0[1-9]|3[01]))?|W([0-4]\d|5[0-3])(-?[1-7])?"
    r"|(00[1-9]|0[1-9]\d|[12]\d{2}|3([0-5]\d|6[1-6])))([T\s]((([01]\d|2[0-3])((:?)[0-5]\d)?|24:?00)"
    r"([\.,]\d+(?!:))?)?(\17[0-5]\d([\.,]\d+)?)?([zZ]|([\+-])([01]\d|2[0-3]):?([0-5]\d)?)?)?)?$",
    re.ASCII,
)
_ORDINAL = re.compile(r"^(\d{4})-?(\d{3})([ T]{1}\.*|$)", re.ASCII)
_CALENDAR = re.compile(r"(\d{4})-?(\d{0,2})-?(\d*)", re.ASCII)


def _is_leap(year: int) -> bool:
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0


def _valid_calendar_date(text: str) -> bool:
    """validator.js isValidDate: ordinal days within the year, month/day that survive new Date()."""
    ordinal = _ORDINAL.match(text)
    if ordinal:
        return int(ordinal[2]) <= (366 if _is_leap(int(ordinal[1])) else 365)
    found = _CALENDAR.search(text)
    if found is None:
        return False
    year, month, day = (int(part) if part else 0 for part in found.groups())
    if not (month and day):
        return True
    two_digit_day = int(f"0{day}"[-2:])
    try:
        date(year, month, two_digit_day)
    except ValueError:
        return False  # V8 rolls 02-31 over to March, so the month no longer matches
    return two_digit_day == day


def is_iso8601(value: object, *, strict: bool) -> bool:
    """class-validator IsISO8601(value, {strict}): validator.js's regex, and with strict a real date."""
    if not isinstance(value, str) or not _ISO8601.match(value):
        return False
    return _valid_calendar_date(value) if strict else True


_JS_INFINITIES = {"Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}


def js_number(text: str) -> float:
    """JavaScript Number(string) as class-transformer's @Type(() => Number) applies it; NaN when not one."""
    stripped_text = text.strip()
    if not stripped_text:
        return 0
    lowered = stripped_text.lower()
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if lowered.startswith(prefix):
            try:
                return int(stripped_text[2:], base)
            except ValueError:
                return math.nan
    if lowered.lstrip("+-") in ("inf", "infinity", "nan") or "_" in stripped_text:
        # Python reads these; Number() reads only "Infinity", spelled exactly.
        return _JS_INFINITIES.get(stripped_text, math.nan)
    try:
        number = float(stripped_text)
    except ValueError:
        return math.nan
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def js_parse_int(text: str) -> float:
    """JavaScript parseInt(string): the leading integer, NaN when there is none."""
    found = parse_int_param(text)
    return math.nan if found is None else found
