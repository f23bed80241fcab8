"""Pure rules for what the passthrough may forward to Cal.com, and the upstream path it forwards to (no I/O).

The passthrough relays "everything else under /v1 and /v2" to Cal.com. Whatever reaches the upstream must
stay under those prefixes, whatever the encoding a client tries: the rules work on the request target as the
client sent it (aiohttp's `request.raw_path`), never on aiohttp's decoded `request.path`, because a decoded
path re-parsed by httpx has its `..` segments resolved (`/v2/../_sim/reset` becomes `/_sim/reset`) and an
encoded one (`/v2/%2e%2e/_sim/reset`) is resolved by the upstream's own router.

The rule (each refusal carries a short reason for the log line, never the path):
1. Only methods Cal.com serves are forwarded: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS. TRACE (it echoes
   the request, credentials included), CONNECT and extension methods (PROPFIND, ...) never go upstream.
2. The request target is in origin form (`/path?query`), carries no fragment (`#`), and its path is at most
   `MAX_PATH_BYTES` bytes long.
3. The path is `/v1/` or `/v2/` (literally, not encoded) followed by segments; no segment is empty (`//`),
   except that one trailing slash is kept, as Express (Cal.com's router) treats it as the same route.
4. Each segment is percent-decoded exactly once, strictly: every `%` starts a two-hex-digit escape (`%zz` is
   refused) and the bytes are UTF-8 (`%ff` is refused). The decoded segment is refused when it is a dot
   segment (`.` or `..`, however encoded: `%2e%2e`, `.%2e`, `%2E.`), contains a slash or backslash (`%2f`,
   `%5c`, `\\`), a control character (C0, DEL, C1 — `%00`, `%0A`, `%0D`, `%1b`, `%7f`) or a line/paragraph
   separator, or still contains a percent escape (a double encoding such as `%252e%252e`: whoever decodes it
   a second time would see `..`).
5. The upstream path is rebuilt from the decoded segments, each re-encoded (RFC 3986 pchar), and appended to
   the configured upstream base URL, so a base path prefix (`https://host/prefix`) is kept and can't be left.
6. The query string is kept as sent; it may carry no control character or whitespace (the HTTP parser
   refuses them already; this keeps httpx from ever raising on one).

Everything refused is answered like Cal.com's router answers an unknown route: 404 "Cannot METHOD path".

The proxy's own upstream calls put identifiers taken from a client's path into upstream paths
(`/v2/bookings/{uid}/reschedule`); `booking_uid_segment` makes such a value exactly one segment, so
`/v2/bookings/..%2f..%2fv2%2fwebhooks/reschedule` cannot turn into `GET /v2/webhooks` with calproxy's own key.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from proxy.calcom.errors import NotFound

# Methods Cal.com's API serves; HEAD and OPTIONS (CORS preflight) change nothing upstream.
FORWARDED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The passthrough's prefixes: Cal.com's v1 and v2 APIs, nothing else of the upstream host.
PREFIXES: Final = frozenset({"v1", "v2"})
# No Cal.com route comes near this; it bounds the work and what a refusal echoes back.
MAX_PATH_BYTES: Final = 2048
# RFC 3986 pchar minus "%": unreserved, sub-delims, ":" and "@" stay as they are when re-encoding.
_PCHAR_SAFE: Final = "-._~!$&'()*+,;=:@"
_HEX: Final = frozenset("0123456789abcdefABCDEF")
# Unicode line and paragraph separators: some log viewers and JavaScript treat them as line breaks.
_SEPARATORS: Final = frozenset({"\u2028", "\u2029"})


class Refused(Exception):
    """The request may not be forwarded; `reason` is a short, fixed token for logs (never the path)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class UpstreamTarget:
    """Where a confined request goes: the re-encoded path, and the query as sent (None when absent)."""

    path: str
    query: str | None

    @property
    def relative_url(self) -> str:
        """`path?query`, relative, for an HTTP client whose base URL is the upstream (prefix kept)."""
        return self.path if self.query is None else f"{self.path}?{self.query}"


def _strict_unquote(segment: str) -> str:
    """Percent-decode once; malformed escapes and non-UTF-8 bytes are refused, not guessed at."""
    if "%" not in segment:
        return segment
    out = bytearray()
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "%":
            escape = segment[i + 1 : i + 3]
            if len(escape) != 2 or not set(escape) <= _HEX:
                raise Refused("bad_escape")
            out.append(int(escape, 16))
            i += 3
        else:
            out.extend(char.encode("utf-8"))
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("not_utf8") from None


def _has_escape(text: str) -> bool:
    return any(len(tail) >= 2 and set(tail[:2]) <= _HEX for tail in text.split("%")[1:])


def _unsafe_char(text: str) -> bool:
    # Category Cc is C0 (NUL, LF, CR, ESC...), DEL and C1 (NEL...): never part of a Cal.com route, and the
    # characters that forge log lines or make httpx refuse the URL.
    return any(unicodedata.category(c) == "Cc" or c in _SEPARATORS for c in text)


def check_segment(raw: str) -> str:
    """One raw path segment, decoded and checked; the re-encoded segment to forward."""
    if raw == "":
        raise Refused("empty_segment")
    decoded = _strict_unquote(raw)
    if decoded in (".", ".."):
        raise Refused("dot_segment")
    if "/" in decoded or "\\" in decoded:
        raise Refused("slash_in_segment")
    if _unsafe_char(decoded):
        raise Refused("control_character")
    if _has_escape(decoded):
        # Double encoding (`%252e`): one more decode anywhere downstream would change the path.
        raise Refused("double_encoding")
    return quote(decoded, safe=_PCHAR_SAFE)


def booking_uid_segment(uid: str) -> str:
    """A booking uid (already decoded from the client's path) as exactly one upstream path segment.

    The same segment rule as the passthrough's: a uid that is a dot segment, or holds a slash, backslash,
    control character or percent escape names no booking, and sending it would move the path on any
    intermediary that decodes or normalises; Cal.com's 404 for an unknown uid, without asking Cal.com.
    `?`, `#` and the like are escaped, so they stay inside the segment.
    """
    try:
        return check_segment(quote(uid, safe=""))
    except Refused:
        raise NotFound(f"Booking with uid={uid} was not found in the database") from None


def confine(method: str, raw_target: str) -> UpstreamTarget:
    """The upstream target of a passthrough request, from its method and raw request target, or Refused."""
    if method not in FORWARDED_METHODS:
        raise Refused("method")
    if "#" in raw_target:
        raise Refused("fragment")
    path, has_query, query = raw_target.partition("?")
    if not path.startswith("/"):
        # Absolute form (`GET http://host/v2/me`) or `*`: calproxy is no forward proxy.
        raise Refused("not_origin_form")
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise Refused("too_long")
    if has_query and any(c.isspace() or unicodedata.category(c) == "Cc" for c in query):
        raise Refused("control_character")
    prefix, *rest = path[1:].split("/")
    if prefix not in PREFIXES or not rest:
        raise Refused("prefix")
    trailing_slash = rest[-1] == ""
    if trailing_slash:
        rest.pop()
    segments = [check_segment(segment) for segment in rest]
    rebuilt = "/".join(["", prefix, *segments]) + ("/" if trailing_slash else "")
    return UpstreamTarget(path=rebuilt, query=query if has_query else None)
