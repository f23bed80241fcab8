"""Request bodies as Cal.com's Express/Nest stack reads them: JSON or Cal.com's 400."""

from __future__ import annotations

import json

from aiohttp import web

from proxy.calcom.errors import BadRequest


def _json_error(text: str, error: json.JSONDecodeError) -> str:
    if error.pos >= len(text):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[error.pos]} in JSON at position {error.pos}"


class _JsConstantError(ValueError):
    """NaN, Infinity or -Infinity, which JSON.parse refuses."""


def _reject_constant(name: str) -> object:
    raise _JsConstantError(name)


async def read_json(request: web.Request) -> object:
    """The parsed JSON body, or None when the body is empty; malformed JSON is Cal.com's 400."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("Body is not valid UTF-8 JSON") from exc
    try:
        # JSON.parse has no NaN or Infinity.
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(_json_error(text, exc)) from exc
    except _JsConstantError as exc:
        name = str(exc)
        raise BadRequest(f"Unexpected token {name[0]} in JSON at position {max(text.find(name), 0)}") from exc
    except RecursionError as exc:
        raise BadRequest("Body nests too deeply") from exc
    except ValueError as exc:
        # Python refuses integers of more than 4300 digits; JSON.parse would read them as a float.
        raise BadRequest("Body has a number too long to parse") from exc
