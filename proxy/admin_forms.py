"""The status page's TTL policy form: pure translation between the form's fields and the admin API's JSON.

The form shows every field; it sends only what changed among the overrides, so an untouched override of a
resource that has since become unknown does not block an unrelated change. Validation of the values
themselves is `proxy.admin_views.change_policy`'s, so the page and the API refuse the same things alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.calcom.errors import BadRequest

BOUNDS = ("defaultSeconds", "minSeconds", "maxSeconds")


@dataclass(frozen=True)
class PolicyForm:
    """The form as submitted (or as shown): text fields, the override rows last of all the new one."""

    bounds: Mapping[str, str]
    rows: list[tuple[str, str]] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        """Values for the template: bounds, existing rows, and the blank (or half-filled) new row."""
        existing, new = (self.rows[:-1], self.rows[-1]) if self.rows else ([], ("", ""))
        return {
            **{n: self.bounds.get(n, "") for n in BOUNDS},
            "overrides": existing,
            "newResource": new[0],
            "newSeconds": new[1],
        }


def seconds_text(value: object) -> str:
    """A number of seconds as the form shows it: `60`, `7.5`."""
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def form_of_policy(policy: Mapping[str, Any]) -> PolicyForm:
    """The form filled with the policy in force (`policy_json`'s shape), plus a blank new row."""
    overrides = policy.get("overrides") or {}
    rows = [(str(resource), seconds_text(value)) for resource, value in sorted(overrides.items())]
    return PolicyForm({n: seconds_text(policy.get(n)) for n in BOUNDS}, [*rows, ("", "")])


def form_number(name: str, text: str) -> int | float:
    """A typed number: an int when whole (so the API's messages read `90`, not `90.0`)."""
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number of seconds, got {text!r}") from None
    return int(value) if value.is_integer() else value


def policy_body(form: PolicyForm, current: Mapping[str, Any]) -> dict[str, Any]:
    """The admin API body for this submission against the policy in force; BadRequest when unreadable."""
    body: dict[str, Any] = {}
    for name in BOUNDS:
        text = form.bounds.get(name, "").strip()
        if text:
            body[name] = form_number(name, text)
    overrides = _override_changes(form.rows, current.get("overrides") or {})
    if overrides:
        body["overrides"] = overrides
    return body


def _override_changes(rows: list[tuple[str, str]], current: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for resource, text in ((r.strip(), t.strip()) for r, t in rows):
        if not resource:
            if text:
                raise BadRequest("Name the resource of the new override (et:<eventTypeId> or grp:<group>)")
            continue
        if not text:
            # An emptied field removes the override; an empty new row with a name asks for nothing.
            if resource in current:
                changes[resource] = None
            continue
        seconds = form_number(f"overrides.{resource}", text)
        if current.get(resource) != seconds:
            changes[resource] = seconds
    return changes
