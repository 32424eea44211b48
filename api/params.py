"""Query-parameter checks shared by the HTTP routes: a typo is an error, never ignored."""

from __future__ import annotations

from fastapi import Request

from beatgrid.gis.errors import InputError


def reject_unknown(request: Request, allowed: tuple[str, ...], *,
                   none_hint: str = "no parameters") -> None:
    """Raise :class:`InputError` for a query parameter the endpoint does not know.

    ``none_hint`` is the fix shown when the endpoint takes no query parameter at all.
    """
    for name in request.query_params:
        if name not in allowed:
            raise InputError(f"unknown query parameter {name!r} for {request.url.path}",
                             fix="use " + (", ".join(allowed) if allowed else none_hint))


def choice(name: str, value, allowed: tuple[str, ...], default):
    """``value`` when it is one of ``allowed``, ``default`` when empty, else an error."""
    if value is None or value == "":
        return default
    if value not in allowed:
        raise InputError(f"{name}={value!r} is not allowed",
                         fix="use one of: " + ", ".join(allowed))
    return value
