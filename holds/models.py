"""Value objects of the hold engine: Hold, HoldState, CommitTicket, TtlPolicy; pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from holds.errors import InvalidPolicy
from holds.logic import clamp_ttl


class HoldState(StrEnum):
    """Lifecycle state of a hold; BOOKED is the short-lived marker left by a finished commit."""

    HELD = "held"
    COMMITTING = "committing"
    BOOKED = "booked"


@dataclass(frozen=True)
class Hold:
    """A live hold (or booked marker) on [start_ms, end_ms) of a resource."""

    uid: str
    resource: str
    owner: str
    start_ms: int
    end_ms: int
    expires_at_ms: int
    state: HoldState
    created_ms: int
    fence: int  # 0 until begin_commit


@dataclass(frozen=True)
class CommitTicket:
    """Proof that the owner moved its hold to committing; finish or abort it with this fence."""

    hold: Hold
    fence: int


@dataclass(frozen=True)
class TtlPolicy:
    """How long holds live: a default, per-resource overrides, and bounds applied to every acquire/extend."""

    default_ms: int
    min_ms: int
    max_ms: int
    overrides: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_ms <= 0 or self.min_ms > self.max_ms:
            raise InvalidPolicy(f"need 0 < min_ms <= max_ms, got min={self.min_ms} max={self.max_ms}")
        if self.default_ms <= 0 or any(ms <= 0 for ms in self.overrides.values()):
            raise InvalidPolicy("default and override TTLs must be positive")
        # Frozen means frozen: a caller mutating its dict afterwards must not change the policy.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def ttl_for(self, resource: str, requested_ms: int | None) -> int:
        """The TTL to apply: the requested one, else the resource override, else the default; clamped."""
        if requested_ms is not None:
            ttl = requested_ms
        else:
            ttl = self.overrides.get(resource, self.default_ms)
        return clamp_ttl(ttl, self.min_ms, self.max_ms)


DEFAULT_POLICY = TtlPolicy(default_ms=120_000, min_ms=5_000, max_ms=1_800_000)
"""Used when a HoldStore gets no policy: 2 min default (voice confirm gaps reach 60 s), 5 s to 30 min."""
