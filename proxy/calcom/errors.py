"""Cal.com-shaped errors and the aiohttp middleware that renders them.

CalcomError(Exception)                 NestJS HttpException envelope {"status":"error",...}
├── BadRequest            400 BadRequestException
│   └── ValidationFailed  400 from the global ValidationPipe: details {"errors":[ValidationError...]}
├── Unauthorized          401 UnauthorizedException
├── Forbidden             403 ForbiddenException
├── NotFound              404 NotFoundException
├── Conflict              409 ConflictException
├── Unprocessable         422 UnprocessableEntityException
├── TooManyRequests       429 ThrottlerException (details is the message string)
└── BareHttpError         any status, bare {"statusCode":n,"message":...} (Nest's unknown-error fallback)
    └── InternalError     500 "Internal server error"
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from proxy.calcom.jsonwire import json_response
from proxy.logs import get_logger

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REASONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def error_timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class CalcomError(Exception):
    """An error Cal.com reports with its NestJS exception-filter envelope."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalServerErrorException"

    def __init__(self, message: str, *, extra_details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra_details: dict[str, Any] = dict(extra_details or {})

    def details(self) -> Any:
        """The `error.details` value: Nest's getResponse() for `new XxxException(message)`."""
        return {
            "message": self.message,
            "error": REASONS.get(self.status, "Error"),
            "statusCode": self.status,
            **self.extra_details,
        }

    def body(self, path: str) -> dict[str, Any]:
        """The JSON body Cal.com sends for this error at request URL `path`."""
        return {
            "status": "error",
            "timestamp": error_timestamp(),
            "path": path,
            "error": {"code": self.code, "message": self.message, "details": self.details()},
        }


class BadRequest(CalcomError):
    """400 BadRequestException."""

    status = 400
    code = "BadRequestException"


class ValidationFailed(BadRequest):
    """The global ValidationPipe's `new BadRequestException({errors})` (bootstrap.ts:58-70).

    An object response with no `message` makes Nest name the exception after its class, so the message
    is "Bad Request Exception" and `details` is the object itself: no message, error or statusCode.
    """

    MESSAGE: ClassVar[str] = "Bad Request Exception"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(self.MESSAGE)
        self.errors = errors

    def details(self) -> Any:
        """`{"errors": [...]}`: class-validator's ValidationErrors as JSON."""
        return {"errors": self.errors}


class Unauthorized(CalcomError):
    """401 UnauthorizedException."""

    status = 401
    code = "UnauthorizedException"


class Forbidden(CalcomError):
    """403 ForbiddenException."""

    status = 403
    code = "ForbiddenException"


class NotFound(CalcomError):
    """404 NotFoundException."""

    status = 404
    code = "NotFoundException"


class Conflict(CalcomError):
    """409 ConflictException."""

    status = 409
    code = "ConflictException"


class Unprocessable(CalcomError):
    """422 UnprocessableEntityException."""

    status = 422
    code = "UnprocessableEntityException"


class TooManyRequests(CalcomError):
    """429 ThrottlerException; built from a string, so `details` is that string."""

    status = 429
    code = "ThrottlerException"
    MESSAGE: ClassVar[str] = "CustomThrottlerGuard - Too many requests. Please try again later."

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)

    def details(self) -> Any:
        """The bare message string, as ThrottlerException carries it."""
        return self.message


class BareHttpError(CalcomError):
    """An error Nest's fallback filter renders as `{"statusCode":n,"message":...}` (no envelope)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.bare_status = status

    def body(self, path: str) -> dict[str, Any]:
        """The bare body; `path` is not part of it."""
        return {"statusCode": self.bare_status, "message": self.message}


class InternalError(BareHttpError):
    """500 `{"statusCode":500,"message":"Internal server error"}` for any unexpected error."""

    def __init__(self) -> None:
        super().__init__(500, "Internal server error")


def status_of(error: CalcomError) -> int:
    """The HTTP status of an error (bare errors carry their own)."""
    return error.bare_status if isinstance(error, BareHttpError) else error.status


def error_response(error: CalcomError, path: str) -> web.Response:
    """Render a CalcomError as the response Cal.com would send."""
    return json_response(error.body(path), status=status_of(error))


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> CalcomError | None:
    if isinstance(exc, web.HTTPNotFound | web.HTTPMethodNotAllowed):
        # Express answers unknown routes and wrong methods alike: Nest's 404 "Cannot METHOD url".
        return NotFound(f"Cannot {request.method} {request.path_qs}")
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        # body-parser's PayloadTooLargeError has statusCode+message, so Nest renders it bare.
        return BareHttpError(413, "request entity too large")
    return None


@web.middleware
async def calcom_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render CalcomErrors, aiohttp's 404/405/413 and unexpected exceptions in Cal.com's shapes."""
    return await in_calcom_shape(request, handler)


# What an app maps its own exceptions to before they are rendered: a Cal.com error, a finished answer, or None
# (not one of its own: rendered as an internal error).
Translate = Callable[[web.Request, Exception], "CalcomError | web.StreamResponse | None"]


async def in_calcom_shape(
    request: web.Request, handler: Handler, translate: Translate | None = None
) -> web.StreamResponse:
    """The handler's answer, or its error rendered as Cal.com renders it (the middleware's body, callable
    from another middleware so that an app needs one middleware layer: each layer costs as much as a
    cached slot answer's own work). `translate` maps the app's own exceptions first."""
    try:
        return await handler(request)
    except CalcomError as error:
        return error_response(error, request.path_qs)
    except web.HTTPException as exc:
        mapped = _from_http_exception(request, exc)
        if mapped is None:
            raise
        return error_response(mapped, request.path_qs)
    except Exception as exc:
        translated = translate(request, exc) if translate is not None else None
        if isinstance(translated, web.StreamResponse):
            return translated
        if isinstance(translated, CalcomError):
            return error_response(translated, request.path_qs)
        log.exception("unhandled_error", method=request.method, path=request.path)
        return error_response(InternalError(), request.path_qs)


class ZodBadRequest(CalcomError):
    """A ZodError rendered by Cal.com's ZodExceptionFilter (filters/zod-exception.filter.ts): no details."""

    status = 400
    code = "BAD_REQUEST"

    def body(self, path: str) -> dict[str, Any]:
        """The filter's body: status, timestamp, path and {code, message} only."""
        return {
            "status": "error",
            "timestamp": error_timestamp(),
            "path": path,
            "error": {"code": self.code, "message": self.message},
        }
