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
from pydantic import BaseModel
from pydantic_core import PydanticCustomError

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
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


_JSON_KINDS = {"string": "string", "integer": "whole number", "number": "number",
               "boolean": "true/false", "object": "table", "array": "list"}


def _kind(prop: dict[str, Any]) -> str:
    """A JSON-schema property in words: ``whole number``, ``list of strings``..."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    if not options:
        return "value"
    first = options[0]
    kind = first.get("type", "value")
    if kind == "array":
        return f"list of {_kind(first.get('items', {}))}s"
    return _JSON_KINDS.get(kind, str(kind))


def _body_schema(request: Request | None) -> dict[str, Any]:
    """The JSON schema of the route's request body model ({} when it has none)."""
    route = request.scope.get("route") if request is not None else None
    params = getattr(getattr(route, "dependant", None), "body_params", None) or []
    model = getattr(params[0].field_info, "annotation", None) if params else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema: dict[str, Any] = model.model_json_schema()
        return schema
    return {}


def _keys_hint(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    if not props:
        return "correct it; GET /docs shows the types and an example"
    return "send a JSON object with " + ", ".join(f"{k} ({_kind(v)})" for k, v in props.items())


def _range_hint(name: str, prop: dict[str, Any]) -> str | None:
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"] or [prop]
    lo = options[0].get("minimum", options[0].get("exclusiveMinimum"))
    hi = options[0].get("maximum", options[0].get("exclusiveMaximum"))
    if lo is not None and hi is not None:
        return f"give {name} from {lo} to {hi}"
    if lo is not None:
        return f"give {name} of at least {lo}"
    if hi is not None:
        return f"give {name} of at most {hi}"
    return None


#: The error type of :func:`invalid`: a request-model check with its own fix.
CUSTOM_ERROR = "beatgrid"


def invalid(message: str, *, fix: str) -> PydanticCustomError:
    """A request-model validation error shown as it is, with its own fix.

    Raise it from a pydantic validator of a request model; the error handler answers
    ``{"error": "<METHOD> <path>: message", "fix": fix}`` with 422.

    Examples
    --------
    >>> err = invalid("budget=0 is not a whole number from 1 to 500", fix="give e.g. 16")
    >>> err.type, err.context["fix"]
    ('beatgrid', 'give e.g. 16')
    """
    return PydanticCustomError(CUSTOM_ERROR, message.replace("{", "{{").replace("}", "}}"),
                               {"fix": fix})


def request_error(exc: RequestValidationError, request: Request | None = None) -> InputError:
    """The domain error for a request FastAPI could not parse: the first problem, named.

    The message starts with the method and path, names the key and the value; the fix
    lists the body's keys with their types (or the accepted range of a number).
    """
    errors = exc.errors()
    prefix = f"{request.method} {request.url.path}: " if request is not None else ""
    schema = _body_schema(request)
    hint = _keys_hint(schema)
    if not errors:
        return InputError(f"{prefix}the request could not be read", fix=hint)
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    where = _where(loc)
    kind = first.get("type", "")
    value = first.get("input")
    if kind == CUSTOM_ERROR:
        ctx = first.get("ctx") or {}
        return InputError(f"{prefix}{first.get('msg', 'invalid')}",
                          fix=str(ctx.get("fix") or hint))
    if kind == "extra_forbidden":
        return InputError(f"{prefix}unknown key {where!r} in the body", fix=hint)
    if kind == "missing":
        return InputError(f"{prefix}{where} is required", fix=hint)
    if kind in ("json_invalid", "model_attributes_type", "dict_type", "model_type"):
        detail = (first.get("ctx") or {}).get("error")
        why = f" ({detail})" if detail else ""
        return InputError(f"{prefix}the body is not a JSON object{why}", fix=hint)
    shown = "" if isinstance(value, (dict, list)) else f" (value: {value!r})"
    prop = schema.get("properties", {}).get(str(loc[-1]) if loc else "", {})
    fix = (_range_hint(where, prop) if kind.startswith(("greater", "less")) else None) or hint
    if loc and loc[0] == "query":
        fix = "correct the query parameter; GET /docs shows the accepted values"
        if kind.startswith(("greater", "less")):
            fix = f"give {where} within the bounds: {first.get('msg', '')}"
    return InputError(f"{prefix}{where}: {first.get('msg', 'invalid')}{shown}", fix=fix)


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain, request and last-resort error handlers on ``app``."""

    @app.exception_handler(BeatGridError)
    async def domain_error(request: Request, exc: BeatGridError) -> JSONResponse:  # noqa: ARG001
        return JSONResponse(status_code=status_of(exc), content=error_body(exc))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request,
                              exc: RequestValidationError) -> JSONResponse:
        err = request_error(exc, request)
        return JSONResponse(status_code=422, content=error_body(err))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={
            "error": "internal error: the request could not be completed",
            "fix": "retry; if it persists, report it with the server log",
            "type": "InternalError"})
