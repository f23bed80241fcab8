"""class-validator style error messages, formatted as Cal.com's pipes format them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.calcom.errors import BadRequest


@dataclass(frozen=True)
class FieldError:
    """One class-validator ValidationError: a property, its failed constraints and nested errors."""

    property: str
    constraints: tuple[str, ...] = ()
    children: tuple[FieldError, ...] = field(default_factory=tuple)


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
