"""Credentials and call ids, pure (CONTRACT §2): what Cal.com would authenticate a request with.

The tenant is a keyed hash of the *whole* credential (a platform client's id and secret together), so a
wrong secret is another tenant. Signed call ids let a deployment prove that its agent backend issued a
call id: `X-Call-Id: <id>.<hex hmac-sha256(secret, id)>`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from proxy.calcom.errors import Unauthorized

# Cal.com's ApiAuthStrategy texts (API-NOTES §2).
NO_AUTH = (
    "ApiAuthStrategy - No authentication method provided. Either pass an API key as 'Bearer' header or "
    "OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
)
INVALID_CALL_ID_SIGNATURE = "calproxy - X-Call-Id signature is not valid"
UNSIGNED_CALL_ID = "calproxy - X-Call-Id must be signed: <id>.<hex hmac-sha256(secret, id)>"
CLIENT_ID_HEADER = "x-cal-client-id"
SECRET_HEADER = "x-cal-secret-key"

Kind = Literal["bearer", "platform"]


@dataclass(frozen=True)
class Credential:
    """The credential Cal.com would authenticate this request with, and its public label."""

    kind: Kind
    # The whole credential as one string (never logged or stored: only keyed hashes of it are).
    material: str
    # What an operator names this credential by in CALPROXY_CALL_ID_SECRETS (no secret in it).
    label: str


def credential_of(headers: Mapping[str, str]) -> Credential | None:
    """Cal.com's order: client id *and* secret first, then a Bearer token; a lone id or secret is ignored."""
    client_id = (headers.get(CLIENT_ID_HEADER) or "").strip()
    secret = (headers.get(SECRET_HEADER) or "").strip()
    if client_id and secret:
        # The secret is part of the material, so a wrong secret is a different tenant.
        return Credential("platform", f"platform\0{client_id}\0{secret}", f"client:{client_id}")
    authorization = (headers.get("Authorization") or "").strip()
    if authorization:
        token = authorization.removeprefix("Bearer ").strip()
        return Credential("bearer", authorization, _key_label(token))
    return None


@functools.lru_cache(maxsize=4096)
def _key_label(token: str) -> str:
    return f"key:{hashlib.sha256(token.encode()).hexdigest()}"


@functools.lru_cache(maxsize=4096)
def fingerprint(secret: bytes, material: str, purpose: str) -> str:
    """A keyed hash of a credential for one purpose (tenant id, verification cache): never reversible.

    Memoised in memory (never written anywhere): every request of a credential hashes it two or three
    times, a fifth of a cached slot answer's cost before.
    """
    return hmac.new(secret, f"{purpose}\0{material}".encode(), hashlib.sha256).hexdigest()


def upstream_headers(credential: Credential, headers: Mapping[str, str]) -> dict[str, str]:
    """Exactly the headers that make up this credential, to ask Cal.com about it."""
    if credential.kind == "platform":
        return {CLIENT_ID_HEADER: headers[CLIENT_ID_HEADER], SECRET_HEADER: headers[SECRET_HEADER]}
    return {"Authorization": credential.material}


def sign_call_id(secret: str, call_id: str) -> str:
    """What the agent backend sends: `<id>.<hex hmac-sha256(secret, id)>`."""
    mac = hmac.new(secret.encode(), call_id.encode(), hashlib.sha256).hexdigest()
    return f"{call_id}.{mac}"


def checked_call_id(value: str, secret: str | None, *, required: bool) -> str:
    """The call id this header proves, or Cal.com's 401.

    With a secret for the tenant, a value that looks signed (ends in "." + 64 hex digits) must verify; an
    unsigned one passes unless `required`. Without a secret, `required` refuses every call id (fail closed).
    """
    head, dot, tail = value.rpartition(".")
    looks_signed = bool(dot) and len(tail) == 64 and all(c in "0123456789abcdef" for c in tail.lower())
    if secret is None:
        if required:
            raise Unauthorized(UNSIGNED_CALL_ID)
        return value
    if not looks_signed:
        if required:
            raise Unauthorized(UNSIGNED_CALL_ID)
        return value
    expected = hmac.new(secret.encode(), head.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, tail.lower()):
        raise Unauthorized(INVALID_CALL_ID_SIGNATURE)
    return head


def call_id_secret(secrets: Mapping[str, str], credential: Credential | None) -> str | None:
    """The signing secret for a credential: its label's, else the "*" entry, else None."""
    if credential is not None and credential.label in secrets:
        return secrets[credential.label]
    return secrets.get("*")


def tenant_id(secret: bytes, credential: Credential | None, public: str = "public") -> str:
    """The tenant of a credential: `t` + 20 hex digits of its keyed hash (or the public tenant)."""
    if credential is None:
        return public
    return f"t{fingerprint(secret, credential.material, 'tenant')[:20]}"
