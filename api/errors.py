"""Domain errors to HTTP answers: one table, one error body.

Every :class:`~beatgrid.gis.errors.BeatGridError` becomes the status of its class in
:data:`STATUS` (the nearest base class counts) with the JSON body
``{"error": ..., "fix": ..., "type": ...}`` (plus ``problems`` for validation
errors). A request FastAPI cannot parse (a missing or mistyped body key, an unknown
one: request models forbid extra keys, a query parameter outside its declared type or
range) gets the same body with 422, and so do Starlette's own refusals: an unknown path
(404), a method the path does not answer (405, with its ``Allow`` header) and a body that
cannot be read (nested too deeply, a number too long: 422). Anything else is a bug: 500
with the same body shape and no traceback.

The body is documented in the OpenAPI as :class:`ErrorBody` (:func:`error_responses`
gives the ``responses=`` entries of a route), in place of FastAPI's
``HTTPValidationError``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from beatgrid.api.rendering import plain
from beatgrid.gis.errors import (AuthenticationError, BeatGridError, ConflictError, CRSError,
                                 InputError, NotFoundError, PermissionDeniedError, PolicyError,
                                 StaleVersionError, StoreUnavailableError, ValidationError,
                                 VersionRequiredError)

log = logging.getLogger(__name__)

#: Domain error class -> HTTP status. The first class in the error's MRO found here wins.
STATUS: dict[type[BeatGridError], int] = {
    InputError: 422,
    CRSError: 422,
    PolicyError: 422,
    ValidationError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    VersionRequiredError: 428,
    PermissionDeniedError: 403,
    StoreUnavailableError: 503,
    BeatGridError: 400,
}


class ProblemItem(BaseModel):
    """One schema problem of a :class:`~beatgrid.gis.errors.ValidationError`."""

    severity: str = Field(description="error or warning")
    layer: str | None = None
    row_id: Any = Field(None, description="the feature id (or row number)")
    column: str | None = None
    value: Any = None
    message: str
    fix: str | None = None


class ErrorBody(BaseModel):
    """The one error body of the service: what is wrong, how to fix it, the error class.

    Examples
    --------
    >>> sorted(ErrorBody.model_json_schema()["required"])
    ['error', 'fix', 'type']
    """

    error: str = Field(description="what is wrong, naming the parameter, key or layer and "
                                   "the value", examples=["zone_type='city' is not allowed"])
    fix: str | None = Field(description="what to do instead",
                            examples=["use one of: estate, grid, beat, station, community"])
    type: str = Field(description="the error class: InputError, NotFoundError, "
                                  "ConflictError, PolicyError, ValidationError...",
                      examples=["InputError"])
    problems: list[ProblemItem] | None = Field(
        None, description="every schema problem (ValidationError only)")
    current_version: str | None = Field(
        None, description="the current version of what was edited (a stale write, 409)")


#: What each documented error status means, in the OpenAPI.
ERROR_STATUS_TEXT: dict[int, str] = {
    401: "No credentials, or credentials that do not name an active account",
    403: "The account's role does not allow this (the error names the role needed)",
    404: "The project, or a layer, community, grid or camera named, does not exist",
    409: "The request contradicts the current state (a locked grid, a stale edit: "
         "``current_version`` and the ``ETag`` header give the current version)",
    415: "A write whose body is not application/json",
    428: "A change that does not say which version it started from: send If-Match with "
         "the ETag read",
    413: "The request body is larger than the endpoint accepts",
    422: "Bad input: a parameter, body key or value the endpoint does not accept",
    503: "The store (database) cannot be reached",
}


#: Error statuses every route reading the project may answer: 404 (no project, or
#: something named is not in it), 422 (bad input), 503 (the store cannot be reached).
COMMON_ERRORS = (404, 422, 503)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting ``statuses`` with :class:`ErrorBody`.

    Examples
    --------
    >>> sorted(error_responses(404, 422))
    [404, 422]
    >>> error_responses(413)[413]["model"].__name__
    'ErrorBody'
    """
    return {status: {"model": ErrorBody, "description": ERROR_STATUS_TEXT[status]}
            for status in statuses}


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
    if isinstance(exc, StaleVersionError):
        body["current_version"] = exc.current
    if isinstance(exc, ValidationError):
        body["problems"] = [
            {"severity": p.severity, "layer": p.layer, "row_id": plain(p.row_id),
             "column": p.column, "value": plain(p.value), "message": p.message, "fix": p.fix}
            for p in exc.problems
        ]
    return body


def error_response(exc: BeatGridError, *, status: int | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The answer for a domain error: :func:`error_body` with its status (or ``status``).

    Examples
    --------
    >>> r = error_response(InputError("the body is too large", fix="send less"), status=413)
    >>> r.status_code, r.body
    (413, b'{"error":"the body is too large","fix":"send less","type":"InputError"}')
    """
    extra = dict(headers or {})
    if isinstance(exc, StaleVersionError) and exc.current is not None:
        extra.setdefault("ETag", f'"{exc.current}"')
    if isinstance(exc, AuthenticationError):
        extra.setdefault("WWW-Authenticate", 'Bearer realm="beatgrid"')
    return JSONResponse(status_code=status_of(exc) if status is None else status,
                        content=error_body(exc), headers=extra or None)


#: Longest value quoted in full in an error message.
MAX_SHOWN = 60


def shown(value: Any) -> str:
    """``repr(value)``, cut to :data:`MAX_SHOWN` characters with its length when longer.

    Examples
    --------
    >>> shown("x"), shown(10 ** 80)
    ("'x'", '1000000000000000000000000000000000000000... (81 characters)')
    """
    if isinstance(value, int) and value.bit_length() > 14_000:   # repr would refuse it
        return f"<a number of {value.bit_length():,} bits>"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:40]}... ({len(text):,} characters)"


def too_long_number(exc: BaseException) -> bool:
    """Whether ``exc`` is Python refusing to read a number of more than 4,300 digits.

    Examples
    --------
    >>> import json
    >>> try:
    ...     json.loads("9" * 5000)
    ... except ValueError as exc:
    ...     too_long_number(exc)
    True
    """
    return isinstance(exc, ValueError) and "integer string conversion" in str(exc)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


_JSON_KINDS = {"string": "string", "integer": "whole number", "number": "number",
               "boolean": "true/false", "object": "table", "array": "list"}


def _options(prop: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The non-null alternatives of a JSON-schema property (itself when not a union)."""
    return [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"] or [prop]


def _kind(prop: Mapping[str, Any]) -> str:
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


def _param_schema(request: Request | None, name: str) -> dict[str, Any]:
    """The documented (OpenAPI) schema of the route's query or path parameter ``name``."""
    route = request.scope.get("route") if request is not None else None
    path = getattr(route, "path_format", None)
    if request is None or path is None:
        return {}
    operation = request.app.openapi().get("paths", {}).get(path, {}).get(
        request.method.lower(), {})
    for param in operation.get("parameters", []):
        if param.get("name") == name:
            schema: dict[str, Any] = param.get("schema", {})
            return schema
    return {}


def _keys_hint(schema: dict[str, Any]) -> str:
    props = schema.get("properties", {})
    if not props:
        return "correct it; GET /docs shows the types and an example"
    return "send a JSON object with " + ", ".join(f"{k} ({_kind(v)})" for k, v in props.items())


def _range_hint(name: str, prop: dict[str, Any]) -> str | None:
    options = _options(prop)
    lo = options[0].get("minimum", options[0].get("exclusiveMinimum"))
    hi = options[0].get("maximum", options[0].get("exclusiveMaximum"))
    if lo is not None and hi is not None:
        return f"give {name} from {lo} to {hi}"
    if lo is not None:
        return f"give {name} of at least {lo}"
    if hi is not None:
        return f"give {name} of at most {hi}"
    return None


def _span(option: Mapping[str, Any], integer: bool) -> str:
    """The accepted range of a numeric schema in words ("from 1 to 10", "greater than 0")."""
    def num(x: Any) -> str:
        return f"{x:,}" if integer and abs(x) >= 10_000 else f"{x:g}"

    lo, hi = option.get("minimum"), option.get("maximum")
    xlo, xhi = option.get("exclusiveMinimum"), option.get("exclusiveMaximum")
    low = f"from {num(lo)}" if lo is not None else (
        f"greater than {num(xlo)}" if xlo is not None else "")
    high = f"to {num(hi)}" if hi is not None else (
        f"below {num(xhi)}" if xhi is not None else "")
    if low.startswith("greater") and high:
        high = "and at most " + high[3:] if high.startswith("to ") else "and " + high
    if not low and high:
        high = "of at most " + high[3:] if high.startswith("to ") else high
    return " ".join(p for p in (low, high) if p)


def param_words(name: str, schema: Mapping[str, Any]) -> tuple[str, str] | None:
    """What a query parameter's schema accepts: ``(what it must be, the fix)``.

    None when the schema says nothing useful (the request error's own words are used).

    Examples
    --------
    >>> param_words("top", {"anyOf": [{"type": "integer", "minimum": 1,
    ...                                "maximum": 1000000}, {"type": "null"}]})
    ('a whole number from 1 to 1,000,000', 'give top as a whole number from 1 to 1,000,000')
    >>> param_words("zones", {"enum": ["auto", "grids", "beats"], "type": "string"})
    ('allowed', 'use one of: auto, grids, beats')
    >>> param_words("min_share", {"type": "number", "exclusiveMinimum": 0, "maximum": 1})[0]
    'a number greater than 0 and at most 1'
    """
    option = _options(schema)[0]
    if "enum" in option:
        return "allowed", "use one of: " + ", ".join(str(v) for v in option["enum"])
    kind = option.get("type")
    if kind == "array":
        return param_words(name, option.get("items", {}))
    if kind == "boolean":
        return "true or false", f"use {name}=true or {name}=false"
    if kind in ("integer", "number"):
        what = "a whole number" if kind == "integer" else "a number"
        span = _span(option, kind == "integer")
        what = f"{what} {span}" if span else what
        return what, f"give {name} as {what}"
    return None


def _param_error(first: Mapping[str, Any], request: Request | None) -> InputError:
    """The domain error for a bad query or path parameter, in the words of its schema."""
    loc = tuple(first.get("loc", ()))
    name = str(loc[1]) if len(loc) > 1 else _where(loc)
    kind = first.get("type", "")
    if kind == "missing":
        return InputError(f"{name} is required",
                          fix=f"add ?{name}=...; GET /docs shows the accepted values")
    words = param_words(name, _param_schema(request, name))
    value = first.get("input")
    if words is None:
        return InputError(f"{name}={shown(value)}: {first.get('msg', 'invalid')}",
                          fix="correct the query parameter; GET /docs shows the accepted "
                              "values")
    what, fix = words
    return InputError(f"{name}={shown(value)} is not {what}", fix=fix)


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
    # The message is used as it is: pydantic fills in only ``{fix}`` (the one context key),
    # so braces of a quoted value ({}, {"a": 1}) are shown unchanged.
    return PydanticCustomError(CUSTOM_ERROR, message, {"fix": fix})


def request_error(exc: RequestValidationError, request: Request | None = None) -> InputError:
    """The domain error for a request FastAPI could not parse: the first problem, named.

    A body problem: the message starts with the method and path, names the key and the
    value; the fix lists the body's keys with their types (or the accepted range of a
    number). A query parameter: ``name='value' is not <what its schema accepts>`` with
    the fix saying what to give (:func:`param_words`).
    """
    errors = exc.errors()
    prefix = f"{request.method} {request.url.path}: " if request is not None else ""
    schema = _body_schema(request)
    hint = _keys_hint(schema)
    if not errors:
        return InputError(f"{prefix}the request could not be read", fix=hint)
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    if loc and loc[0] in ("query", "path"):
        return _param_error(first, request)
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
    quoted = "" if isinstance(value, (dict, list)) else f" (value: {shown(value)})"
    prop = schema.get("properties", {}).get(str(loc[-1]) if loc else "", {})
    fix = (_range_hint(where, prop) if kind.startswith(("greater", "less")) else None) or hint
    return InputError(f"{prefix}{where}: {first.get('msg', 'invalid')}{quoted}", fix=fix)


def unreadable_body(request: Request, cause: BaseException | None) -> InputError:
    """The domain error for a body that could not be parsed at all (FastAPI's 400).

    Examples
    --------
    >>> from starlette.requests import Request
    >>> req = Request({"type": "http", "method": "POST", "path": "/grids/move",
    ...                "query_string": b"", "headers": []})
    >>> unreadable_body(req, RecursionError()).message
    'POST /grids/move: the body is nested too deeply to be read'
    """
    prefix = f"{request.method} {request.url.path}: "
    if isinstance(cause, RecursionError):
        return InputError(f"{prefix}the body is nested too deeply to be read",
                          fix="send a flat JSON object; GET /docs shows its keys")
    if isinstance(cause, UnicodeError):
        return InputError(f"{prefix}the body is not UTF-8 text",
                          fix="send the JSON body encoded as UTF-8")
    if cause is not None and too_long_number(cause):
        return InputError(f"{prefix}the body holds a number of more than 4,300 digits",
                          fix="send a JSON object of ordinary numbers; GET /docs shows "
                              "its keys and their ranges")
    if isinstance(cause, ValueError):
        return InputError(f"{prefix}the body could not be read as JSON ({cause})",
                          fix="send a JSON object; GET /docs shows its keys")
    return InputError(f"{prefix}the body could not be read",
                      fix="send a JSON object; GET /docs shows its keys and an example")


def http_error(request: Request, exc: StarletteHTTPException) -> tuple[BeatGridError, int]:
    """Starlette's own refusals as domain errors with their status: 404, 405, 400...

    Examples
    --------
    >>> from starlette.requests import Request
    >>> req = Request({"type": "http", "method": "POST", "path": "/layers",
    ...                "query_string": b"", "headers": []})
    >>> err, status = http_error(req, StarletteHTTPException(405, headers={"Allow": "GET"}))
    >>> status, err.message, err.fix
    (405, 'POST /layers is not allowed: /layers answers GET', 'use GET /layers')
    """
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return NotFoundError(f"no endpoint {where}",
                             fix="GET /openapi.json (or /docs) lists the endpoints"), 404
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return InputError(f"{where} is not allowed: {request.url.path} answers "
                          f"{allowed or 'other methods'}",
                          fix=f"use {allowed.replace(', ', ' or ')} {request.url.path}"
                          if allowed else "GET /docs lists the methods"), 405
    if exc.status_code == 400:
        return unreadable_body(request, exc.__cause__), 422
    cls = NotFoundError if exc.status_code == 404 else (
        ConflictError if exc.status_code == 409 else InputError)
    return cls(f"{where}: {exc.detail}", fix="GET /docs shows what the endpoint accepts"), \
        exc.status_code


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain, request, HTTP and last-resort error handlers on ``app``."""

    @app.exception_handler(BeatGridError)
    async def domain_error(request: Request, exc: BeatGridError) -> JSONResponse:  # noqa: ARG001
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request,
                              exc: RequestValidationError) -> JSONResponse:
        return error_response(request_error(exc, request), status=422)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        err, status = http_error(request, exc)
        return error_response(err, status=status, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={
            "error": "internal error: the request could not be completed",
            "fix": "retry; if it persists, report it with the server log",
            "type": "InternalError"})
