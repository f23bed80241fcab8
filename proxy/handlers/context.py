"""What every handler needs from a request: services, the caller, credentials, JSON bodies."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from proxy.appkeys import SERVICES
from proxy.budgets import Throttled
from proxy.calcom.errors import Unauthorized, error_response
from proxy.credentials import call_id_secret, checked_call_id, credential_of
from proxy.forwarding import credentials
from proxy.identity import CALL_ID_HEADER, Caller, caller_of
from proxy.services import Services

R = TypeVar("R", bound=web.StreamResponse)


def services(request: web.Request) -> Services:
    """The app's services."""
    return request.app[SERVICES]


def caller(request: web.Request, *, read_only: bool = False) -> Caller:
    """Tenant and hold owner of this request (read-only requests need no fresh anonymous owner).

    Where the deployment signs call ids, a signed X-Call-Id must verify (401 otherwise) and the owner is
    the id it signs; a slot read with an unproven call id is answered as an anonymous read.
    """
    svc = services(request)
    raw = (request.headers.get(CALL_ID_HEADER) or "").strip()
    call_id = None
    if raw:
        settings = svc.settings
        configured = {k: v.get_secret_value() for k, v in settings.call_id_secrets.items()}
        secret = call_id_secret(configured, credential_of(request.headers))
        try:
            call_id = checked_call_id(raw, secret, required=settings.require_signed_call_id)
        except Unauthorized:
            if not read_only:
                raise
            call_id = ""  # a read with an unproven call id sees what any anonymous reader sees
    return caller_of(request.headers, svc.tenant_secret, read_only=read_only, call_id=call_id)


async def holding_caller(request: web.Request) -> Caller:
    """The caller of a hold-creating request: rate-limited, with a credential Cal.com accepted.

    Cal.com's order: the throttler first (429), then authentication (401); body validation comes after.
    """
    svc = services(request)
    who = caller_of(request.headers, svc.tenant_secret, read_only=True)
    await svc.rates.hit(who.tenant, request.remote or "unknown")
    await svc.verifier.require(request.headers)
    return caller(request)


async def verified_caller(request: web.Request) -> Caller:
    """The caller of a booking commit: a credential Cal.com accepted (no quote-rate budget)."""
    await services(request).verifier.require(request.headers)
    return caller(request)


def answers_throttled(
    handler: Callable[[web.Request], Awaitable[R]],
) -> Callable[[web.Request], Awaitable[R | web.Response]]:
    """Render a budget refusal as Cal.com's 429 plus `Retry-After` (Cal.com's own guard sends none)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> R | web.Response:
        try:
            return await handler(request)
        except Throttled as refusal:
            response = error_response(refusal, request.path_qs)
            response.headers["Retry-After"] = str(refusal.retry_after_s)
            return response

    return wrapped


def creds(request: web.Request) -> dict[str, str]:
    """The caller's Cal.com credentials, forwarded on upstream calls made for it."""
    return credentials(request.headers)
