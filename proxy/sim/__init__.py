"""An in-process Cal.com API v2 simulator: the test upstream and the embedded default of `calproxy serve`."""

from __future__ import annotations

from proxy.sim.app import create_sim_app
from proxy.sim.config import SimConfig
from proxy.sim.faults import FaultRates
from proxy.sim.runner import RunningSim, run_sim

__all__ = ["FaultRates", "RunningSim", "SimConfig", "create_sim_app", "run_sim"]
