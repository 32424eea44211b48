"""``/auth``, ``/users`` and ``/audit``: signing in, accounts (admin) and the audit log (admin).

=================================  =========================================================
``POST /auth/login``               name and password -> a sign-in token (expires after
                                   ``auth.session_hours``)
``POST /auth/logout``              revoke the token sent
``GET /auth/me``                   who the token is, the role and the service's mode
``GET /users``                     accounts (admin)
``POST /users``                    create an account (admin)
``PATCH /users/{name}``            change role, password, or disable (admin)
``POST /users/{name}/tokens``      a new API key for scripts (admin, or the user)
``GET /audit``                     the audit log, filtered (admin)
=================================  =========================================================
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from beatgrid.api.auth import Admin, AuthSettings, Reader, bearer_token
from beatgrid.api.deps import ProjectDep
from beatgrid.api.errors import error_responses
from beatgrid.gis.accounts import Role, User
from beatgrid.gis.errors import ConflictError, PermissionDeniedError

router = APIRouter(tags=["accounts"])
ERRORS = error_responses(401, 403, 404, 413, 422, 503)
RoleName = Literal["viewer", "analyst", "planner", "admin"]
UserName = Annotated[str, Path(min_length=1, max_length=64)]

#: Largest body of each route (bytes).
BODY_LIMITS: dict[str, Any] = {}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Login(Strict):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class NewUser(Strict):
    name: str = Field(min_length=1, max_length=64)
    role: RoleName
    password: str | None = Field(None, min_length=1, max_length=1024)


class UserChange(Strict):
    role: RoleName | None = None
    password: str | None = Field(None, min_length=1, max_length=1024)
    disabled: bool | None = None


class NewToken(Strict):
    label: str | None = Field(None, max_length=200)


class UserOut(BaseModel):
    name: str
    role: str
    disabled: bool


class TokenOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer TOKEN'; shown once")
    name: str
    role: str


class Me(BaseModel):
    name: str
    role: str
    mode: str = Field(description="local (one user, no sign-in) or accounts")


def user_out(user: User) -> UserOut:
    return UserOut(name=user.name, role=user.role.name, disabled=user.disabled)


@router.post("/auth/login", responses=ERRORS)
async def login(body: Login, project: ProjectDep) -> TokenOut:
    """Sign in: a token for the web pages (only its hash is kept)."""
    def sign_in() -> TokenOut:
        user = project.accounts.sign_in(body.name, body.password)
        token = project.accounts.issue_token(user.name, kind="session")
        return TokenOut(token=token, name=user.name, role=user.role.name)

    return await run_in_threadpool(sign_in)


@router.post("/auth/logout", status_code=204, responses=ERRORS)
def logout(request: Request, project: ProjectDep, principal: Reader) -> Response:
    """Sign out: the token sent is revoked."""
    token = bearer_token(request)
    if token is not None:
        project.accounts.revoke_token(token)
        auth: AuthSettings = request.app.state.auth
        auth.forget(token)
    return Response(status_code=204)


@router.get("/auth/me", responses=ERRORS)
def me(request: Request, principal: Reader) -> Me:
    """Who is signed in, with which role."""
    return Me(name=principal.name, role=principal.role.name, mode=request.app.state.auth.mode)


@router.get("/users", responses=ERRORS)
def list_users(project: ProjectDep, principal: Admin) -> list[UserOut]:
    """Every account."""
    return [user_out(u) for u in project.accounts.users()]


@router.post("/users", status_code=201, responses=error_responses(401, 403, 409, 413, 422))
def add_user(body: NewUser, project: ProjectDep, principal: Admin) -> UserOut:
    """Create an account."""
    return user_out(project.accounts.add(body.name, role=body.role, password=body.password))


@router.patch("/users/{name}", responses=ERRORS)
def change_user(name: UserName, body: UserChange, request: Request, project: ProjectDep,
                principal: Admin) -> UserOut:
    """Change an account's role or password, disable or enable it."""
    accounts = project.accounts
    user = accounts.get(name)
    if name == principal.name and (body.disabled or (body.role and body.role != "admin")):
        raise ConflictError("an administrator cannot disable or demote their own account",
                            fix="ask another administrator")
    if body.role is not None:
        user = accounts.set_role(name, body.role)
    if body.password is not None:
        user = accounts.set_password(name, body.password)
    if body.disabled is not None:
        user = accounts.disable(name) if body.disabled else accounts.enable(name)
    request.app.state.auth.forget()
    return user_out(user)


@router.post("/users/{name}/tokens", status_code=201, responses=ERRORS)
def new_token(name: UserName, body: NewToken, project: ProjectDep,
              principal: Reader) -> TokenOut:
    """A new API key (an administrator's for anyone; a user's for themselves)."""
    if principal.role < Role.admin and principal.name != name:
        raise PermissionDeniedError("only an administrator makes keys for other users",
                                    fix="ask an administrator")
    user = project.accounts.get(name)
    token = project.accounts.issue_token(name, kind="api_key", label=body.label)
    return TokenOut(token=token, name=user.name, role=user.role.name)


@router.get("/audit", responses=ERRORS)
def audit(project: ProjectDep, principal: Admin,
          user: Annotated[str | None, Query(max_length=64)] = None,
          action: Annotated[str | None, Query(max_length=64)] = None,
          target_kind: Annotated[str | None, Query(max_length=32)] = None,
          target_id: Annotated[str | None, Query(max_length=64)] = None,
          since: Annotated[str | None, Query(max_length=40,
                                             description="ISO time, UTC")] = None,
          limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> list[dict[str, Any]]:
    """The audit log, oldest first: who, when, what, versions before and after, summary."""
    return project.audit.entries(user=user, action=action, target_kind=target_kind,
                                 target_id=target_id, since=since, limit=limit)
