"""holds: interval slot holds on Redis, one atomic script per operation.

Framework-free: this package imports neither aiohttp nor the proxy.
"""

from __future__ import annotations

from holds.errors import (
    HoldCommitting,
    HoldConflict,
    HoldError,
    HoldNotFound,
    HoldNotOwned,
    HoldStoreUnavailable,
    InvalidHold,
    InvalidPolicy,
    StaleFence,
)
from holds.models import DEFAULT_POLICY, CommitTicket, Hold, HoldState, TtlPolicy
from holds.policy import PolicyStore
from holds.store import HoldStore

__all__ = [
    "DEFAULT_POLICY",
    "CommitTicket",
    "Hold",
    "HoldCommitting",
    "HoldConflict",
    "HoldError",
    "HoldNotFound",
    "HoldNotOwned",
    "HoldState",
    "HoldStore",
    "HoldStoreUnavailable",
    "InvalidHold",
    "InvalidPolicy",
    "PolicyStore",
    "StaleFence",
    "TtlPolicy",
]
