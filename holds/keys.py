"""The only module that knows key formats.

Every key of one resource is ``{prefix}:hold:{<tag>}:<kind>`` where ``<tag>`` is the resource with
'%', '{' and '}' percent-escaped, so the braces delimit a Redis Cluster hash tag that is unique to
the resource and shared by all its kinds:

====  =====  =====================================================================
kind  type   content
====  =====  =====================================================================
h     hash   uid -> compact record (see holds.records)
s     zset   uid scored by start_ms (overlap queries)
x     zset   uid scored by expires_at_ms (pruning, latest expiry)
o     zset   ``owner NUL uid`` at score 0, read by lex range (per-owner cap)
m     hash   maxlen (longest interval ever stored), seq (creation counter), fence (commit counter)
====  =====  =====================================================================

The TTL policy lives in ``{prefix}:policy:{policy}`` (hash) and changes are announced on the pub/sub
channel ``{prefix}:policy:{policy}:changed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from holds.errors import InvalidHold

KINDS = ("h", "s", "x", "o", "m")
_ESCAPES = {"%": "%25", "{": "%7B", "}": "%7D"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_UNESCAPE = re.compile("%25|%7B|%7D")
_GLOB_SPECIALS = "\\*?[]^"


def escape_resource(resource: str) -> str:
    """Percent-escape '%', '{' and '}' so the resource can sit inside a hash tag."""
    return "".join(_ESCAPES.get(ch, ch) for ch in resource)


def unescape_resource(tag: str) -> str:
    """Inverse of escape_resource."""
    return _UNESCAPE.sub(lambda m: _UNESCAPES[m.group(0)], tag)


def check_prefix(prefix: str) -> None:
    """Reject a prefix that would break the hash tag (braces) or be empty."""
    if not prefix or "{" in prefix or "}" in prefix:
        raise InvalidHold(f"key prefix must be non-empty and free of braces, got {prefix!r}")


@dataclass(frozen=True)
class ResourceKeys:
    """The five keys of one resource, in the order every script receives them as KEYS."""

    holds: str
    by_start: str
    by_expiry: str
    by_owner: str
    meta: str

    def as_list(self) -> list[str]:
        """KEYS[1..5] for the Lua scripts."""
        return [self.holds, self.by_start, self.by_expiry, self.by_owner, self.meta]


def resource_keys(prefix: str, resource: str) -> ResourceKeys:
    """All keys of one resource."""
    base = f"{prefix}:hold:{{{escape_resource(resource)}}}:"
    return ResourceKeys(*(base + kind for kind in KINDS))


def events_channel(prefix: str, resource: str) -> str:
    """The sharded pub/sub channel announcing each change of the resource's holds (its keys' hash tag).

    The scripts derive it from the holds key (its last letter replaced by ``e``); this is the same rule.
    """
    return resource_keys(prefix, resource).holds[:-1] + "e"


def holds_key_pattern(prefix: str) -> str:
    """SCAN MATCH pattern for the hold hash of every resource (operator listing only)."""
    escaped = "".join("\\" + ch if ch in _GLOB_SPECIALS else ch for ch in prefix)
    return f"{escaped}:hold:{{*}}:h"


def resource_from_holds_key(prefix: str, key: str) -> str | None:
    """The resource a hold hash key belongs to, or None if the key is not one of ours."""
    head = f"{prefix}:hold:{{"
    if not key.startswith(head) or not key.endswith("}:h"):
        return None
    tag = key[len(head) : -len("}:h")]
    if "{" in tag or "}" in tag:
        return None
    return unescape_resource(tag)


def policy_key(prefix: str) -> str:
    """The hash holding the TTL policy."""
    return f"{prefix}:policy:{{policy}}"


def policy_channel(prefix: str) -> str:
    """The pub/sub channel on which policy changes are announced."""
    return f"{prefix}:policy:{{policy}}:changed"
