"""Plans and their recorded steps in the store (the ``beatgrid_plans`` tables).

A plan row carries its ``version`` (bumped by every change: a step, an undo, a
publication) and its ``head`` (the step the plan is at; steps after it can be redone
until a new step is recorded). Every change states the version it started from and is
refused with :class:`~beatgrid.gis.errors.StaleVersionError` (409, with the current
version) when another change came first; changes run under the project's lock, so the
check and the write are one.

Examples
--------
>>> from beatgrid.gis import Project
>>> records = Project.sample().store.records
>>> records.upgrade()
'0001'
>>> with records.writing() as conn:
...     plan_id = insert_plan(conn, community_id="C05", name="draft", owner="wang")
...     _ = append_step(conn, plan_id, expected=1, kind="create", author="wang",
...                     payload={"labels": []}, summary={})
...     get_plan(conn, plan_id)["version"]
2
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from beatgrid.gis.audit import record
from beatgrid.gis.errors import NotFoundError, StaleVersionError
from beatgrid.gis.io.records import PLAN_STEPS, PLANS, dumps, now_utc

__all__ = ["DRAFT", "PUBLISHED", "ARCHIVED", "append_step", "check_version", "get_plan",
           "insert_plan", "list_plans", "move_head", "set_status", "steps_upto", "step_list"]

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"


def _plan_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def get_plan(conn: sa.engine.Connection, plan_id: int) -> dict[str, Any]:
    """One plan's row; :class:`NotFoundError` when there is none."""
    row = conn.execute(sa.select(PLANS).where(PLANS.c.id == int(plan_id))).first()
    if row is None:
        raise NotFoundError(f"plan {plan_id} does not exist",
                            fix="list the plans with GET /plans or `beatgrid plans list`")
    return _plan_dict(row)


def list_plans(conn: sa.engine.Connection, *, community_id: str | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    """Plans, newest first, optionally of one community or status."""
    query = sa.select(PLANS)
    if community_id is not None:
        query = query.where(PLANS.c.community_id == str(community_id))
    if status is not None:
        query = query.where(PLANS.c.status == status)
    return [_plan_dict(r) for r in conn.execute(query.order_by(PLANS.c.id.desc())).all()]


def insert_plan(conn: sa.engine.Connection, *, community_id: str, name: str, owner: str,
                base_plan_id: int | None = None) -> int:
    """A new draft at version 1 with no step yet; its id."""
    now = now_utc()
    result = conn.execute(PLANS.insert().values(
        community_id=str(community_id), name=name, owner=owner, status=DRAFT, version=1,
        head=0, base_plan_id=base_plan_id, created_at=now, updated_at=now))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def check_version(plan: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and int(expected) != int(plan["version"]):
        raise StaleVersionError(
            f"plan {plan['id']} is at version {plan['version']}, not {expected}: someone "
            "changed it since you read it",
            fix="reload the plan (GET /plans/{id}) and redo your change on it",
            current=str(plan["version"]))


def _bump(conn: sa.engine.Connection, plan: Mapping[str, Any], **values: Any) -> int:
    version = int(plan["version"]) + 1
    done = conn.execute(PLANS.update().where(
        (PLANS.c.id == plan["id"]) & (PLANS.c.version == plan["version"])).values(
        version=version, updated_at=now_utc(), **values))
    if done.rowcount != 1:  # cannot happen under the project lock; kept as the last guard
        raise StaleVersionError(f"plan {plan['id']} changed during the write",
                                fix="reload the plan and redo your change",
                                current=str(get_plan(conn, int(plan["id"]))["version"]))
    return version


def append_step(conn: sa.engine.Connection, plan_id: int, *, expected: int | None, kind: str,
                author: str, payload: Mapping[str, Any], summary: Mapping[str, Any],
                plan: Mapping[str, Any] | None = None) -> int:
    """Record a step after the head (steps beyond the head are dropped); the new version.

    ``plan`` is the plan's row when the caller has just read it in this transaction
    (it is not read again).
    """
    if plan is None or int(plan["id"]) != int(plan_id):
        plan = get_plan(conn, plan_id)
    check_version(plan, expected)
    seq = int(plan["head"]) + 1
    conn.execute(PLAN_STEPS.delete().where((PLAN_STEPS.c.plan_id == plan["id"])
                                           & (PLAN_STEPS.c.seq >= seq)))
    conn.execute(PLAN_STEPS.insert().values(plan_id=plan["id"], seq=seq, kind=kind,
                                            author=author, at=now_utc(),
                                            payload=dumps(payload), summary=dumps(summary)))
    version = _bump(conn, plan, head=seq)
    record(conn, action=f"plans.{kind}", target_kind="plan", target_id=plan["id"],
           before=plan["version"], after=version, summary={"step": seq, **summary})
    return version


def move_head(conn: sa.engine.Connection, plan_id: int, *, expected: int | None,
              to_step: int) -> int:
    """Undo or redo: the plan goes to step ``to_step`` (kept steps only); the new version."""
    plan = get_plan(conn, plan_id)
    check_version(plan, expected)
    last = conn.execute(sa.select(sa.func.max(PLAN_STEPS.c.seq))
                        .where(PLAN_STEPS.c.plan_id == plan["id"])).scalar() or 0
    if not 1 <= int(to_step) <= int(last):
        raise NotFoundError(f"plan {plan_id} has no step {to_step}",
                            fix=f"give a step from 1 to {last}")
    version = _bump(conn, plan, head=int(to_step))
    kind = "undo" if int(to_step) < int(plan["head"]) else "redo"
    record(conn, action=f"plans.{kind}", target_kind="plan", target_id=plan["id"],
           before=plan["version"], after=version,
           summary={"from_step": plan["head"], "to_step": int(to_step)})
    return version


def set_status(conn: sa.engine.Connection, plan_id: int, *, expected: int | None, status: str,
               by: str | None = None) -> int:
    """Change a plan's status (publishing archives the community's published plan)."""
    plan = get_plan(conn, plan_id)
    check_version(plan, expected)
    values: dict[str, Any] = {"status": status}
    if status == PUBLISHED:
        values.update(published_at=now_utc(), published_by=by)
        for other in list_plans(conn, community_id=plan["community_id"], status=PUBLISHED):
            if other["id"] != plan["id"]:
                _bump(conn, other, status=ARCHIVED)
    version = _bump(conn, plan, **values)
    record(conn, action=f"plans.{status}", target_kind="plan", target_id=plan["id"],
           before=plan["version"], after=version,
           summary={"community_id": plan["community_id"]})
    return version


def steps_upto(conn: sa.engine.Connection, plan_id: int, head: int) -> list[dict[str, Any]]:
    """The steps from the last snapshot at or before ``head`` to ``head``, payloads decoded."""
    rows = conn.execute(sa.select(PLAN_STEPS).where(
        (PLAN_STEPS.c.plan_id == int(plan_id)) & (PLAN_STEPS.c.seq <= int(head)))
        .order_by(PLAN_STEPS.c.seq.desc())).all()
    out: list[dict[str, Any]] = []
    for row in rows:
        step = dict(row._mapping)
        step["payload"] = json.loads(step["payload"])
        out.append(step)
        if "labels" in step["payload"]:
            break
    return list(reversed(out))


def step_list(conn: sa.engine.Connection, plan_id: int) -> list[dict[str, Any]]:
    """Every step of a plan (without payloads): seq, kind, author, time, summary."""
    rows = conn.execute(sa.select(PLAN_STEPS.c.seq, PLAN_STEPS.c.kind, PLAN_STEPS.c.author,
                                  PLAN_STEPS.c.at, PLAN_STEPS.c.summary)
                        .where(PLAN_STEPS.c.plan_id == int(plan_id))
                        .order_by(PLAN_STEPS.c.seq)).all()
    return [{**dict(r._mapping), "summary": json.loads(r.summary)} for r in rows]
