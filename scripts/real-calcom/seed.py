#!/usr/bin/env python3
"""Seed the real Cal.com API v2 with the simulator's default world (proxy/sim/default_seed.json).

Users and API keys go in by SQL (users keep their ids; ApiKey.hashedKey = sha256 hex of the key without
its "cal_" prefix). Each user's default schedule and each event type are created through the API itself;
event type ids are forced by setting "EventType_id_seq" just before each create, then checked.

Environment: CALCOM_URL, PG_PORT, DB, CALCOM_SEED_JSON, CALCOM_SEED_LOCATION (address|cal-video|none),
CALCOM_VARIANT. Prints the world as shell lines (KEY=value) on stdout; progress on stderr.
Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
URL = os.environ.get("CALCOM_URL", "http://127.0.0.1:5555").rstrip("/")
PG_PORT = os.environ.get("PG_PORT", "54329")
DB = os.environ.get("DB", "calendso")
SEED = Path(os.environ.get("CALCOM_SEED_JSON") or HERE.parent.parent / "proxy" / "sim" / "default_seed.json")
LOCATION = os.environ.get("CALCOM_SEED_LOCATION", "address")
KEY_PREFIX = "cal_"
DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
KEY_NAMES = ["ALPHA", "BETA", "GAMMA", "DELTA"]


def log(msg: str) -> None:
    print(f"[seed] {msg}", file=sys.stderr, flush=True)


def sql(statement: str) -> str:
    out = subprocess.run(
        [
            "psql",
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            PG_PORT,
            "-U",
            "postgres",
            "-d",
            DB,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
            "-c",
            statement,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def q(value: object) -> str:
    """A SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def api(method: str, path: str, key: str, version: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        URL + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {key}",
            "cal-api-version": version,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        detail = err.read()[:2000].decode(errors="replace")
        raise SystemExit(f"{method} {path} -> {err.code}: {detail}") from err


def availability(weekly: dict) -> list[dict]:
    """weeklyHours {"mon": [["09:00","17:00"]], ...} -> 2024-06-11 availability, days grouped by range."""
    groups: dict[tuple[str, str], list[str]] = {}
    for day in DAYS:
        for start, end in weekly.get(day, []):
            groups.setdefault((start, end), []).append(DAYS[day])
    return [{"days": days, "startTime": s, "endTime": e} for (s, e), days in groups.items()]


def locations_for(user: dict) -> list[dict] | None:
    if LOCATION == "address":
        return [
            {"type": "address", "address": f"{user.get('name') or user['username']} office", "public": True}
        ]
    if LOCATION == "cal-video":
        return [{"type": "integration", "integration": "cal-video"}]
    return None  # "none": the API's default (Cal Video, shown as locations [])


def main() -> None:  # noqa: C901 (one linear script: users, keys, schedules, event types, clean-up)
    world = json.loads(SEED.read_text())
    users = {u["id"]: u for u in world["users"]}
    keys = list(world.get("apiKeys", []))

    # users (ids kept), then the id sequence past them
    for u in world["users"]:
        sql(
            'insert into users (id, email, username, name, uuid, "timeZone", "emailVerified", '
            '"completedOnboarding", locale) values ('
            f"{q(u['id'])}, {q(u['email'])}, {q(u['username'])}, {q(u.get('name'))}, gen_random_uuid(), "
            f"{q(u.get('timeZone', 'Europe/London'))}, now(), true, 'en')"
        )
    sql("select setval('users_id_seq', (select max(id) from users))")
    log(f"users {sorted(users)}")

    # API keys; a user without one gets a temporary seeding key (deleted at the end)
    temp = []
    key_of: dict[int, str] = {}
    for k in keys:
        key_of.setdefault(k["userId"], k["key"])
    for uid in users:
        if uid not in key_of:
            key_of[uid] = f"{KEY_PREFIX}seed_user_{uid}"
            temp.append(key_of[uid])
            keys.append({"key": key_of[uid], "userId": uid})
    for i, k in enumerate(keys):
        if not k["key"].startswith(KEY_PREFIX):
            raise SystemExit(f"API key {k['key']!r} does not start with {KEY_PREFIX}")
        hashed = hashlib.sha256(k["key"][len(KEY_PREFIX) :].encode()).hexdigest()
        sql(
            'insert into "ApiKey" (id, "userId", "hashedKey", note, "createdAt") values ('
            f"{q(f'calproxy-seed-key-{i}')}, {q(k['userId'])}, {q(hashed)}, 'calproxy seed', now())"
        )
    log(f"api keys for users {[k['userId'] for k in keys]}")

    # default schedules through the API
    schedule_ids = {}
    for u in world["users"]:
        body = {
            "name": "Working hours",
            "timeZone": u.get("timeZone", "Europe/London"),
            "isDefault": True,
            "availability": availability(u.get("weeklyHours", {})),
        }
        out = api("POST", "/v2/schedules", key_of[u["id"]], "2024-06-11", body)
        schedule_ids[u["id"]] = out["data"]["id"]
    log(f"schedules {schedule_ids}")

    # event types through the API, ids forced through the sequence
    made = []
    for et in sorted(world["eventTypes"], key=lambda e: e["id"]):
        sql(
            f"select setval('\"EventType_id_seq\"', {int(et['id']) - 1})"
            if et["id"] > 1
            else "select setval('\"EventType_id_seq\"', 1, false)"
        )
        body = {"title": et["title"], "slug": et["slug"], "lengthInMinutes": et["lengthInMinutes"]}
        if et.get("slotIntervalMinutes") is not None:
            body["slotInterval"] = et["slotIntervalMinutes"]
        if et.get("minimumBookingNoticeMinutes") is not None:
            body["minimumBookingNotice"] = et["minimumBookingNoticeMinutes"]
        locs = locations_for(users[et["userId"]])
        if locs is not None:
            body["locations"] = locs
        out = api("POST", "/v2/event-types", key_of[et["userId"]], "2024-06-14", body)
        got = out["data"]["id"]
        if got != et["id"]:
            raise SystemExit(f"event type {et['slug']}: got id {got}, wanted {et['id']}")
        made.append(et)
    sql('select setval(\'"EventType_id_seq"\', greatest((select max(id) from "EventType"), 1))')
    log(f"event types {[e['id'] for e in made]}")

    for k in temp:
        digest = hashlib.sha256(k[len(KEY_PREFIX) :].encode()).hexdigest()
        sql(f'delete from "ApiKey" where "hashedKey" = {q(digest)}')

    # the world, as shell lines
    lines = [
        f"CALCOM_URL={URL}",
        f"CALCOM_VARIANT={os.environ.get('CALCOM_VARIANT', 'e2e')}",
        f"CALCOM_SEED_LOCATION={LOCATION}",
    ]
    for i, k in enumerate(k for k in keys if k["key"] not in temp):
        name = KEY_NAMES[i] if i < len(KEY_NAMES) else str(i + 1)
        u = users[k["userId"]]
        lines += [
            f"CALCOM_KEY_{name}={k['key']}",
            f"CALCOM_USER_{name}_ID={u['id']}",
            f"CALCOM_USER_{name}_USERNAME={u['username']}",
            f"CALCOM_USER_{name}_TIMEZONE={u.get('timeZone', '')}",
        ]
    lines.append(f'CALCOM_EVENT_TYPE_IDS="{" ".join(str(e["id"]) for e in made)}"')
    for e in made:
        var = re.sub(r"[^A-Za-z0-9]", "_", e["slug"]).upper()
        lines.append(f"CALCOM_EVENT_TYPE_{var}={e['id']}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
