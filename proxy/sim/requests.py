"""Request helpers: credentials and version checks, the way Cal.com's guards see them."""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web

from proxy.calcom.errors import Forbidden, NotFound, Unauthorized
from proxy.calcom.versions import request_version
from proxy.sim.appkeys import STATE
from proxy.sim.state import SimState

NO_AUTH = (
    "ApiAuthStrategy - No authentication method provided. Either pass an API key as 'Bearer' header or "
    "OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
)
INVALID_KEY = "CustomThrottlerGuard - Invalid API Key"
INVALID_BEARER = "ApiAuthStrategy - Invalid Bearer token"
INVALID_CLIENT_SECRET = "ApiAuthStrategy - oAuth client - Invalid client secret"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API key's user (None without credentials) and the rate-limit tracker."""

    user_id: int | None
    tracker: str
    # Platform credentials Cal.com's ApiAuthStrategy refuses: 401 on every route that authenticates.
    auth_error: str | None = None


# Set by the guard middleware for the request being handled (a ContextVar: the handler runs in its task).
CURRENT_CALLER: ContextVar[Caller | None] = ContextVar("sim_caller", default=None)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def identify(request: web.Request, state: SimState) -> Caller:
    """Resolve credentials like CustomThrottlerGuard + ApiAuthStrategy; unknown keys get 401."""
    client_id = request.headers.get("x-cal-client-id", "").strip()
    client_secret = request.headers.get("x-cal-secret-key", "").strip()
    if client_id and client_secret:
        # ApiAuthStrategy tries OAuth client credentials before a Bearer token (api-auth.strategy.ts).
        tracker = f"oauth_client_{_sha(client_id)}"
        client = state.seed.oauth_clients.get(client_id)
        if client is None:
            return Caller(
                None, tracker, f"ApiAuthStrategy - oAuth client - Client with ID {client_id} not found"
            )
        if client.secret != client_secret:
            return Caller(None, tracker, INVALID_CLIENT_SECRET)
        return Caller(user_id=client.user_id, tracker=tracker)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[len("Bearer ") :].strip()
        if token.startswith("cal_"):
            user_id = state.seed.user_for_key(token)
            if user_id is None:
                # The throttler guard runs first and looks the key up for its custom limits.
                raise Unauthorized(INVALID_KEY)
            return Caller(user_id=user_id, tracker=f"api_key_{_sha(token)}")
        raise Unauthorized(INVALID_BEARER)
    client_ip = request.headers.get("cf-connecting-ip") or request.remote or "unknown"
    return Caller(user_id=None, tracker=f"ip_{_sha(client_ip)}")


def caller(request: web.Request) -> Caller:
    """The Caller the guard middleware attached to this request."""
    found = CURRENT_CALLER.get()
    if found is not None:
        return found
    return identify(request, request.app[STATE])


# The bookings controller's class guard, before any route's own (bookings.controller.ts:89,
# permissions.guard.ts:48-50): a route with @Permissions and neither a bearer token nor a client id is 403.
NO_PERMISSIONS_AUTH = (
    "PermissionsGuard - no authentication provided. Provide either authorization bearer token containing "
    "managed user access token or oAuth client id in 'x-cal-client-id' header."
)


def require_permissions_credentials(request: web.Request) -> None:
    """PermissionsGuard's first check (golden booking-list/no-key): something that names a caller at all."""
    bearer = request.headers.get("Authorization", "").replace("Bearer ", "", 1)
    if not bearer and not request.headers.get("x-cal-client-id"):
        raise Forbidden(NO_PERMISSIONS_AUTH)


def require_user(request: web.Request) -> int:
    """The authenticated user id, or Cal.com's 401 when no credentials were sent."""
    user_id = caller(request).user_id
    if user_id is None:
        raise Unauthorized(NO_AUTH)
    return user_id


def require_version(request: web.Request, allowed: frozenset[str]) -> str:
    """The resolved cal-api-version; a route with no handler for it answers Nest's 404."""
    version = request_version(request.headers)
    if version not in allowed:
        raise NotFound(f"Cannot {request.method} {request.path_qs}")
    return version
