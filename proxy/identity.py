"""Tenant, caller and resource identity (CONTRACT §2), derived from request headers. Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

PUBLIC_TENANT = "public"
CALL_ID_HEADER = "X-Call-Id"
MAX_CALL_ID_LENGTH = 256


@dataclass(frozen=True)
class Caller:
    """Who is asking: a tenant and, when the voice platform sent one, a call id."""

    tenant: str
    owner: str
    has_call_id: bool


def tenant_of(headers: Mapping[str, str], secret: bytes) -> str:
    """A keyed hash of the upstream credential; the credential itself is never stored or logged."""
    credential = headers.get("Authorization") or headers.get("x-cal-client-id")
    if not credential:
        return PUBLIC_TENANT
    digest = hmac.new(secret, credential.strip().encode(), hashlib.sha256).hexdigest()
    return f"t{digest[:20]}"


# Owner of anonymous read-only requests: it can never match a hold (anonymous holds get a random owner).
READ_ONLY = "a:-"


def caller_of(headers: Mapping[str, str], secret: bytes, *, read_only: bool = False) -> Caller:
    """The hold owner: tenant-scoped call id, else a fresh anonymous owner (the uid is the token)."""
    tenant = tenant_of(headers, secret)
    call_id = (headers.get(CALL_ID_HEADER) or "").strip()
    if call_id:
        digest = hashlib.sha256(call_id[:MAX_CALL_ID_LENGTH].encode()).hexdigest()[:24]
        return Caller(tenant=tenant, owner=f"{tenant}:c:{digest}", has_call_id=True)
    suffix = READ_ONLY if read_only else f"a:{secrets.token_hex(12)}"
    return Caller(tenant=tenant, owner=f"{tenant}:{suffix}", has_call_id=False)


def owner_in_tenant(owner: str, tenant: str) -> bool:
    """True when a hold owner belongs to this tenant (a tenant never touches another's holds)."""
    return owner.startswith(f"{tenant}:")


@dataclass(frozen=True)
class ResourceMap:
    """Event type -> hold resource; operators may group event types that share a host calendar."""

    groups: Mapping[int, str]

    def resource_for(self, event_type_id: int) -> str:
        """The hold scope of one event type."""
        group = self.groups.get(event_type_id)
        return f"grp:{group}" if group else f"et:{event_type_id}"


def public_uid(hold_uid: str, event_type_id: int, resource: str) -> str:
    """The reservationUid callers see: it names its hold and resource, so uid-only paths need no index."""
    if resource == f"et:{event_type_id}":
        return f"{hold_uid}-{event_type_id}"
    group = base64.urlsafe_b64encode(resource.encode()).decode().rstrip("=")
    return f"{hold_uid}-{event_type_id}-{group}"


@dataclass(frozen=True)
class PublicUid:
    """A parsed reservationUid."""

    hold_uid: str
    event_type_id: int
    resource: str


def parse_public_uid(text: str) -> PublicUid | None:
    """Inverse of public_uid; None for anything we did not issue (ownership is checked separately)."""
    parts = text.split("-", 2)  # the group part is urlsafe base64, which may itself contain "-"
    if len(parts) not in (2, 3) or not parts[0].isalnum() or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    event_type_id = int(parts[1])
    if len(parts) == 2:
        return PublicUid(parts[0], event_type_id, f"et:{event_type_id}")
    try:
        padded = parts[2] + "=" * (-len(parts[2]) % 4)
        resource = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return PublicUid(parts[0], event_type_id, resource) if resource.startswith("grp:") else None
