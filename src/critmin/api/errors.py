"""Every error leaves the API as ``{"error": "<what to fix>"}`` with a 4xx status.

Library errors keep their one-line message: an unknown name (commodity, group …) is 404 with
its "did you mean" hint, a scenario that does not validate is 422 with ``FILE:LINE: field``,
any other :class:`~critmin.errors.CritminError` is 400. Request-shape errors from FastAPI are
turned into one line naming the field.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from critmin.errors import CritminError, UnknownNameError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error with a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def not_found(kind: str, ident: str) -> ApiError:
    """The same answer whether the thing does not exist or belongs to someone else."""
    return ApiError(404, f"no {kind} with id {ident!r} (check the id; list them with GET)")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def error_body(message: str) -> dict[str, str]:
    return {"error": message}


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the ``{"error": …}`` shape."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from critmin.scenario.yamlio import ScenarioFileError

    def respond(status: int, message: str) -> JSONResponse:
        from fastapi.responses import JSONResponse

        return JSONResponse(error_body(message), status_code=status)

    async def api_error(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, ApiError)
        return respond(err.status, err.message)

    async def critmin_error(_: Request, err: Exception) -> JSONResponse:
        if isinstance(err, ScenarioFileError):
            return respond(422, str(err))
        if isinstance(err, UnknownNameError):
            return respond(404, str(err))
        return respond(400, str(err))

    async def http_error(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, HTTPException)
        detail = err.detail if isinstance(err.detail, str) else str(err.detail)
        if err.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; the API is described at /openapi.json"
        elif err.status_code == 405:
            detail = "method not allowed on this endpoint; see /openapi.json"
        return respond(err.status_code, detail)

    async def request_error(_: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, RequestValidationError)
        return respond(422, describe_validation(err.errors()))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(CritminError, critmin_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_error)


def describe_validation(errors: Any) -> str:
    """The first request error as one line: ``body.name: Field required`` (+ how many more)."""
    errors = list(errors)
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    message = f"{where}: {first.get('msg', 'invalid')}"
    if first.get("input") is not None and first.get("type") != "missing":
        text = repr(first["input"])
        message += f" (got {text[:60]})"
    if len(errors) > 1:
        message += f" (+{len(errors) - 1} more)"
    return message
