"""JSON exactly as Cal.com's Express server writes it (JSON.stringify: compact, raw UTF-8)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

CONTENT_TYPE = "application/json; charset=utf-8"


def dumps(obj: Any) -> str:
    """Serialize like JSON.stringify: no spaces, non-ASCII kept as is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """Build an aiohttp response with Cal.com's content type and a compact JSON body."""
    response = web.Response(status=status, body=dumps(data).encode("utf-8"), headers=headers)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
