"""Settings: the only module that reads the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ResourceFile(BaseModel):
    """The optional operator file: per-resource TTLs and resource groups."""

    model_config = {"extra": "forbid"}

    # event type id -> group name; event types in one group share holds (e.g. one host calendar).
    resource_groups: dict[int, str] = Field(default_factory=dict)
    # resource name ("et:1001" or a group name) -> hold TTL in seconds.
    hold_ttl_overrides_s: dict[str, float] = Field(default_factory=dict)


class Settings(BaseSettings):
    """Every knob of calproxy, from CALPROXY_* variables (REDIS_URL and PORT also accepted)."""

    model_config = SettingsConfigDict(env_prefix="CALPROXY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, validation_alias=AliasChoices("CALPROXY_PORT", "PORT"))
    upstream_url: str | None = None
    redis_url: str | None = Field(None, validation_alias=AliasChoices("CALPROXY_REDIS_URL", "REDIS_URL"))
    key_prefix: str = Field("calproxy", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")

    # Used by the proxy itself (reconciliation, resolving unknown outcomes); never sent on a caller's behalf.
    upstream_api_key: SecretStr | None = None
    admin_token: SecretStr | None = None
    # Keys the tenant hash; every process of one deployment must share it.
    tenant_secret: SecretStr = SecretStr("calproxy-default-tenant-secret")

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

    reconcile_interval_s: float = Field(60.0, ge=0, le=86400)
    resource_file: Path | None = None
    # Also settable inline (JSON in CALPROXY_RESOURCE_GROUPS); the file's entries win.
    resource_groups: dict[int, str] = Field(default_factory=dict)

    @field_validator("upstream_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _markers_outlive_snapshots(self) -> Settings:
        # A booked slot is hidden by its marker, not by dropping the cached day, so the marker must outlive
        # any snapshot fetched before the booking (plus the fetch itself).
        if self.booked_marker_ttl_s <= self.snapshot_ttl_s + self.upstream_timeout_s:
            raise ValueError("booked_marker_ttl_s must exceed snapshot_ttl_s + upstream_timeout_s")
        if self.hold_ttl_min_s > self.hold_ttl_max_s:
            raise ValueError("hold_ttl_min_s must not exceed hold_ttl_max_s")
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
