"""Accounts, roles and tokens of a project's users (kept in the project's store).

Passwords are hashed with Argon2id (:mod:`argon2`, the maintained reference binding);
tokens are random 256-bit strings of which only the SHA-256 is stored: API keys for
scripts (no expiry unless given) and sign-in tokens of the web pages (expire after
``auth.session_hours`` of the core settings).

Roles are ordered, each including the ones before it: ``viewer`` (leadership: read,
reports), ``analyst`` (run analyses), ``planner`` (edit drafts, publish plans, edit
cameras, police rooms and the staff roster), ``admin`` (accounts, the audit log).

Examples
--------
>>> from beatgrid.gis import Project
>>> accounts = Project.sample().accounts
>>> accounts.add("wang", role="planner", password="correct horse battery")
User(name='wang', role=<Role.planner: 3>, disabled=False)
>>> accounts.sign_in("wang", "correct horse battery").role.name
'planner'
>>> accounts.sign_in("wang", "wrong")
Traceback (most recent call last):
...
beatgrid.gis.errors.AuthenticationError: wrong user name or password Fix: check both; an administrator can reset the password with `beatgrid users set-password`
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from beatgrid.gis.audit import record
from beatgrid.gis.errors import AuthenticationError, ConflictError, InputError, NotFoundError
from beatgrid.gis.io.records import TOKENS, USERS, Records, now_utc

__all__ = ["Accounts", "Role", "User", "check_role"]

#: Shortest password accepted.
MIN_PASSWORD = 8
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{1,64}$")
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash verified when the name is unknown, so that a wrong name takes as long as a
    wrong password (made on first use: hashing takes 0.2 s, which every command paid at
    import)."""
    return _HASHER.hash("not a password of anyone")


class Role(IntEnum):
    """A user's role; a higher role may do everything a lower one may.

    Examples
    --------
    >>> Role.planner >= Role.analyst, Role["viewer"].name
    (True, 'viewer')
    """

    viewer = 1
    analyst = 2
    planner = 3
    admin = 4


@dataclass(frozen=True)
class User:
    """An account (never carries its password hash)."""

    name: str
    role: Role
    disabled: bool = False


def check_role(role: str | Role) -> Role:
    """A role from its name.

    Examples
    --------
    >>> check_role("analyst")
    <Role.analyst: 2>
    >>> check_role("boss")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: role 'boss' does not exist Fix: use one of viewer, analyst, planner, admin
    """
    if isinstance(role, Role):
        return role
    try:
        return Role[str(role)]
    except KeyError:
        raise InputError(f"role {role!r} does not exist",
                         fix=f"use one of {', '.join(r.name for r in Role)}") from None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The users of a project and their tokens.

    Parameters
    ----------
    records
        The store's service tables (:attr:`Store.records`).
    settings
        The ``core`` settings (``[auth]``: sign-in token lifetime).
    """

    def __init__(self, records: Records, *, settings: Mapping[str, Any] | None = None) -> None:
        self.records = records
        self.settings = dict((settings or {}).get("auth", {}))

    def _ready(self) -> None:
        self.records.require_current(auto=self.records.schema is None)

    # -- accounts ------------------------------------------------------------------
    def add(self, name: str, *, role: str | Role, password: str | None = None) -> User:
        """Create an account (a password is needed to sign in; API keys work without).

        Raises
        ------
        InputError
            A bad name, an unknown role or a password shorter than 8 characters.
        ConflictError
            The name is taken.
        """
        if not NAME_PATTERN.match(name or ""):
            raise InputError(f"user name {name!r} is not allowed",
                             fix="use 1-64 letters, digits, Chinese characters, _ . @ or -")
        level = check_role(role)
        digest = self._hash_password(password) if password is not None else None
        self._ready()
        with self.records.writing() as conn:
            if conn.execute(sa.select(USERS.c.name).where(USERS.c.name == name)).first():
                raise ConflictError(f"user {name!r} already exists",
                                    fix="choose another name, or change the role with "
                                        "`beatgrid users set-role`")
            conn.execute(USERS.insert().values(name=name, password_hash=digest,
                                               role=level.name, disabled=False,
                                               created_at=now_utc()))
            record(conn, action="users.add", target_kind="user", target_id=name,
                   summary={"role": level.name})
        return User(name=name, role=level)

    @staticmethod
    def _hash_password(password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise InputError(f"the password has {len(password)} characters",
                             fix=f"give at least {MIN_PASSWORD} characters")
        return _HASHER.hash(password)

    def users(self) -> list[User]:
        """Every account, by name."""
        self._ready()
        with self.records.reading() as conn:
            rows = conn.execute(sa.select(USERS).order_by(USERS.c.name)).all()
        return [User(name=r.name, role=Role[r.role], disabled=bool(r.disabled)) for r in rows]

    def get(self, name: str) -> User:
        """One account; :class:`NotFoundError` when there is none of that name."""
        for user in self.users():
            if user.name == name:
                return user
        raise NotFoundError(f"user {name!r} does not exist",
                            fix="list the users with `beatgrid users list`")

    def _update(self, name: str, action: str, summary: Mapping[str, Any], **values: Any) -> User:
        self._ready()
        with self.records.writing() as conn:
            done = conn.execute(USERS.update().where(USERS.c.name == name).values(**values))
            if not done.rowcount:
                raise NotFoundError(f"user {name!r} does not exist",
                                    fix="list the users with `beatgrid users list`")
            if values.get("disabled"):
                conn.execute(TOKENS.update().where(TOKENS.c.user_name == name)
                             .values(revoked=True))
            record(conn, action=action, target_kind="user", target_id=name, summary=summary)
        return self.get(name)

    def set_role(self, name: str, role: str | Role) -> User:
        """Change an account's role."""
        level = check_role(role)
        return self._update(name, "users.set_role", {"role": level.name}, role=level.name)

    def set_password(self, name: str, password: str) -> User:
        """Change an account's password."""
        return self._update(name, "users.set_password", {},
                            password_hash=self._hash_password(password))

    def disable(self, name: str) -> User:
        """Disable an account and revoke its tokens (kept in the audit log)."""
        return self._update(name, "users.disable", {}, disabled=True)

    def enable(self, name: str) -> User:
        """Enable a disabled account again."""
        return self._update(name, "users.enable", {}, disabled=False)

    def any(self) -> bool:
        """Whether the project has any account (then the service asks for sign-in).

        Examples
        --------
        >>> from beatgrid.gis import Project
        >>> Project.sample().accounts.any()
        False
        """
        if self.records.revision() is None:
            return False
        with self.records.reading() as conn:
            return conn.execute(sa.select(USERS.c.name).limit(1)).first() is not None

    # -- signing in ----------------------------------------------------------------
    def sign_in(self, name: str, password: str) -> User:
        """The account whose name and password these are.

        Raises
        ------
        AuthenticationError
            Unknown name, wrong password or disabled account (one message for all).
        """
        self._ready()
        with self.records.reading() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.name == name)).first()
        digest = row.password_hash if row is not None and row.password_hash else _dummy_hash()
        try:
            _HASHER.verify(digest, password)
            ok = row is not None and bool(row.password_hash) and not row.disabled
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            raise AuthenticationError(
                "wrong user name or password",
                fix="check both; an administrator can reset the password with "
                    "`beatgrid users set-password`")
        return User(name=row.name, role=Role[row.role])

    def issue_token(self, name: str, *, kind: str = "api_key", label: str | None = None,
                    hours: float | None = None) -> str:
        """A new token for an account (shown once; only its hash is kept).

        ``kind`` is ``api_key`` (no expiry unless ``hours``) or ``session`` (expires
        after ``auth.session_hours``).
        """
        user = self.get(name)
        if user.disabled:
            raise ConflictError(f"user {name!r} is disabled", fix="enable the account first")
        if kind == "session" and hours is None:
            hours = float(self.settings.get("session_hours", 12.0))
        expires = (datetime.now(UTC) + timedelta(hours=hours)).isoformat() if hours else None
        token = secrets.token_urlsafe(32)
        with self.records.writing() as conn:
            conn.execute(TOKENS.insert().values(
                user_name=name, token_hash=_hash_token(token), kind=kind, label=label,
                created_at=now_utc(), expires_at=expires, revoked=False))
            if kind != "session":
                record(conn, action="tokens.issue", target_kind="user", target_id=name,
                       summary={"kind": kind, "label": label})
        return token

    def user_of_token(self, token: str) -> User:
        """The account a token belongs to.

        Raises
        ------
        AuthenticationError
            Unknown, revoked or expired token, or a disabled account.
        """
        self._ready()
        with self.records.reading() as conn:
            row = conn.execute(
                sa.select(TOKENS.c.expires_at, TOKENS.c.revoked, USERS.c.name, USERS.c.role,
                          USERS.c.disabled)
                .join(USERS, USERS.c.name == TOKENS.c.user_name)
                .where(TOKENS.c.token_hash == _hash_token(token))).first()
        expired = row is not None and row.expires_at is not None and \
            datetime.fromisoformat(row.expires_at) < datetime.now(UTC)
        if row is None or row.revoked or row.disabled or expired:
            raise AuthenticationError("the token is not valid (unknown, revoked or expired)",
                                      fix="sign in again, or ask an administrator for a key")
        return User(name=row.name, role=Role[row.role])

    def revoke_token(self, token: str) -> None:
        """Revoke a token (signing out)."""
        with self.records.writing() as conn:
            conn.execute(TOKENS.update().where(TOKENS.c.token_hash == _hash_token(token))
                         .values(revoked=True))
