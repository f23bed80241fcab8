"""Typed application state: the only AppKeys of the proxy app."""

from __future__ import annotations

from aiohttp import web

from proxy.services import Services
from proxy.settings import Settings

SETTINGS = web.AppKey("SETTINGS", Settings)
SERVICES = web.AppKey("SERVICES", Services)
