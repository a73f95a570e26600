"""RFC 9457 problem details: one stable `type` per cause, for every error the API answers."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ExceptionHandlersMap

from events import errors as store_errors
from events.page_token import InvalidPageToken
from services.api.request_context import valid_id
from services.domain.refusal import Refused
from services.domain.refusal_codes import Kind
from services.handlers.auth import Forbidden, Unauthenticated
from services.handlers.command_path import Busy, StaleVersion

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/problems/"
DATABASE_RETRY_AFTER_SECONDS = 5
"""What a client is told to wait (`Retry-After`) while the database cannot be reached."""

UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, unresolvable, timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or is gone
    asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InterfaceError,  # the connection was closed under the request
    asyncpg.InternalClientError,  # the protocol lost its state when the server went away
)
"""Errors that mean PostgreSQL cannot be reached (as opposed to a query it refused)."""


def database_unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, says the database cannot be reached."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UNREACHABLE):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


class DatabaseOutage:
    """Logs an outage once when it begins and once when it ends, however many requests it
    refuses in between (not a traceback per request)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.refused = 0

    def failed(self, error: BaseException) -> None:
        self.refused += 1
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                "database unavailable; answering 503 database-unavailable until it returns",
                error=f"{type(error).__name__}: {error}",
            )

    def recovered(self) -> None:
        if self.since is not None:
            log.info(
                "database reachable again",
                outage_seconds=round(time.monotonic() - self.since, 1),
                failures=self.refused,
            )
            self.since, self.refused = None, 0


OUTAGE = DatabaseOutage()
"""This process's view of the database's reachability (requests, readiness and the API's
background loop report to it)."""


class Problem(Exception):
    """An error the API answers with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


RETRY_AFTER_SECONDS = {503: 5, 429: 1}
"""`Retry-After` of a 503, and of a 429 that names none; a 409 `busy` says 1."""


def _retry_after(problem: Problem) -> str | None:
    if "Retry-After" in problem.headers:
        return problem.headers["Retry-After"]
    if problem.code == "busy":
        return "1"
    seconds = RETRY_AFTER_SECONDS.get(problem.status)
    return str(seconds) if seconds is not None else None


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
    }
    if problem.detail:
        body["detail"] = problem.detail
    body["instance"] = request.url.path
    state = request.scope.setdefault("state", {})
    if "request_id" not in state:
        # Unmatched routes (404, 405) are answered before route middleware runs: the same
        # validation as there, so an ill-formed id is replaced, never echoed.
        state["request_id"] = valid_id(request.headers.get("x-request-id")) or uuid.uuid4().hex
    body["request_id"] = state["request_id"]
    body.update(problem.extra)
    headers = {**problem.headers, "X-Request-ID": state["request_id"]}
    retry_after = _retry_after(problem)
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Response(
        body,
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _from_store_error(error: store_errors.StoreError) -> Problem:
    match error:
        case store_errors.VersionConflict():
            return Problem(
                409,
                error.code,
                "The stream has moved on",
                str(error),
                stream_id=error.stream_id,
                expected_version=error.expected,
                actual_version=error.actual,
            )
        case store_errors.ReservationTaken():
            return Problem(
                409, error.code, "Already taken", str(error), scope=error.scope, key=error.key
            )
        case store_errors.IdempotencyKeyReused():
            return Problem(422, error.code, "Idempotency key reused", str(error))
        case store_errors.UnstorableText():
            return Problem(422, error.code, "Text cannot be stored", str(error))
        case store_errors.DuplicateEvent():
            return Problem(409, error.code, "Duplicate event", str(error))
        case store_errors.Conflict():
            return Problem(409, error.code, "Conflicting concurrent request", str(error))
        case store_errors.CursorFromAnotherEpoch():
            return Problem(
                410,
                error.code,
                "Cursor from before a restore",
                str(error),
                restart_from=None,
                current_epoch=error.current_epoch,
            )
        case store_errors.InvalidCursor():
            return Problem(400, error.code, "Invalid cursor", str(error))
        case store_errors.ClockSkew():
            return Problem(503, error.code, "Clock out of step with the database", str(error))
        case _:
            return Problem(500, "internal-error", "Internal error")


_HTTP_CODES = {
    400: ("invalid-request", "The request is not valid"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("body-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


def handle_database_unavailable(
    request: Request[Any, Any, Any], error: BaseException
) -> Response[Any]:
    OUTAGE.failed(error)
    response = problem_response(
        request,
        Problem(
            503,
            "database-unavailable",
            "Database unavailable",
            "the database cannot be reached; retry after the time given in Retry-After",
        ),
    )
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def handle_unreachable(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The errors of UNREACHABLE: a 503 when the database is away, else a 500 as any other."""
    if database_unreachable(error):
        return handle_database_unavailable(request, error)
    return handle_unexpected(request, error)


def handle_problem(request: Request[Any, Any, Any], error: Problem) -> Response[Any]:
    return problem_response(request, error)


def handle_store_error(
    request: Request[Any, Any, Any], error: store_errors.StoreError
) -> Response[Any]:
    problem = _from_store_error(error)
    if problem.status == 500 and database_unreachable(error):
        return handle_database_unavailable(request, error)
    if problem.status >= 500:
        log.error("store error", error=str(error), exc_info=error)
    return problem_response(request, problem)


def handle_http_exception(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if isinstance(error, ValidationException):
        return problem_response(
            request,
            Problem(
                400,
                "invalid-request",
                "The request is not valid",
                str(error.detail),
                errors=error.extra or [],
            ),
        )
    if isinstance(error, NotFoundException):
        return problem_response(request, Problem(404, "not-found", "Not found", error.detail))
    if isinstance(error, NotAuthorizedException | PermissionDeniedException):
        code, title = _HTTP_CODES[error.status_code]
        return problem_response(request, Problem(error.status_code, code, title, error.detail))
    status = error.status_code
    code, title = _HTTP_CODES.get(status, (f"http-{status}", "HTTP error"))
    detail = error.detail
    if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        detail = "the request body exceeds the limit of this endpoint"
    if status >= 500:
        log.error("http error", status=status, detail=detail)
    # litestar's own headers stay: a 405 names the methods the path takes (`Allow`).
    headers = {str(k): str(v) for k, v in (error.headers or {}).items()}
    return problem_response(request, Problem(status, code, title, detail, headers=headers))


def handle_unstorable_text(
    request: Request[Any, Any, Any], error: asyncpg.PostgresError
) -> Response[Any]:
    return problem_response(
        request,
        Problem(
            422,
            "unstorable-text",
            "Text cannot be stored",
            "a text holds a character PostgreSQL cannot store (such as U+0000)",
        ),
    )


def handle_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if database_unreachable(error):
        return handle_database_unavailable(request, error)
    log.error("unhandled error", error=repr(error), exc_info=error)
    return problem_response(
        request,
        Problem(
            500,
            "internal-error",
            "Internal error",
            "the server failed to answer; the request id identifies it in the logs",
        ),
    )


STATUS_OF_KIND = {
    Kind.NOT_FOUND: 404,
    Kind.EXISTS: 409,
    Kind.TAKEN: 409,
    Kind.GONE: 410,
    Kind.UNKNOWN_REFERENCE: 422,
    Kind.INVALID: 422,
    Kind.RULE: 422,
}
"""A refusal's status follows from its code's kind (`services/domain/refusal_codes.py`)."""

SHELL_PROBLEMS = {
    **{code: status for status, (code, _) in _HTTP_CODES.items()},
    # the store's errors (_from_store_error)
    "version-conflict": 409,
    "reservation-taken": 409,
    "conflict": 409,
    "duplicate-event": 409,
    "idempotency-key-reused": 422,
    "unstorable-text": 422,
    "invalid-cursor": 400,
    "cursor-epoch-gone": 410,
    "clock-skew": 503,
    # the shell's own
    "database-unavailable": 503,
    "internal-error": 500,
    "stale-version": 409,
    "busy": 409,
    "not-ready": 503,
    "invalid-idempotency-key": 400,
    "invalid-if-match": 400,
    "invalid-page": 400,
    "invalid-import": 400,
    "verify-scope": 400,
    "unknown-stream": 404,
    "no-seal": 404,
    "unknown-token": 404,
    "unknown-plan-then": 404,
    "not-in-effect-then": 404,
    "naive-time": 422,
    "invalid-time": 422,
    "future-instant": 422,
    "json-too-deep": 400,
    "duplicate-json-key": 400,
    "invalid-period": 400,
    "invalid-id": 422,
}
"""Every problem the HTTP shell and the store answer with, besides the domain's refusals, and
its status (a unit test checks each `Problem(...)` of services/api against it, and the README's
list against both)."""


def handle_refused(request: Request[Any, Any, Any], error: Refused) -> Response[Any]:
    status = STATUS_OF_KIND[error.code.kind]
    reserved = {"type", "title", "status", "detail", "instance", "code"}
    extra = {k: v for k, v in error.extra.items() if v is not None and k not in reserved}
    return problem_response(
        request,
        Problem(
            status, error.code, error.code.replace("-", " ").capitalize(), error.detail, **extra
        ),
    )


def handle_stale(request: Request[Any, Any, Any], error: StaleVersion) -> Response[Any]:
    return problem_response(
        request,
        Problem(
            409,
            "stale-version",
            "The resource has changed",
            str(error),
            stream_id=error.stream_id,
            expected_version=error.expected,
            actual_version=error.actual,
        ),
    )


def handle_busy(request: Request[Any, Any, Any], error: Busy) -> Response[Any]:
    return problem_response(
        request, Problem(409, "busy", "Too many concurrent changes", str(error))
    )


def handle_invalid_page(request: Request[Any, Any, Any], error: InvalidPageToken) -> Response[Any]:
    return problem_response(request, Problem(400, "invalid-page", "Invalid page token", str(error)))


def handle_unauthenticated(
    request: Request[Any, Any, Any], error: Unauthenticated
) -> Response[Any]:
    response = problem_response(
        request, Problem(401, "unauthenticated", "Authentication required", str(error))
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="campaign-ledger"'
    return response


def handle_forbidden(request: Request[Any, Any, Any], error: Forbidden) -> Response[Any]:
    return problem_response(request, Problem(403, "forbidden", "Not allowed", str(error)))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Problem: handle_problem,
    Refused: handle_refused,
    StaleVersion: handle_stale,
    Busy: handle_busy,
    Unauthenticated: handle_unauthenticated,
    Forbidden: handle_forbidden,
    InvalidPageToken: handle_invalid_page,
    store_errors.StoreError: handle_store_error,
    HTTPException: handle_http_exception,
    asyncpg.exceptions.CharacterNotInRepertoireError: handle_unstorable_text,
    asyncpg.exceptions.UntranslatableCharacterError: handle_unstorable_text,
    **dict.fromkeys(UNREACHABLE, handle_unreachable),
    Exception: handle_unexpected,
}
