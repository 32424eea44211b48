"""Domain errors to HTTP answers, in one place.

Every :class:`~beatgrid.gis.errors.BeatGridError` becomes its 4xx status with a JSON
body ``{"error": ..., "fix": ..., "problems": [...]}``; the service never answers
500 for bad input.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from beatgrid.gis.errors import BeatGridError, ValidationError


def error_body(exc: BeatGridError) -> dict:
    """The JSON body for a domain error."""
    body = {"error": exc.message, "fix": exc.fix, "type": type(exc).__name__}
    if isinstance(exc, ValidationError):
        body["problems"] = [
            {"severity": p.severity, "layer": p.layer, "row_id": _plain(p.row_id),
             "column": p.column, "value": _plain(p.value), "message": p.message, "fix": p.fix}
            for p in exc.problems
        ]
    return body


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def install_error_handlers(app: FastAPI) -> None:
    """Register the domain-error handler on ``app``."""

    @app.exception_handler(BeatGridError)
    async def _domain_error(request: Request, exc: BeatGridError):  # noqa: ARG001
        return JSONResponse(status_code=exc.status, content=error_body(exc))
