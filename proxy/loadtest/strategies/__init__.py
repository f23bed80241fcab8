"""The three caller strategies: the original flow, the incident reports' fix, and calproxy."""

from __future__ import annotations

from proxy.loadtest.strategies.base import CallerFlow, Endpoints
from proxy.loadtest.strategies.direct import NaiveFlow, RecheckFlow
from proxy.loadtest.strategies.proxied import ProxyFlow

FLOWS: dict[str, type[CallerFlow]] = {
    "direct-naive": NaiveFlow,
    "direct-recheck": RecheckFlow,
    "proxy": ProxyFlow,
}

__all__ = ["FLOWS", "CallerFlow", "Endpoints"]
