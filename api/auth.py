"""Who is asking: signing in, roles, and the FastAPI dependencies that require them.

Roles are ordered; each includes the ones before it (:class:`~beatgrid.gis.accounts.Role`):

=========  ==========================================================================
viewer     leadership: read layers, results, reports
analyst    run analyses (coverage, staffing, generate without saving, jobs)
planner    edit drafts, publish plans, edit cameras, police rooms and the staff roster
admin      manage accounts, read the audit log
=========  ==========================================================================

Two modes (:class:`AuthSettings`, set by ``create_app``):

- ``local``: one user on their own machine (a project file without accounts): every
  request acts as the local administrator. The service listens on the loopback
  address and the checks of :mod:`beatgrid.api.security` keep other web pages out.
- ``accounts``: a project with accounts, or any PostGIS project: every request shows a
  token (``Authorization: Bearer …``: an API key, or the token of ``POST /auth/login``).
  Reads need the viewer role unless the server runs with ``--public-read``.

Routes declare what they need with the annotated dependencies ``Reader``,
``Analyst``, ``Planner`` and ``Admin``: each resolves to the :class:`Principal` making
the request (and records it as the acting user of the audit log), or answers 401 (no
or bad credentials) or 403 (role too low, naming the role needed).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from beatgrid.gis.accounts import Role, User
from beatgrid.gis.audit import set_actor
from beatgrid.gis.errors import AuthenticationError, PermissionDeniedError
from beatgrid.gis.project import Project

__all__ = ["Admin", "Analyst", "AuthSettings", "Planner", "Principal", "Reader", "Role",
           "baseline", "bearer_token", "mark_route_roles", "require"]


@dataclass(frozen=True)
class Principal:
    """The user a request acts for (``name`` is recorded in the audit log)."""

    name: str
    role: Role


LOCAL_ADMIN = Principal(name="local", role=Role.admin)
PUBLIC_VIEWER = Principal(name="anonymous", role=Role.viewer)


@dataclass
class AuthSettings:
    """How the service authenticates (``app.state.auth``).

    Attributes
    ----------
    mode
        ``local`` (one user, no sign-in) or ``accounts``.
    public_read
        Reads (viewer role) need no sign-in.
    token_cache_s
        Seconds a verified token is trusted before it is looked up again.
    """

    mode: str = "local"
    public_read: bool = False
    token_cache_s: float = 5.0
    _tokens: dict[str, tuple[float, User]] = field(default_factory=dict)

    @classmethod
    def for_project(cls, project: Project, *, public_read: bool | None = None,
                    mode: str | None = None) -> AuthSettings:
        """Accounts when the project has some or lives in PostGIS; local otherwise."""
        auth = project.config.core.get("auth", {})
        if mode is None:
            database = project.store.records.schema is not None
            mode = "accounts" if database or project.accounts.any() else "local"
        return cls(mode=mode,
                   public_read=bool(auth.get("public_read", False)
                                    if public_read is None else public_read),
                   token_cache_s=float(auth.get("token_cache_s", 5.0)))

    def user_of(self, project: Project, token: str) -> User:
        """The user of a token (verified at most every ``token_cache_s``)."""
        now = time.monotonic()
        hit = self._tokens.get(token)
        if hit is not None and now - hit[0] < self.token_cache_s:
            return hit[1]
        user = project.accounts.user_of_token(token)
        if len(self._tokens) > 4096:
            self._tokens.clear()
        self._tokens[token] = (now, user)
        return user

    def forget(self, token: str | None = None) -> None:
        """Drop cached tokens (all, or one: after a sign-out or an account change)."""
        if token is None:
            self._tokens.clear()
        else:
            self._tokens.pop(token, None)


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer …`` (None when absent).

    Examples
    --------
    >>> from starlette.requests import Request
    >>> bearer_token(Request({"type": "http", "headers": [(b"authorization", b"Bearer abc")]}))
    'abc'
    """
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def principal_of(request: Request, needed: Role) -> Principal:
    """The request's principal, checked against the role ``needed``."""
    auth: AuthSettings = request.app.state.auth
    if auth.mode == "local":
        return LOCAL_ADMIN
    token = bearer_token(request)
    if token is None:
        if auth.public_read and needed <= Role.viewer:
            return PUBLIC_VIEWER
        raise AuthenticationError(
            "this request needs a signed-in user",
            fix="send 'Authorization: Bearer TOKEN' with a token of POST /auth/login or an "
                "API key (beatgrid users token NAME)")
    project: Project = request.app.state.project
    user = await run_in_threadpool(auth.user_of, project, token)
    if user.role < needed:
        raise PermissionDeniedError(
            f"user {user.name!r} is {user.role.name}; this needs the {needed.name} role",
            fix="ask an administrator for the role (beatgrid users set-role)")
    return Principal(name=user.name, role=user.role)


def require(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency answering the request's :class:`Principal` when it has ``role``.

    The principal becomes the acting user of the audit log for the rest of the
    request (an async dependency sets the context the route then runs in).

    Examples
    --------
    >>> callable(require(Role.planner))
    True
    """

    async def dependency(request: Request) -> Principal:
        principal = await principal_of(request, role)
        set_actor(principal.name, principal.role.name)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role.name}"
    setattr(dependency, "role", role)  # read by mark_route_roles
    return dependency


def mark_route_roles(routes: Any) -> None:
    """Note on each route the highest role its own dependencies require.

    :func:`baseline` then checks that role first, so a refusal names the role the
    route needs (not only the floor of its method).
    """
    for route in routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        roles = [d.call.role for d in dependant.dependencies
                 if isinstance(getattr(d.call, "role", None), Role)]
        if roles:
            setattr(route, "beatgrid_role", max(roles))


#: Paths anyone may call (signing in, the health check).
OPEN_PATHS = frozenset({"/auth/login", "/health"})
#: Methods that only read.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def baseline(request: Request) -> None:
    """Every route's floor: reads need the viewer role, other methods the analyst role.

    Routes that write declare ``Planner`` (or ``Admin``) on top of it.
    """
    if request.url.path in OPEN_PATHS:
        return
    floor = Role.viewer if request.method in READ_METHODS else Role.analyst
    needed = max(floor, getattr(request.scope.get("route"), "beatgrid_role", floor))
    principal = await principal_of(request, needed)
    set_actor(principal.name, principal.role.name)
    request.state.principal = principal


Reader = Annotated[Principal, Depends(require(Role.viewer))]
Analyst = Annotated[Principal, Depends(require(Role.analyst))]
Planner = Annotated[Principal, Depends(require(Role.planner))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
