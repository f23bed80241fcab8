"""Tenant, caller and resource identity (CONTRACT §2), derived from request headers. Pure."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from proxy.credentials import credential_of, tenant_id

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
    """A keyed hash of the whole upstream credential (client id *and* secret); never stored or logged."""
    return tenant_id(secret, credential_of(headers), PUBLIC_TENANT)


# Owner of anonymous read-only requests: it can never match a hold (anonymous holds get a random owner).
READ_ONLY = "a:-"


def caller_of(
    headers: Mapping[str, str], secret: bytes, *, read_only: bool = False, call_id: str | None = None
) -> Caller:
    """The hold owner: tenant-scoped call id, else a fresh anonymous owner (the uid is the token).

    `call_id` is the id a signed header proved (see proxy.credentials.checked_call_id); else the header.
    """
    tenant = tenant_of(headers, secret)
    call_id = (headers.get(CALL_ID_HEADER) or "").strip() if call_id is None else call_id
    if call_id:
        digest = hashlib.sha256(call_id[:MAX_CALL_ID_LENGTH].encode()).hexdigest()[:24]
        return Caller(tenant=tenant, owner=f"{tenant}:c:{digest}", has_call_id=True)
    suffix = READ_ONLY if read_only else f"a:{secrets.token_hex(12)}"
    return Caller(tenant=tenant, owner=f"{tenant}:{suffix}", has_call_id=False)


def tenant_of_owner(owner: str) -> str:
    """The tenant part of a hold owner (owners are always `<tenant>:...`)."""
    return owner.partition(":")[0]


def owner_in_tenant(owner: str, tenant: str) -> bool:
    """True when a hold owner belongs to this tenant (a tenant never touches another's holds)."""
    return owner.startswith(f"{tenant}:")


@dataclass(frozen=True)
class ResourceMap:
    """Event type -> hold resource: the event types of one calendar share one resource, so a hold on one
    hides the overlapping slots of the others.

    Operators' groups (`CALPROXY_RESOURCE_GROUPS`) win; otherwise what `proxy.sharing` learned from Cal.com
    (the event type's owner: `usr:<id>`); otherwise, until learned, the event type alone (`et:<id>`).
    """

    groups: Mapping[int, str]
    # Filled by proxy.sharing (event type id -> resource); read without I/O on every request.
    learned: dict[int, str] = field(default_factory=dict, compare=False)

    def resource_for(self, event_type_id: int) -> str:
        """The hold scope of one event type."""
        group = self.groups.get(event_type_id)
        if group:
            return f"grp:{group}"
        return self.learned.get(event_type_id, f"et:{event_type_id}")


def hold_uid_for(event_type_id: int, resource: str) -> str:
    """A fresh hold uid; a group resource's uid also records the event type the hold was made for.

    A group is shared by several event types and the reservationUid a caller saw names the one it asked
    about, so operators can only show that uid if the hold remembers it: after an "x" (never a hex digit).
    """
    token = secrets.token_hex(8)
    return token if resource == f"et:{event_type_id}" else f"{token}x{event_type_id}"


def event_type_of(hold_uid: str, resource: str) -> int | None:
    """The event type a hold was made for: its et: resource, else the one recorded by `hold_uid_for`."""
    if resource.startswith("et:") and _ascii_digits(resource[3:]):
        return int(resource[3:])
    _, sep, tail = hold_uid.rpartition("x")
    return int(tail) if sep and _ascii_digits(tail) and len(tail) <= 12 else None


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also takes "²" or "٣", which int() then refuses (a 500, not a 404)."""
    return text.isascii() and text.isdigit()


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
    # ASCII only, as issued: a non-ASCII letter would reach the hold engine's uid check and a digit like "²"
    # int(); either is an unknown uid, which Cal.com answers with data null, 404 or 200 depending on the path.
    if len(parts) not in (2, 3) or not (parts[0].isascii() and parts[0].isalnum() and len(parts[0]) <= 64):
        return None
    if not _ascii_digits(parts[1]) or len(parts[1]) > 12:
        return None
    if len(parts) == 3 and not (parts[2].isascii() and parts[2].replace("-", "").replace("_", "").isalnum()):
        return None  # b64decode would silently drop characters outside the alphabet
    event_type_id = int(parts[1])
    if len(parts) == 2:
        return PublicUid(parts[0], event_type_id, f"et:{event_type_id}")
    try:
        padded = parts[2] + "=" * (-len(parts[2]) % 4)
        resource = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return PublicUid(parts[0], event_type_id, resource) if resource.startswith("grp:") else None
