"""The status page for people at /calproxy/v1/admin/: log in with the admin token, look, change, release.

Server-rendered (`proxy.admin_render`), working without JavaScript. A session is a signed HttpOnly,
SameSite=Strict cookie (`proxy.adminsession`); every POST but the login carries the session's CSRF token,
or is refused with Cal.com's 403. The cookie authorizes the page only: the JSON API still wants the
Bearer token, so no cross-site request can ever reach it with a browser's ambient credentials.
Every action goes through `proxy.admin_views`, the same code as the JSON API (which writes the audit lines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiDictProxy
from redis.exceptions import RedisError

from holds import HoldError
from proxy import adminsession
from proxy.admin_forms import BOUNDS, PolicyForm, form_of_policy, policy_body
from proxy.admin_render import advisor_svg, render
from proxy.admin_views import change_policy, hold_views, policy_json, release_by_reservation_uid
from proxy.adminsession import COOKIE_NAME, COOKIE_PATH, CSRF_FIELD, LIFETIME_S, Session
from proxy.calcom.errors import CalcomError, Forbidden, status_of
from proxy.handlers.context import services
from proxy.logs import audit, get_logger
from proxy.services import Services

log = get_logger(__name__)
T = TypeVar("T")
Form = MultiDictProxy[Any]

BASE = COOKIE_PATH
PAGE = f"{BASE}/"
LOGIN = f"{BASE}/login"
# The page loads nothing but its own stylesheet and posts only to itself; nobody may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Outcomes of actions, shown after the redirect; fixed texts, so nothing from the URL is ever reflected.
FLASHES = {
    "released": "Hold released.",
    "gone": "That hold is no longer live (released, expired or booked meanwhile).",
    "policy": "TTL policy saved; every process uses it now.",
    "reconciled": "Reconciliation finished; its report is below.",
}
FINDINGS = (
    ("missing", "confirmed but missing in Cal.com"),
    ("mismatched", "confirmed but different in Cal.com"),
    ("ghostsCancelled", "ghost bookings cancelled"),
    ("closedWithoutBooking", "open commits closed, no booking"),
    ("unresolved", "unresolved (Cal.com unreachable)"),
)
# A page stays quick to render and read; the JSON API lists every hold.
HOLDS_SHOWN = 500
# What a section may fail with without failing the page: the store, the hold engine, Cal.com.
SECTION_ERRORS = (RedisError, HoldError, OSError, CalcomError)


@dataclass(frozen=True)
class Section:
    """One part of the page: its data, or why it is missing."""

    value: Any = None
    error: str | None = None


# ------------------------------------------------------------------------------------------ responses


def html(body: str, status: int = 200) -> web.Response:
    """An HTML page with the page's security headers."""
    return web.Response(text=body, status=status, content_type="text/html", headers=SECURITY_HEADERS)


def see_other(location: str) -> web.Response:
    """303 to a page of ours (returned, not raised, so the access line records it)."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def came_over_https(request: web.Request) -> bool:
    """TLS here or at the proxy in front (a forged header only makes the cookie stricter)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def set_session_cookie(response: web.Response, request: web.Request, value: str) -> None:
    """The session cookie: script-proof, same-site only, scoped to the page, HTTPS-only when served so."""
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=LIFETIME_S,
        path=COOKIE_PATH,
        secure=came_over_https(request),
        httponly=True,
        samesite="Strict",
    )


def clear_session_cookie(response: web.Response, request: web.Request) -> None:
    """Remove the session cookie from the browser."""
    response.del_cookie(
        COOKIE_NAME, path=COOKIE_PATH, secure=came_over_https(request), httponly=True, samesite="Strict"
    )


# -------------------------------------------------------------------------------------------- sessions


def signing_key(svc: Services) -> bytes | None:
    """The session key, or None when the admin token (and so the page) is not configured."""
    token = svc.settings.admin_token
    return None if token is None else adminsession.session_key(token.get_secret_value())


def current_session(request: web.Request, key: bytes) -> Session | None:
    """The request's valid session, if any."""
    return adminsession.verify(key, request.cookies.get(COOKIE_NAME), services(request).clock())


def disabled_page() -> web.Response:
    """What the page says when no admin token is set."""
    message = "The status page is disabled: set CALPROXY_ADMIN_TOKEN."
    return html(render("login.html", base=BASE, enabled=False, error=message, lifetime_hours=0), 403)


def login_page(error: str | None = None, status: int = 200) -> web.Response:
    """The login form."""
    context = {"base": BASE, "enabled": True, "error": error, "lifetime_hours": LIFETIME_S // 3600}
    return html(render("login.html", **context), status)


async def authorized_form(request: web.Request) -> tuple[bytes, Session, Form]:
    """Key, session and fields of a state-changing POST; Forbidden without a session or its CSRF token."""
    key = signing_key(services(request))
    if key is None:
        raise Forbidden("Admin endpoints are disabled: set CALPROXY_ADMIN_TOKEN.")
    session = current_session(request, key)
    if session is None:
        raise Forbidden(f"Not logged in, or the session expired: log in again at {LOGIN}")
    fields = await request.post()
    if not adminsession.csrf_ok(key, session, text(fields, CSRF_FIELD)):
        log.warning("admin_page_csrf_refused", route=request.path)
        raise Forbidden("Missing or invalid CSRF token: reload the status page and try again.")
    return key, session, fields


# ---------------------------------------------------------------------------------------------- pages


async def status(request: web.Request) -> web.Response:
    """GET /calproxy/v1/admin/: the page, or a redirect to the login form."""
    key = signing_key(services(request))
    if key is None:
        return disabled_page()
    session = current_session(request, key)
    if session is None:
        return see_other(LOGIN)
    return await status_response(request, key, session, flash=FLASHES.get(request.query.get("done", "")))


async def status_response(
    request: web.Request,
    key: bytes,
    session: Session,
    *,
    flash: str | None = None,
    error: str | None = None,
    form: PolicyForm | None = None,
    status: int = 200,
) -> web.Response:
    """The page with everything it shows; `form` keeps a refused submission's values in the policy form."""
    svc = services(request)
    policy = await section(_policy(svc))
    shown = form or (form_of_policy(policy.value) if policy.value is not None else PolicyForm({}))
    holds, advisor, reconciliation, activity = await asyncio.gather(
        section(hold_views(svc)),
        section(_advisor(svc)),
        section(svc.reconciler.last_report()),
        section(svc.activity.last_hour()),
    )
    context = {
        "base": BASE,
        "csrf": adminsession.csrf_token(key, session),
        "generated_at": datetime.fromtimestamp(svc.clock(), UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "flash": flash,
        "error": error,
        "holds": Section(holds.value[:HOLDS_SHOWN], holds.error) if holds.value else holds,
        "holds_total": len(holds.value or []),
        "policy": policy,
        "form": shown.context(),
        "advisor": advisor,
        "chart": advisor_svg(advisor.value) if advisor.value is not None else "",
        "reconciliation": reconciliation,
        "findings": FINDINGS,
        "activity": activity,
        "mirror_on": svc.mirror.enabled,
    }
    return html(render("status.html", **context), status)


async def section(load: Awaitable[T]) -> Section:
    """Await one part of the page; a store or upstream failure empties that part only."""
    try:
        return Section(await load)
    except SECTION_ERRORS as exc:
        log.warning("admin_page_section_failed", error=type(exc).__name__)
        return Section(error=exc.message if isinstance(exc, CalcomError) else type(exc).__name__)


async def _policy(svc: Services) -> dict[str, Any]:
    return policy_json(await svc.policy.load())


async def _advisor(svc: Services) -> dict[str, Any]:
    advice = await svc.stats.advisor(await svc.policy.load())
    return advice.as_dict()


@cache
def stylesheet() -> str:
    """The page's CSS (read once)."""
    return files("proxy").joinpath("admin_page/page.css").read_text(encoding="utf-8")


async def css(_request: web.Request) -> web.Response:
    """GET /calproxy/v1/admin/page.css."""
    return web.Response(text=stylesheet(), content_type="text/css", headers={"Cache-Control": "max-age=300"})


async def to_page(_request: web.Request) -> web.Response:
    """GET /calproxy/v1/admin: the page lives at the path with the slash (the cookie's path covers both)."""
    return see_other(PAGE)


# --------------------------------------------------------------------------------------------- login


async def login_form(request: web.Request) -> web.Response:
    """GET /calproxy/v1/admin/login."""
    key = signing_key(services(request))
    if key is None:
        return disabled_page()
    if current_session(request, key) is not None:
        return see_other(PAGE)
    return login_page()


async def login(request: web.Request) -> web.Response:
    """POST /calproxy/v1/admin/login: exchange the admin token for a session cookie."""
    svc = services(request)
    token = svc.settings.admin_token
    if token is None:
        return disabled_page()
    sent = (await request.post()).get("token")
    if not isinstance(sent, str) or not adminsession.token_matches(sent, token.get_secret_value()):
        audit("admin_login", ok=False)
        return login_page("That is not the admin token.", 401)
    audit("admin_login", ok=True)
    response = see_other(PAGE)
    key = adminsession.session_key(token.get_secret_value())
    set_session_cookie(response, request, adminsession.issue(key, svc.clock()))
    return response


async def logout(request: web.Request) -> web.Response:
    """POST /calproxy/v1/admin/logout (with the CSRF token): forget the session cookie."""
    key = signing_key(services(request))
    if key is None or current_session(request, key) is None:
        response = see_other(LOGIN)
    else:
        await authorized_form(request)
        audit("admin_logout")
        response = see_other(LOGIN)
    clear_session_cookie(response, request)
    return response


# ------------------------------------------------------------------------------------------- actions


async def release(request: web.Request) -> web.Response:
    """POST /calproxy/v1/admin/page/release: force-release one hold by its reservationUid."""
    key, session, fields = await authorized_form(request)
    try:
        released = await release_by_reservation_uid(services(request), text(fields, "reservationUid"))
    except CalcomError as exc:
        return await status_response(request, key, session, error=exc.message, status=status_of(exc))
    return see_other(f"{PAGE}?done={'released' if released else 'gone'}")


async def save_policy(request: web.Request) -> web.Response:
    """POST /calproxy/v1/admin/page/ttl-policy: validate whole, apply atomically, or show why not."""
    key, session, fields = await authorized_form(request)
    svc = services(request)
    form = submitted_policy_form(fields)
    try:
        await change_policy(svc, policy_body(form, await _policy(svc)))
    except CalcomError as exc:
        # Nothing changed: the page shows the API's message over the values as they were submitted.
        return await status_response(
            request, key, session, error=exc.message, form=form, status=status_of(exc)
        )
    return see_other(f"{PAGE}?done=policy")


def submitted_policy_form(fields: Form) -> PolicyForm:
    """The policy form as POSTed: browsers send fields in document order, so override rows pair up."""
    resources = [v for v in fields.getall("overrideResource", []) if isinstance(v, str)]
    seconds = [v for v in fields.getall("overrideSeconds", []) if isinstance(v, str)]
    # A hand-made POST with unpaired rows changes no override (policy_body sees none).
    rows = list(zip(resources, seconds, strict=True)) if len(resources) == len(seconds) else []
    return PolicyForm({name: text(fields, name) for name in BOUNDS}, rows)


def text(fields: Form, name: str) -> str:
    """A text field of a form ('' when absent or a file)."""
    value = fields.get(name)
    return value if isinstance(value, str) else ""


async def reconcile(request: web.Request) -> web.Response:
    """POST /calproxy/v1/admin/page/reconcile: run reconciliation now (its report is stored for the page)."""
    await authorized_form(request)
    audit("reconcile_requested", via="page")
    await services(request).reconciler.run()
    return see_other(f"{PAGE}?done=reconciled")
