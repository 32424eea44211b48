"""Keeping other web pages out: JSON-only writes, same-origin checks, trusted hosts, CORS.

A web page the user visits must not be able to change the plan through the user's
browser (cross-site request forgery), nor read it through DNS rebinding:

- a write (``POST``, ``PUT``, ``PATCH``, ``DELETE``) with a body must be
  ``application/json`` (or ``application/geo+json``, ``application/merge-patch+json``,
  and ``application/toml`` for a staffing policy):
  a browser sends that cross-site only after a CORS preflight, which the service does
  not grant unless told to (``--cors-origin``); a ``text/plain`` or form body is 415;
- a write whose ``Origin`` (or ``Sec-Fetch-Site: cross-site``) shows another site is 403,
  body or not;
- the ``Host`` header must be one of the trusted hosts (loopback names by default;
  ``--allowed-host`` adds the names the service is reached by), else 400;
- CORS is off unless origins are configured.

Every refusal is the one error body of :mod:`beatgrid.api.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from beatgrid.api.errors import error_response
from beatgrid.gis.errors import InputError, PermissionDeniedError

__all__ = ["DEFAULT_HOSTS", "JSON_TYPES", "SameOriginJsonMiddleware", "TrustedHosts",
           "host_allowed"]

#: Methods that change something.
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Body types a write may have (JSON; TOML for a staffing policy): none is a type a
#: browser may send cross-site without a CORS preflight.
JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json",
              "application/toml")
#: Host names trusted unless told otherwise (the loopback and the test client).
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "testserver")


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether a ``Host`` header (port ignored) names a trusted host (``*.x`` wildcards).

    Examples
    --------
    >>> host_allowed("localhost:8000", DEFAULT_HOSTS), host_allowed("evil.example", DEFAULT_HOSTS)
    (True, False)
    >>> host_allowed("gis.jiangbei.gov.cn", ["*.jiangbei.gov.cn"])
    True
    """
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower()
    for pattern in allowed:
        pattern = pattern.lower()
        if pattern == "*" or name == pattern or name == pattern.strip("[]") or (
                pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class TrustedHosts:
    """ASGI middleware: a request whose ``Host`` is not trusted gets 400 (DNS rebinding)."""

    def __init__(self, app: ASGIApp, *, allowed: Sequence[str]) -> None:
        self.app = app
        self.allowed = list(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host", "")
            if not host_allowed(host, self.allowed):
                response = error_response(InputError(
                    f"host {host!r} is not one this service answers to",
                    fix="reach it by a trusted name, or start it with --allowed-host NAME"),
                    status=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SameOriginJsonMiddleware:
    """ASGI middleware: writes must be JSON and come from the service's own origin
    (or a configured CORS origin)."""

    def __init__(self, app: ASGIApp, *, cors_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.cors_origins = {o.rstrip("/").lower() for o in cors_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            refusal = self.refusal(Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, headers: Headers) -> Any:
        """The answer refusing a write (None when it may go on)."""
        origin = headers.get("origin")
        if origin and origin.rstrip("/").lower() not in self.cors_origins:
            host = headers.get("host", "").lower()
            if urlsplit(origin).netloc.lower() != host:
                return error_response(PermissionDeniedError(
                    f"a write from another site ({origin}) is refused",
                    fix="use the service's own pages, or start it with --cors-origin "
                        f"{origin}"), status=403)
        elif not origin and headers.get("sec-fetch-site") == "cross-site":
            return error_response(PermissionDeniedError(
                "a write from another site is refused",
                fix="use the service's own pages"), status=403)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = headers.get("content-length", "0") not in ("0", "") or \
            "chunked" in headers.get("transfer-encoding", "").lower()
        if (has_body or kind) and kind not in JSON_TYPES:
            return error_response(InputError(
                f"a write with a {kind or 'untyped'} body is refused",
                fix="send the body as JSON with 'Content-Type: application/json'"), status=415)
        return None
