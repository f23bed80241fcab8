"""Logging: one JSON object per line (structlog), for the proxy, aiohttp and every library alike.

Every value is rendered by the JSON encoder, so a newline or quote inside a value cannot forge a line, and
`scrub` drops credentials whatever a caller passes in. The request id of the request being served rides in a
context variable, so every line logged while serving it carries it without being passed around.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar, Token
from typing import Any, TextIO

import structlog
from aiohttp.http_exceptions import HttpProcessingError
from structlog.typing import EventDict, Processor, WrappedLogger

# Field names whose values are never logged, whatever their form.
SECRET_FIELDS = frozenset(
    {"authorization", "cookie", "set-cookie", "token", "api_key", "apikey", "password", "secret", "email"}
)
# Cal.com keys, bearer tokens and credential headers inside free text (an exception message, a URL, a raw
# request line quoted by a parser error).
_SECRET_TEXT = re.compile(
    r"(cal_(?:live|test)_[A-Za-z0-9_]+|Bearer\s+\S+|apiKey=[^&\s]+"
    r"|(?:authorization|proxy-authorization|cookie|set-cookie|x-cal-secret-key)\s*[:=][^\n'\"]*)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


# Every secret pattern above contains one of these characters; a value with none of them is left as it is
# without running the regular expressions (most values: routes, hashes, names of events).
_SECRET_MARKS = frozenset("@_:= ")


def redact_text(text: str) -> str:
    """Free text with keys, bearer tokens and email addresses replaced by a marker."""
    if _SECRET_MARKS.isdisjoint(text):
        return text
    return _EMAIL.sub("[email]", _SECRET_TEXT.sub("[redacted]", text))


def scrub(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Drop secret fields and redact secrets inside string values (a structlog processor)."""
    for key in list(event_dict):
        if key.lower() in SECRET_FIELDS:
            event_dict[key] = "[redacted]"
        elif isinstance(event_dict[key], str):
            event_dict[key] = redact_text(event_dict[key])
    return event_dict


def summarise_protocol_errors(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A malformed request is one line, not a traceback quoting the raw bytes (headers, cookies) it held.

    aiohttp logs every request its parser refuses with the offending header line inside the exception.
    """
    exc_info = event_dict.get("exc_info")
    error = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) == 3 else None
    if isinstance(error, HttpProcessingError):
        event_dict.pop("exc_info")
        first_line = next((line.strip() for line in str(error.message).splitlines() if line.strip()), "")
        event_dict["error"] = type(error).__name__
        event_dict["reason"] = first_line.rstrip(":")
    return event_dict


# The id of the request being served by this task. One ContextVar of our own rather than structlog's
# bind_contextvars: set and reset on every request, it is a tenth of the cost.
_REQUEST_ID: ContextVar[str | None] = ContextVar("calproxy_request_id", default=None)


def add_request_id(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Put the id of the request being served on the line (a structlog processor)."""
    request_id = _REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


def _shared_processors() -> list[Processor]:
    # scrub runs on what callers and libraries put in, before calproxy adds its own level, logger name and
    # timestamp (which need no scrubbing).
    return [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        summarise_protocol_errors,
        structlog.processors.format_exc_info,
        scrub,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging to one JSON line per event on `stream`."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # httpx logs every request URL at INFO (a v1 URL carries ?apiKey=); aiohttp's access logger prints raw
    # headers in its own format. calproxy writes its own access line instead.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _route_structlog_to_stdlib() -> None:
    # Done at import, not in configure_logging: every structlog event becomes a standard logging record,
    # so pytest's caplog, aiohttp's and any embedding application's handlers see calproxy's events too.
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


_route_structlog_to_stdlib()


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """The logger of one module: `log.info("event_name", field=value, ...)`."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


_audit = get_logger("calproxy.audit")


def audit(action: str, **fields: Any) -> None:
    """One audit line for an operator action (who is implied by the admin token; no secret is passed)."""
    _audit.info("audit", action=action, **fields)


def enter_request(request_id: str) -> Token[str | None]:
    """Every line logged from here in this task carries this request id, until `leave_request`."""
    return _REQUEST_ID.set(request_id)


def leave_request(token: Token[str | None]) -> None:
    """End what `enter_request` began."""
    _REQUEST_ID.reset(token)


def current_request_id() -> str | None:
    """The id of the request being served by this task, if any (sent upstream with every call)."""
    return _REQUEST_ID.get()
