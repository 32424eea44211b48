"""Request-body limits: refused by ``Content-Length``, and while the body streams in.

:class:`BodyLimitMiddleware` is a pure ASGI middleware in front of the routes. Each
path has a :class:`BodyLimit` (the route modules declare theirs in ``BODY_LIMITS``;
any other path gets :data:`DEFAULT_BODY_LIMIT`). A request whose ``Content-Length``
is over the limit is answered 413 at once, before a byte of the body is read; a body
without ``Content-Length`` (chunked) or with a false one is counted as its
``http.request`` messages arrive, and reading stops with a 413 as soon as the count
passes the limit. The server thus never holds more than the limit plus one chunk of a
body, however large the upload. The answer is the service's one error body
(:func:`beatgrid.api.errors.error_body`) with status 413.

Examples
--------
>>> from fastapi.testclient import TestClient
>>> from beatgrid.api.service import create_app
>>> client = TestClient(create_app("sample-geodata/ningbo-jiangbei.gpkg"))
>>> r = client.post("/cameras/recommend", content=b"x" * 20_000)
>>> r.status_code, r.json()["type"]
(413, 'InputError')
>>> r.json()["error"]
'POST /cameras/recommend: the body has 20,000 bytes, more than 16,384'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from beatgrid.api.errors import error_response
from beatgrid.gis.errors import InputError

#: Status of a body over its limit.
TOO_LARGE = 413


@dataclass(frozen=True)
class BodyLimit:
    """The largest body a path accepts, and what to tell a client that sends more.

    Examples
    --------
    >>> BodyLimit(16 * 1024, fix="send a small JSON object").max_bytes
    16384
    """

    max_bytes: int
    fix: str


#: The limit of a path no route module names (a GET, an unknown path...).
DEFAULT_BODY_LIMIT = BodyLimit(64 * 1024, fix="send a smaller body; GET /docs shows what "
                                              "each endpoint accepts")


class BodyTooLarge(Exception):
    """Raised to the application by the counting ``receive`` once a body passes its limit."""


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` as a number (None when absent or unreadable).

    Examples
    --------
    >>> declared_length({"headers": [(b"content-length", b"12")]})
    12
    >>> declared_length({"headers": [(b"content-length", b"lots")]}) is None
    True
    """
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuse request bodies over their path's limit with 413, without reading them whole.

    Parameters
    ----------
    app
        The ASGI application behind.
    limits
        ``path -> BodyLimit`` of the paths with their own limit.
    default
        The limit of every other path.
    """

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, BodyLimit],
                 default: BodyLimit = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.limits = dict(limits)
        self.default = default

    def limit_for(self, path: str) -> BodyLimit:
        """The limit of ``path``."""
        return self.limits.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        where = f"{scope.get('method', '')} {scope['path']}"
        declared = declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await refuse(scope, receive, send, limit,
                         f"{where}: the body has {declared:,} bytes, more than "
                         f"{limit.max_bytes:,}")
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge(where)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    over = True
                    raise BodyTooLarge(where)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return      # the application's answer to the cut body: replaced below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await refuse(scope, receive, send, limit,
                         f"{where}: the body has more than {limit.max_bytes:,} bytes")


async def refuse(scope: Scope, receive: Receive, send: Send, limit: BodyLimit,
                 message: str) -> None:
    """Answer 413 with the one error body, naming the limit and the route's fix."""
    response = error_response(InputError(message, fix=f"{limit.fix} (at most "
                                                      f"{limit.max_bytes:,} bytes)"),
                              status=TOO_LARGE)
    await response(scope, receive, send)
