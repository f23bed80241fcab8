"""Typed aiohttp application keys of the simulator."""

from __future__ import annotations

from aiohttp import web

from proxy.sim.state import SimState

STATE = web.AppKey("sim_state", SimState)
