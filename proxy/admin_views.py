"""Operator actions and views shared by the admin API, the status page and (through the API) the CLI.

Every function takes the app's `Services` and returns plain JSON-ready data or raises a Cal.com-shaped
error (`proxy.calcom.errors`), so an HTML page can call them directly and render the same messages.

- `policy_json(policy)`: the TTL policy in seconds.
- `change_policy(svc, body)`: validate a change as a whole, then apply it in one atomic Redis script.
- `hold_views(svc, resource=None)`: live holds with ISO times (UTC and the resource's zone) and the
  reservationUid callers see.
- `release_by_reservation_uid(svc, reservation_uid)`: force-release the hold behind a caller's uid.

Rules for a policy change (`PUT /calproxy/v1/admin/ttl-policy`):
- Body: an object with any of `defaultSeconds`, `minSeconds`, `maxSeconds` (finite numbers in
  (0, 86400], fractions allowed, stored as whole milliseconds) and `overrides` (resource → seconds, or
  null to remove). Anything else is refused before anything is read or written.
- The resulting policy must satisfy min ≤ default ≤ max, and every override must lie in [min, max]:
  nothing is clamped silently, the message names the values in seconds.
- A new override must name a resource calproxy holds: `grp:<group>` for a configured resource group,
  `usr:<id>` for a person's calendar calproxy learned an event type books (proxy.sharing), or `et:<id>` for
  an event type in neither that Cal.com shows calproxy's key (`GET /v2/event-types/{id}` answers 200).
  An event type whose holds live on a group or a calendar is refused with a pointer to it.
- The change is applied with `PolicyStore.replace` (one script: fields, version bump and publish) as a
  compare-and-set on the version read, so a concurrent change is never overwritten half-merged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from holds import Hold, TtlPolicy
from proxy.calcom.errors import BadRequest, Conflict
from proxy.calcom.timefmt import format_ms
from proxy.catalog import EVENT_TYPES_VERSION
from proxy.errors import UpstreamUnavailable
from proxy.identity import event_type_of, parse_public_uid, public_uid
from proxy.logs import audit, get_logger
from proxy.services import Services
from proxy.zones import DisplayZone

log = get_logger(__name__)

POLICY_FIELDS = ("defaultSeconds", "minSeconds", "maxSeconds", "overrides")
# One day: far above any sane hold, far below anything that overflows milliseconds or Redis integers.
MAX_SECONDS = 86_400
ALL_TIME = (0, 2**62)
# Concurrent policy changes: re-read and re-validate this many times before giving up with 409.
CAS_ATTEMPTS = 5
RESOURCE_FORMS = "et:<eventTypeId>, usr:<userId> or grp:<group>"
_RESOURCE = re.compile(r"et:(?P<et>[1-9][0-9]{0,11})|usr:(?P<usr>[1-9][0-9]{0,11})|grp:(?P<grp>[^\s]+)")


def policy_json(policy: TtlPolicy) -> dict[str, Any]:
    """The policy in seconds: defaultSeconds, minSeconds, maxSeconds and overrides (sorted by resource)."""
    return {
        "defaultSeconds": policy.default_ms / 1000,
        "minSeconds": policy.min_ms / 1000,
        "maxSeconds": policy.max_ms / 1000,
        "overrides": {resource: ms / 1000 for resource, ms in sorted(policy.overrides.items())},
    }


# ---------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class PolicyChange:
    """A validated change: None leaves a value as it is; an override of None removes it."""

    default_ms: int | None
    min_ms: int | None
    max_ms: int | None
    overrides: Mapping[str, int | None]


def _secs(ms: int) -> str:
    """Milliseconds as seconds for messages: 900 not 900.0, 0.5 kept."""
    return f"{ms / 1000:g}"


def _shown(value: float) -> str:
    """A number for a message; a 400-digit integer is cut, never converted to float (OverflowError)."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"


def seconds_to_ms(name: str, value: object, errors: list[str]) -> int | None:
    """A finite positive number of seconds (at most a day) as whole ms; appends a message when it is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"{name} must be a number of seconds")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        errors.append(f"{name} must be a finite number of seconds")
        return None
    if value <= 0 or value > MAX_SECONDS:
        errors.append(f"{name} must be more than 0 and at most {MAX_SECONDS} seconds, got {_shown(value)}")
        return None
    ms = round(value * 1000)
    if ms < 1:
        errors.append(f"{name} must be at least 0.001 seconds")
        return None
    return ms


def _parse_overrides(value: object, errors: list[str]) -> dict[str, int | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"overrides must map a resource ({RESOURCE_FORMS}) to seconds, or to null")
        return {}
    parsed: dict[str, int | None] = {}
    for resource, seconds in value.items():
        if not isinstance(resource, str) or not _RESOURCE.fullmatch(resource):
            errors.append(f"override resource {resource!r} must be {RESOURCE_FORMS}")
            continue
        ms = None if seconds is None else seconds_to_ms(f"overrides.{resource}", seconds, errors)
        if seconds is None or ms is not None:
            parsed[resource] = ms
    return parsed


def parse_policy_change(body: object) -> PolicyChange:
    """Validate the whole body (types, ranges) before anything is read or written; BadRequest lists all."""
    if not isinstance(body, dict):
        raise BadRequest(f"Body must be an object with any of {', '.join(POLICY_FIELDS)}")
    errors = [f"property {name} should not exist" for name in body if name not in POLICY_FIELDS]
    values = {
        name: None if body.get(name) is None else seconds_to_ms(name, body[name], errors)
        for name in POLICY_FIELDS[:3]
    }
    overrides = _parse_overrides(body.get("overrides"), errors)
    if errors:
        raise BadRequest("; ".join(errors))
    return PolicyChange(values["defaultSeconds"], values["minSeconds"], values["maxSeconds"], overrides)


def _bound_error(name: str, ms: int, low: int, high: int) -> str | None:
    if ms > high:
        return f"{name} {_secs(ms)} is above maxSeconds {_secs(high)}"
    if ms < low:
        return f"{name} {_secs(ms)} is below minSeconds {_secs(low)}"
    return None


def merged_policy(current: TtlPolicy, change: PolicyChange) -> TtlPolicy:
    """The policy after the change, checked as a whole: min ≤ default ≤ max and overrides in [min, max]."""
    low = current.min_ms if change.min_ms is None else change.min_ms
    high = current.max_ms if change.max_ms is None else change.max_ms
    default = current.default_ms if change.default_ms is None else change.default_ms
    overrides = dict(current.overrides)
    for resource, ms in change.overrides.items():
        if ms is None:
            overrides.pop(resource, None)
        else:
            overrides[resource] = ms
    if low > high:
        raise BadRequest(f"minSeconds {_secs(low)} is above maxSeconds {_secs(high)}")
    checks = [("defaultSeconds", default), *((f"overrides.{r}", ms) for r, ms in sorted(overrides.items()))]
    errors = [e for name, ms in checks if (e := _bound_error(name, ms, low, high)) is not None]
    if errors:
        raise BadRequest("; ".join(errors))
    return TtlPolicy(default_ms=default, min_ms=low, max_ms=high, overrides=overrides)


async def _check_event_type(svc: Services, event_type_id: int) -> None:
    resource = f"et:{event_type_id}"
    # Configured groups win; otherwise the calendar learned from Cal.com (proxy.sharing): either way the
    # event type's holds live there, and an override of et:<id> would never apply.
    lives_on = await svc.sharing.learn(event_type_id, {})
    if lives_on != resource:
        raise BadRequest(f"unknown resource {resource}: its holds live on {lives_on}; override that")
    status = (await svc.upstream.get_own("/v2/event-types/{id}", EVENT_TYPES_VERSION, event_type_id)).status
    if status == 404:
        # The real Cal.com answers another user's event type with the same 404 (golden catalogue).
        raise BadRequest(
            f"unknown resource {resource}: Cal.com shows no event type {event_type_id} to calproxy's key "
            "(there is none, or it is another user's)"
        )
    if status >= 500:
        raise UpstreamUnavailable(f"Cal.com could not confirm event type {event_type_id} (HTTP {status})")
    if status != 200:
        raise BadRequest(f"unknown resource {resource}: Cal.com answered HTTP {status} for it")


async def check_known_resources(svc: Services, resources: Iterable[str]) -> None:
    """Refuse overrides of resources calproxy never holds (see the module's rules)."""
    groups = set(svc.availability.resources.groups.values())
    for resource in sorted(set(resources)):
        match = _RESOURCE.fullmatch(resource)
        if match is None:
            raise BadRequest(f"unknown resource {resource}")
        if match["grp"] is not None:
            if match["grp"] not in groups:
                known = ", ".join(f"grp:{g}" for g in sorted(groups)) or "none configured"
                raise BadRequest(f"unknown resource {resource}: not a configured resource group ({known})")
        elif match["usr"] is not None:
            await _check_calendar(svc, resource)
        else:
            await _check_event_type(svc, int(match["et"]))


async def _check_calendar(svc: Services, resource: str) -> None:
    """A person's calendar is a resource once calproxy learned that an event type books it."""
    if resource not in await svc.sharing.calendars():
        raise BadRequest(
            f"unknown resource {resource}: no event type calproxy serves is known to book this calendar "
            "(calproxy learns an event type's calendar at its first slots query or quote)"
        )


async def change_policy(svc: Services, body: object) -> TtlPolicy:
    """Validate a change whole, apply it atomically (all or nothing) and write an audit line.

    Raises BadRequest with every problem found in the body, or the first whole-policy problem, in seconds;
    UpstreamUnavailable when Cal.com cannot confirm an event type; Conflict when other changes kept racing.
    """
    change = parse_policy_change(body)
    await check_known_resources(svc, [r for r, ms in change.overrides.items() if ms is not None])
    for _ in range(CAS_ATTEMPTS):
        current, version = await svc.policy.load_versioned()
        wanted = merged_policy(current, change)
        if await svc.policy.replace(wanted, if_version=version) is not None:
            audit("ttl_policy_changed", before=policy_json(current), after=policy_json(wanted))
            return wanted
    raise Conflict("The TTL policy kept changing concurrently; retry")


# ----------------------------------------------------------------------------------------------- holds


def event_type_for(svc: Services, hold: Hold) -> int | None:
    """The event type whose reservationUid names this hold.

    Recorded for `et:` resources and for group holds made since uids carry it (`hold_uid_for`); for older
    group holds and booked markers, the group's lowest configured event type (its uid still finds the hold).
    """
    recorded = event_type_of(hold.uid, hold.resource)
    if recorded is not None:
        return recorded
    members = [et for et, g in svc.availability.resources.groups.items() if f"grp:{g}" == hold.resource]
    return min(members) if members else None


def hold_view(hold: Hold, event_type_id: int | None, zone: DisplayZone, now_ms: int) -> dict[str, Any]:
    """One hold for operators: ISO times (UTC and local), remaining seconds, both uids, owner hash."""
    local = None if zone.is_fallback else zone.name
    return {
        "reservationUid": (
            public_uid(hold.uid, event_type_id, hold.resource) if event_type_id is not None else None
        ),
        "uid": hold.uid,
        "resource": hold.resource,
        "eventTypeId": event_type_id,
        "state": hold.state.value,
        "start": format_ms(hold.start_ms),
        "end": format_ms(hold.end_ms),
        "expiresAt": format_ms(hold.expires_at_ms),
        "timeZone": zone.name,
        "timeZoneSource": zone.source,
        "startLocal": format_ms(hold.start_ms, local),
        "endLocal": format_ms(hold.end_ms, local),
        "expiresAtLocal": format_ms(hold.expires_at_ms, local),
        "remainingSeconds": round(max(0, hold.expires_at_ms - now_ms) / 1000, 1),
        # Owners are already tenant-scoped hashes; operators see them, callers never do.
        "owner": hold.owner,
    }


async def hold_views(svc: Services, resource: str | None = None) -> list[dict[str, Any]]:
    """Live holds and booked markers of one resource or all, sorted by resource then start."""
    resources = [resource] if resource else [r async for r in svc.holds.resources()]
    holds = [h for r in sorted(set(resources)) for h in await svc.holds.live(r, *ALL_TIME)]
    now_ms = round(svc.clock() * 1000)
    views = []
    for hold in sorted(holds, key=lambda h: (h.resource, h.start_ms, h.end_ms, h.uid)):
        event_type_id = event_type_for(svc, hold)
        views.append(hold_view(hold, event_type_id, await svc.zones.zone_of(event_type_id), now_ms))
    return views


async def release_by_reservation_uid(svc: Services, reservation_uid: str) -> bool:
    """Force-release the hold behind a caller's reservationUid; False when none is live.

    Raises BadRequest for a uid calproxy could not have issued. Writes an audit line when released.
    """
    where = parse_public_uid(reservation_uid)
    if where is None or len(where.hold_uid) > 64:
        raise BadRequest(f"{reservation_uid!r} is not a reservationUid calproxy issues")
    return await force_release(svc, where.resource, where.hold_uid, reservation_uid=reservation_uid)


async def force_release(
    svc: Services, resource: str, uid: str, *, reservation_uid: str | None = None
) -> bool:
    """Force-release by resource and internal uid (audited); False when no such hold is live."""
    released = await svc.holds.force_release(resource, uid)
    if released:
        audit("hold_force_released", resource=resource, uid=uid, reservation_uid=reservation_uid)
    return released
