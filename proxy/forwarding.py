"""Pure header rules for forwarding requests to Cal.com and answers back (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# RFC 9110 §7.6.1 hop-by-hop headers, plus those the HTTP clients recompute themselves.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# httpx decodes compressed bodies, so the encoding header would lie about what we send back.
DECODED = frozenset({"content-encoding"})
# Ours, never Cal.com's business.
PROXY_ONLY = frozenset({"x-call-id", "idempotency-key"})


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(","))
    return tokens


def request_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Caller headers to send upstream: everything but hop-by-hop and calproxy's own."""
    items = list(headers)
    drop = HOP_BY_HOP | PROXY_ONLY | _connection_tokens(items)
    return [(n, v) for n, v in items if n.lower() not in drop]


def response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Upstream headers to send back: everything but hop-by-hop and the (decoded) content encoding."""
    items = list(headers)
    drop = HOP_BY_HOP | DECODED | _connection_tokens(items)
    return [(n, v) for n, v in items if n.lower() not in drop]


def credentials(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's Cal.com credentials (Authorization, platform client id and secret)."""
    wanted = ("authorization", "x-cal-client-id", "x-cal-secret-key")
    return {name: value for name, value in headers.items() if name.lower() in wanted}
