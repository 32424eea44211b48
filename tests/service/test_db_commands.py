"""``beatgrid db upgrade|load|dump`` and ``beatgrid users``: a project file into PostGIS and
back, with its accounts, plans and audit log (issue 11)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from beatgrid.gis import Project
from beatgrid.gis.io.migrations import head_revision
from beatgrid.gis.project import SAMPLE_PATH


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "beatgrid.api.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=600)


def test_users_from_the_command_line(tmp_path):
    project = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, project)
    added = cli("users", "add", "wang", "--role", "planner", "--password-stdin",
                "--project", str(project), stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    short = cli("users", "add", "li", "--role", "viewer", "--password-stdin",
                "--project", str(project), stdin="short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr
    assert cli("users", "set-role", "wang", "admin", "--project", str(project)).returncode == 0
    listed = cli("users", "list", "--project", str(project))
    assert "wang" in listed.stdout and "admin" in listed.stdout
    token = cli("users", "token", "wang", "--project", str(project)).stdout.strip()
    assert Project.open(project).accounts.user_of_token(token).name == "wang"
    unknown = cli("users", "disable", "nobody", "--project", str(project))
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr


@pytest.mark.postgis
def test_load_and_dump_keep_layers_accounts_plans_and_audit(tmp_path, pg_url, pg_schema):
    source = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, source)
    project = Project.open(source)
    project.accounts.add("wang", role="planner", password="a long password")
    plan = project.plans.create("C05", source="generate")
    up = cli("db", "upgrade", "--database-url", pg_url, "--schema", pg_schema)
    assert up.returncode == 0 and head_revision() in up.stdout
    loaded = cli("db", "load", "--project", str(source), "--database-url", pg_url,
                 "--schema", pg_schema)
    assert loaded.returncode == 0, loaded.stderr
    db = Project.open(pg_url, schema=pg_schema)
    assert db.accounts.sign_in("wang", "a long password").role.name == "planner"
    assert db.plans.get(plan.id).totals.equals(plan.totals)
    # the database goes on: a new plan gets a new id, not one of the file's
    again = db.plans.create("C09", source="empty")
    assert again.id > plan.id
    back = tmp_path / "back.gpkg"
    dumped = cli("db", "dump", "--database-url", pg_url, "--schema", pg_schema,
                 "--project", str(back))
    assert dumped.returncode == 0, dumped.stderr
    copy = Project.open(back)
    assert len(copy.layer("buildings")) == len(project.layer("buildings"))
    assert {p["id"] for p in copy.plans.list_plans()} == {plan.id, again.id}
    assert [e["action"] for e in copy.audit.entries(action="plans.")][:2] == [
        "plans.create", "plans.generate"]
    refused = cli("db", "dump", "--database-url", pg_url, "--schema", pg_schema,
                  "--project", str(back))
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
