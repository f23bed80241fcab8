"""Settings: the only module that reads the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

# The tenant secret used when none is set: fine for the embedded default, a warning in front of Cal.com.
BUILT_IN_TENANT_SECRET = "calproxy-default-tenant-secret"
MIN_ADMIN_TOKEN_LENGTH = 24


class ConfigError(Exception):
    """A configuration a person must fix; its message is one line naming the variable or flag."""


class ResourceFile(BaseModel):
    """The optional operator file: per-resource TTLs and resource groups."""

    model_config = {"extra": "forbid"}

    # event type id -> group name; event types in one group share holds (e.g. one host calendar).
    resource_groups: dict[int, str] = Field(default_factory=dict)
    # resource name ("et:1001" or a group name) -> hold TTL in seconds.
    hold_ttl_overrides_s: dict[str, float] = Field(default_factory=dict)


class Settings(BaseSettings):
    """Every knob of calproxy, from CALPROXY_* variables (REDIS_URL and PORT also accepted)."""

    # populate_by_name: command-line values arrive by field name and are validated like the environment's.
    model_config = SettingsConfigDict(env_prefix="CALPROXY_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, validation_alias=AliasChoices("CALPROXY_PORT", "PORT"))
    upstream_url: str | None = None
    redis_url: str | None = Field(None, validation_alias=AliasChoices("CALPROXY_REDIS_URL", "REDIS_URL"))
    # REDIS_URL names one node of a Redis Cluster (redis-py's RedisCluster discovers the rest).
    redis_cluster: bool = False
    key_prefix: str = Field("calproxy", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")

    # Used by the proxy itself (reconciliation, resolving unknown outcomes); never sent on a caller's behalf.
    upstream_api_key: SecretStr | None = None
    admin_token: SecretStr | None = None
    # Keys the tenant hash; every process of one deployment must share it.
    tenant_secret: SecretStr = SecretStr(BUILT_IN_TENANT_SECRET)

    hold_ttl_default_s: float = Field(60.0, gt=0, le=3600)
    hold_ttl_min_s: float = Field(5.0, gt=0, le=3600)
    hold_ttl_max_s: float = Field(600.0, gt=0, le=86400)
    max_holds_per_owner: int = Field(3, ge=1, le=50)
    booked_marker_ttl_s: float = Field(300.0, gt=0, le=86400)

    snapshot_ttl_s: float = Field(30.0, gt=0, le=3600)
    # In-process reuse of a snapshot day before asking Redis again (0 = always ask Redis).
    snapshot_local_ttl_s: float = Field(1.0, ge=0, le=60)
    commit_freshness_s: float = Field(5.0, ge=0, le=3600)
    snapshot_lock_s: float = Field(5.0, gt=0, le=60)

    upstream_timeout_s: float = Field(10.0, gt=0, le=120)
    alternatives_default: int = Field(3, ge=0, le=10)
    alternatives_search_days: int = Field(7, ge=1, le=31)
    # Longest GET /v2/slots range answered (longer: 400). Cal.com computes at most a year ahead; a month of
    # slots renders in a few ms, a year in ~50 ms of event loop.
    max_slot_range_days: int = Field(31, ge=1, le=366)

    # Hold-creating requests need a credential Cal.com accepted (GET /v2/me), remembered this long.
    credential_ttl_s: float = Field(300.0, gt=0, le=3600)
    credential_refused_ttl_s: float = Field(30.0, gt=0, le=3600)
    # Live holds of one tenant (every credential is a tenant), across all resources.
    max_holds_per_tenant: int = Field(200, ge=1, le=100_000)
    # A tenant may hold at most this share of what it could hold on the asked slot's UTC day (its holds
    # plus the free slots), never fewer than the floor: another tenant always finds the rest free.
    resource_share: float = Field(0.5, gt=0, le=1)
    resource_share_floor: int = Field(8, ge=1, le=10_000)
    # Quotes and reservations per minute (moving window, shared in Redis); 0 turns a limit off.
    quote_rate_per_tenant: int = Field(1200, ge=0, le=1_000_000)
    quote_rate_per_address: int = Field(2400, ge=0, le=1_000_000)
    # Cached slots go to a tenant only after Cal.com answered that tenant for the event type, this recently.
    slots_seen_ttl_s: float = Field(600.0, gt=0, le=86400)
    # Signed call ids: JSON {"key:<sha256 hex of the API key>" | "client:<client id>" | "*": secret}.
    call_id_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    require_signed_call_id: bool = False

    reconcile_interval_s: float = Field(60.0, ge=0, le=86400)
    # How often each process checks that Redis still holds its data (the sentinel key); a loss triggers a
    # reconciliation that rebuilds the ledger from Cal.com.
    state_check_s: float = Field(2.0, gt=0, le=3600)
    # Mirror every hold as a Cal.com slot reservation, so Cal.com's own booking page hides held slots
    # (issue 11; off until measured: it costs upstream requests).
    mirror_holds: bool = False
    # Keep each resource's holds in memory, current through the hold scripts' announcements (issue 12):
    # cached slot answers then need no Redis round trip. Off: every answer reads the holds from Redis.
    live_view: bool = True
    # Reconciliation (issue 10): bookings that started longer ago than the grace are no longer read from
    # Cal.com; ledger entries whose booking ended longer ago than the retention leave the live ledger
    # (archived).
    reconcile_grace_s: float = Field(86_400.0, ge=0, le=30 * 86_400)
    ledger_retention_s: float = Field(7 * 86_400.0, ge=3600, le=365 * 86_400)
    # The lease that lets one process at a time reconcile (renewed at a third of it while running).
    reconcile_lease_s: float = Field(30.0, ge=1, le=3600)
    # Bookings per list page (Cal.com's `take`, at most 250).
    reconcile_page_size: int = Field(250, ge=1, le=250)
    # Cal.com requests per minute per credential, shared by every process in Redis (0 = off).
    upstream_budget_per_minute: int = Field(120, ge=0, le=100_000)
    # The TTL advisor: the window of quote-to-commit observations it reads, and the bookings it needs
    # in that window before it recommends anything.
    advisor_window_s: float = Field(86_400.0, ge=60, le=30 * 86_400)
    advisor_min_events: int = Field(30, ge=1, le=100_000)
    resource_file: Path | None = None
    # Also settable inline (JSON in CALPROXY_RESOURCE_GROUPS); the file's entries win.
    resource_groups: dict[int, str] = Field(default_factory=dict)

    @field_validator("admin_token", "upstream_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # An empty token would be compared with an empty Authorization header and open the admin API.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(text, str) and not text.strip() else value

    @field_validator("tenant_secret", mode="before")
    @classmethod
    def _secret_not_empty(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and not text.strip():
            raise ValueError("must not be empty (unset it to use the built-in value)")
        return value

    @field_validator("upstream_url")
    @classmethod
    def _upstream_is_http(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.cal.com")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _cluster_needs_url(self) -> Settings:
        if self.redis_cluster and (not self.redis_url or self.redis_url.startswith("unix")):
            raise ValueError("redis_cluster needs redis_url: a redis:// or rediss:// URL of one cluster node")
        return self

    @model_validator(mode="after")
    def _markers_outlive_snapshots(self) -> Settings:
        # A booked slot is hidden by its marker, not by dropping the cached day, so the marker must outlive
        # any snapshot fetched before the booking (plus the fetch itself).
        if self.booked_marker_ttl_s <= self.snapshot_ttl_s + self.upstream_timeout_s:
            raise ValueError("booked_marker_ttl_s must exceed snapshot_ttl_s + upstream_timeout_s")
        low, default, high = self.hold_ttl_min_s, self.hold_ttl_default_s, self.hold_ttl_max_s
        if low > high:
            raise ValueError(f"hold_ttl_min_s ({low:g} s) must not exceed hold_ttl_max_s ({high:g} s)")
        if not low <= default <= high:
            raise ValueError(
                f"hold_ttl_default_s ({default:g} s) must lie between hold_ttl_min_s ({low:g} s)"
                f" and hold_ttl_max_s ({high:g} s)"
            )
        return self

    @property
    def commit_budget_ms(self) -> int:
        """How long a hold in `committing` state lives: create + one lookup, with margin."""
        return int((2 * self.upstream_timeout_s + 5) * 1000)

    def resources(self) -> ResourceFile:
        """The resource file merged over the inline resource groups."""
        loaded = ResourceFile()
        if self.resource_file is not None:
            data: Any = json.loads(self.resource_file.read_text(encoding="utf-8"))
            loaded = ResourceFile.model_validate(data)
        groups = {**self.resource_groups, **loaded.resource_groups}
        return ResourceFile(resource_groups=groups, hold_ttl_overrides_s=loaded.hold_ttl_overrides_s)


class AdminClientSettings(BaseSettings):
    """What `calproxy admin` reads from the environment: where the instance is and its admin token."""

    model_config = SettingsConfigDict(env_prefix="CALPROXY_ADMIN_", extra="ignore")

    url: str = "http://127.0.0.1:8080"
    token: SecretStr | None = None


# Which flag sets which field (for messages); every other field is set by its environment variable only.
FLAGS = {"host": "--host", "port": "--port", "upstream_url": "--upstream", "redis_url": "--redis"}


def env_names(field: str) -> list[str]:
    """The environment variables that set a field, in pydantic-settings' order of precedence."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"CALPROXY_{field.upper()}"]


def _field_of(loc: str) -> str:
    """The field an error location names (pydantic reports an aliased field by its first alias)."""
    for name in Settings.model_fields:
        if loc == name or loc in env_names(name):
            return name
    return loc


def describe_source(field: str, from_flags: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """How a person set this field: the flag, the variable that is set, or the variables that could be."""
    if field in from_flags:
        return FLAGS.get(field, field)
    names = env_names(field)
    set_names = [n for n in names if n in environ]
    return set_names[0] if set_names else " / ".join(names)


def _one_line(error: ValidationError, from_flags: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    problems = []
    for item in error.errors(include_url=False):
        loc = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        if not loc:  # a rule across fields: its message names them by variable
            problems.append(_by_variable(message))
            continue
        field = _field_of(loc)
        shown = item.get("input")
        hidden = field.endswith(("secret", "secrets", "token", "api_key"))
        got = "" if hidden or shown is None else f" (got {shown!r})"
        problems.append(f"{describe_source(field, from_flags, environ)}: {message}{got}")
    return "invalid configuration: " + "; ".join(problems)


def _by_variable(message: str) -> str:
    for name in sorted(Settings.model_fields, key=len, reverse=True):
        message = message.replace(name, env_names(name)[0])
    return message


def load_settings(from_flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Environment and command line validated together; a ConfigError names what to fix, in one line."""
    environ = os.environ if environ is None else environ
    try:
        settings = Settings(**from_flags)
        settings.resources()  # the resource file is read now, not at the first request
    except ValidationError as exc:
        if exc.title == "ResourceFile":
            raise ConfigError(f"CALPROXY_RESOURCE_FILE: {_first_message(exc)}") from None
        raise ConfigError(_one_line(exc, from_flags, environ)) from None
    except SettingsError as exc:
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        raise ConfigError(f"{describe_source(field, {}, environ)}: not valid JSON") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"CALPROXY_RESOURCE_FILE: cannot be read as JSON: {exc}") from None
    return settings


def _first_message(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"
