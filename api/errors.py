"""Domain errors to HTTP answers: one table, one error body.

Every :class:`~beatgrid.gis.errors.BeatGridError` becomes the status of its class in
:data:`STATUS` (the nearest base class counts) with the JSON body
``{"error": ..., "fix": ..., "type": ...}`` (plus ``problems`` for validation
errors). A request FastAPI cannot parse (a missing or mistyped body key, an unknown
one: request models forbid extra keys) gets the same body with 422. Anything else
is a bug: 500 with the same body shape and no traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from beatgrid.api.rendering import plain
from beatgrid.gis.errors import (BeatGridError, ConflictError, CRSError, InputError,
                                 NotFoundError, PolicyError, StoreUnavailableError,
                                 ValidationError)

log = logging.getLogger(__name__)

#: Domain error class -> HTTP status. The first class in the error's MRO found here wins.
STATUS: dict[type[BeatGridError], int] = {
    InputError: 422,
    CRSError: 422,
    PolicyError: 422,
    ValidationError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    StoreUnavailableError: 503,
    BeatGridError: 400,
}


def status_of(exc: BeatGridError) -> int:
    """The HTTP status of a domain error (:data:`STATUS`).

    Examples
    --------
    >>> status_of(NotFoundError("grid 'G9' is not in the project")), status_of(InputError("x"))
    (404, 422)
    """
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(exc: BeatGridError) -> dict[str, Any]:
    """The JSON body for a domain error.

    Examples
    --------
    >>> error_body(ConflictError("grid G1 is locked", fix="unlock it first"))
    {'error': 'grid G1 is locked', 'fix': 'unlock it first', 'type': 'ConflictError'}
    """
    body: dict[str, Any] = {"error": exc.message, "fix": exc.fix, "type": type(exc).__name__}
    if isinstance(exc, ValidationError):
        body["problems"] = [
            {"severity": p.severity, "layer": p.layer, "row_id": plain(p.row_id),
             "column": p.column, "value": plain(p.value), "message": p.message, "fix": p.fix}
            for p in exc.problems
        ]
    return body


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def request_error(exc: RequestValidationError) -> InputError:
    """The domain error for a request FastAPI could not parse (first problem named)."""
    errors = exc.errors()
    if not errors:
        return InputError("the request could not be read", fix="see GET /docs")
    first = errors[0]
    where = _where(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return InputError(f"unknown key {where!r} in the request body",
                          fix="remove it; GET /docs lists the keys of every endpoint")
    if kind == "missing":
        return InputError(f"{where!r} is required", fix="give it; GET /docs shows an example")
    if kind in ("json_invalid", "model_attributes_type", "dict_type"):
        return InputError("the request body is not a JSON object",
                          fix="send a JSON object with Content-Type: application/json")
    value = first.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (value: {value!r})"
    return InputError(f"{where}: {first.get('msg', 'invalid')}{shown}",
                      fix="correct it; GET /docs shows the types and an example")


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain, request and last-resort error handlers on ``app``."""

    @app.exception_handler(BeatGridError)
    async def domain_error(request: Request, exc: BeatGridError) -> JSONResponse:  # noqa: ARG001
        return JSONResponse(status_code=status_of(exc), content=error_body(exc))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request,  # noqa: ARG001
                              exc: RequestValidationError) -> JSONResponse:
        err = request_error(exc)
        return JSONResponse(status_code=422, content=error_body(err))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={
            "error": "internal error: the request could not be completed",
            "fix": "retry; if it persists, report it with the server log",
            "type": "InternalError"})
