"""The simulated Cal.com account data: users (hosts) with weekly hours, event types and API keys."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from proxy.calcom.timefmt import is_valid_zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Weekly hours: for each weekday (0 = Monday) a tuple of (start, end) minutes after local midnight.
WeeklyHours = dict[int, tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class Host:
    """A Cal.com user who owns event types."""

    id: int
    username: str
    name: str
    email: str
    time_zone: str
    weekly_hours: WeeklyHours


@dataclass(frozen=True)
class EventTypeDef:
    """An event type owned by one host."""

    id: int
    host_id: int
    slug: str
    title: str
    length: int
    interval: int
    min_notice: int
    length_options: tuple[int, ...]


@dataclass(frozen=True)
class OAuthClient:
    """A platform OAuth client: Cal.com authenticates it by id *and* secret as its platform owner."""

    id: str
    secret: str
    user_id: int


@dataclass(frozen=True)
class Seed:
    """Everything the simulator knows before the first request."""

    hosts: dict[int, Host]
    event_types: dict[int, EventTypeDef]
    api_keys: dict[str, int]
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)

    def host_of(self, event_type: EventTypeDef) -> Host:
        """The host that owns an event type."""
        return self.hosts[event_type.host_id]

    def user_for_key(self, key: str) -> int | None:
        """The user id an API key belongs to, or None if unknown."""
        return self.api_keys.get(hash_key(key))


def hash_key(key: str) -> str:
    """sha256 of an API key without its `cal_` prefix, as Cal.com stores it."""
    return hashlib.sha256(key.removeprefix("cal_").encode()).hexdigest()


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 1440 or not 0 <= int(minutes) < 60:
        raise ValueError(f"invalid time of day: {text!r}")
    return value


def _weekly_hours(raw: dict[str, Any]) -> WeeklyHours:
    hours: WeeklyHours = {}
    for name, ranges in raw.items():
        if name not in WEEKDAYS:
            raise ValueError(f"unknown weekday {name!r}; use one of {WEEKDAYS}")
        parsed = tuple(sorted((_minutes(a), _minutes(b)) for a, b in ranges))
        if any(a >= b for a, b in parsed):
            raise ValueError(f"empty working range on {name}")
        hours[WEEKDAYS.index(name)] = parsed
    return hours


def _host(raw: dict[str, Any]) -> Host:
    if not is_valid_zone(raw["timeZone"]):
        raise ValueError(f"unknown time zone {raw['timeZone']!r}")
    return Host(
        id=int(raw["id"]),
        username=str(raw["username"]),
        name=str(raw["name"]),
        email=str(raw["email"]),
        time_zone=str(raw["timeZone"]),
        weekly_hours=_weekly_hours(raw.get("weeklyHours", {})),
    )


def _event_type(raw: dict[str, Any]) -> EventTypeDef:
    length = int(raw["lengthInMinutes"])
    options = tuple(int(x) for x in raw.get("lengthOptions", [length]))
    if length <= 0 or length not in options:
        raise ValueError(f"event type {raw['id']}: bad length {length}")
    return EventTypeDef(
        id=int(raw["id"]),
        host_id=int(raw["userId"]),
        slug=str(raw["slug"]),
        title=str(raw.get("title", raw["slug"])),
        length=length,
        interval=int(raw.get("slotIntervalMinutes", length)),
        min_notice=int(raw.get("minimumBookingNoticeMinutes", 0)),
        length_options=options,
    )


def parse_seed(data: dict[str, Any]) -> Seed:
    """Build a Seed from its JSON shape (see default_seed.json); ValueError on inconsistencies."""
    hosts = {host.id: host for host in map(_host, data["users"])}
    event_types = {et.id: et for et in map(_event_type, data["eventTypes"])}
    for et in event_types.values():
        if et.host_id not in hosts:
            raise ValueError(f"event type {et.id} refers to unknown user {et.host_id}")
        if et.interval <= 0:
            raise ValueError(f"event type {et.id}: slot interval must be positive")
    keys = {hash_key(str(item["key"])): int(item["userId"]) for item in data.get("apiKeys", [])}
    if any(user not in hosts for user in keys.values()):
        raise ValueError("an API key refers to an unknown user")
    clients = {
        str(item["id"]): OAuthClient(str(item["id"]), str(item["secret"]), int(item["userId"]))
        for item in data.get("oauthClients", [])
    }
    if any(client.user_id not in hosts for client in clients.values()):
        raise ValueError("an OAuth client refers to an unknown user")
    return Seed(hosts=hosts, event_types=event_types, api_keys=keys, oauth_clients=clients)


def load_seed(path: str | Path | None = None) -> Seed:
    """Load a seed file, or the packaged default seed when `path` is None."""
    if path is None:
        text = resources.files("proxy.sim").joinpath("default_seed.json").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return parse_seed(json.loads(text))
