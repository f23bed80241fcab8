"""The status page's session cookie and CSRF tokens: stateless, signed, pure (no I/O, the clock is passed in).

A session is `v1.<expires epoch s>.<nonce>.<mac>`, the MAC keyed by a key derived from the admin token, so a
new token ends every session at once and no server-side store is needed. The CSRF token of a session is a MAC
of its nonce: a page from another site can neither read it (the page is same-origin only) nor compute it.
Session and CSRF MACs are domain-separated, so one can never stand for the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE_NAME = "calproxy_admin"
COOKIE_PATH = "/calproxy/v1/admin"
LIFETIME_S = 8 * 3600
CSRF_FIELD = "csrf"
_VERSION = "v1"


@dataclass(frozen=True)
class Session:
    """A verified session: its random nonce and when it ends (epoch seconds)."""

    nonce: str
    expires_at: int


def session_key(admin_token: str) -> bytes:
    """The signing key of sessions and CSRF tokens, derived from the admin token (never the token itself)."""
    return hmac.new(admin_token.encode(), b"calproxy admin page session key v1", hashlib.sha256).digest()


def token_matches(sent: str, admin_token: str) -> bool:
    """Whether `sent` is the admin token, in constant time."""
    return hmac.compare_digest(sent.encode(), admin_token.encode())


def _mac(key: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(key, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(key: bytes, now: float, lifetime_s: int = LIFETIME_S) -> str:
    """A new session cookie value, valid for `lifetime_s` from `now`."""
    payload = f"{_VERSION}.{int(now) + lifetime_s}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_mac(key, 'session', payload)}"


def verify(key: bytes, value: str | None, now: float, lifetime_s: int = LIFETIME_S) -> Session | None:
    """The session a cookie value stands for, or None if it is missing, forged, malformed or expired."""
    if not value:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != _VERSION or not parts[1].isdigit():
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3].encode(), _mac(key, "session", payload).encode()):
        return None
    expires_at = int(parts[1])
    # An expiry beyond any we would issue means the key leaked or the lifetime shrank: refuse it too.
    if not now < expires_at <= now + lifetime_s:
        return None
    return Session(nonce=parts[2], expires_at=expires_at)


def csrf_token(key: bytes, session: Session) -> str:
    """The CSRF token every state-changing form of this session carries."""
    return _mac(key, "csrf", session.nonce)


def csrf_ok(key: bytes, session: Session, sent: str | None) -> bool:
    """Whether a form's CSRF token belongs to this session."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), csrf_token(key, session).encode())
