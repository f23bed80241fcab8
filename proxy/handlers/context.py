"""What every handler needs from a request: services, the caller, credentials, JSON bodies."""

from __future__ import annotations

from aiohttp import web

from proxy.appkeys import SERVICES
from proxy.forwarding import credentials
from proxy.identity import Caller, caller_of
from proxy.services import Services


def services(request: web.Request) -> Services:
    """The app's services."""
    return request.app[SERVICES]


def caller(request: web.Request, *, read_only: bool = False) -> Caller:
    """Tenant and hold owner of this request (read-only requests need no fresh anonymous owner)."""
    return caller_of(request.headers, services(request).tenant_secret, read_only=read_only)


def creds(request: web.Request) -> dict[str, str]:
    """The caller's Cal.com credentials, forwarded on upstream calls made for it."""
    return credentials(request.headers)
