"""Fault injection: which fault, if any, a booking request suffers."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, Literal

Fault = Literal["error", "timeout", "shift"]
FAULT_ORDER: tuple[Fault, ...] = ("error", "timeout", "shift")


@dataclass(frozen=True)
class FaultRates:
    """Probabilities (0..1) of each fault on a booking commit; 1.0 always fires, 0.0 never does."""

    shift: float = 0.0
    error: float = 0.0
    timeout: float = 0.0

    def __post_init__(self) -> None:
        for name in FAULT_ORDER:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name} must be within 0..1, got {value}")

    def as_dict(self) -> dict[str, float]:
        """The rates as a JSON object."""
        return {"shift": self.shift, "error": self.error, "timeout": self.timeout}


def parse_fault_spec(spec: str) -> FaultRates:
    """Parse the CLI form `shift=R,error=R,timeout=R` (any subset); ValueError if malformed."""
    rates: dict[str, float] = {}
    for part in filter(None, (item.strip() for item in spec.split(","))):
        name, sep, value = part.partition("=")
        if not sep or name not in FAULT_ORDER:
            raise ValueError(f"bad fault {part!r}; expected shift=R, error=R or timeout=R")
        rates[name] = float(value)
    return replace(FaultRates(), **rates)


def choose_fault(rates: FaultRates, rng: random.Random) -> Fault | None:
    """Draw at most one fault: error first, then timeout, then shift (one draw per kind, in that order)."""
    for name in FAULT_ORDER:
        rate: float = getattr(rates, name)
        # random() is in [0, 1), so a rate of 1.0 always fires and 0.0 never does.
        if rng.random() < rate:
            return name
    return None


def rates_from_json(current: FaultRates, body: dict[str, Any]) -> FaultRates:
    """Apply the rate keys of a /_sim/faults body to `current`; ValueError on bad values."""
    changes: dict[str, float] = {}
    for name in FAULT_ORDER:
        if name in body:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number within 0..1")
            changes[name] = float(value)
    return replace(current, **changes)
