"""``beatgrid audit``: the audit log of a project, on both stores, filtered and as JSON."""

from __future__ import annotations

import json

import pytest

from beatgrid.api.cli import main
from beatgrid.gis import Project
from beatgrid.gis.audit import acting_as
from beatgrid.gis.io.feature_edits import FeatureEditor


def _project_args(target, schema) -> list[str]:
    return ["--project", target] + (["--schema", schema] if schema else [])


def test_audit_lists_who_changed_what(sample_target, capsys):
    kind, target, schema = sample_target
    project = Project.open(target, schema=schema)
    editor = FeatureEditor(project)
    with acting_as("li", "planner"):
        turned = editor.update("cameras", "CAM001", {"properties": {"direction": 90}},
                               expected=editor.version("cameras", "CAM001"))
    with acting_as("wang", "planner"):
        staffed = editor.update("staff", "B02", {"properties": {"auxiliaries": 5}},
                                expected=editor.version("staff", "B02"))
    args = _project_args(target, schema)

    assert main(["audit", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["at", "user", "role", "action", "target", "before", "after",
                                "summary"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("li", "planner", "features.update", "cameras/CAM001", turned.previous, turned.version),
        ("wang", "planner", "features.update", "staff/B02", staffed.previous, staffed.version)]
    assert "changed=direction" in lines[1] and "changed=auxiliaries" in lines[2]

    assert main(["audit", *args, "--user", "wang", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["user_name"], e["target_id"], e["summary"]["changed"]) for e in entries] == [
        ("wang", "staff/B02", ["auxiliaries"])]

    assert main(["audit", *args, "--action", "features.", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "staff/B02" in out and "cameras/CAM001" not in out
    assert main(["audit", *args, "--action", "plans."]) == 0
    assert capsys.readouterr().out.strip() == "(none)"

    first = entries[0]["at"]
    assert main(["audit", *args, "--since", first, "--json"]) == 0
    assert [e["target_id"] for e in json.loads(capsys.readouterr().out)] == ["staff/B02"]
    assert main(["audit", *args, "--since", "2999-01-01T08:00+08:00"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"


@pytest.mark.parametrize("argv, message", [
    (["--since", "last tuesday"], "--since 'last tuesday' is not an ISO 8601 date or time"),
    (["--project", "no-such.gpkg"], "project 'no-such.gpkg' does not exist"),
])
def test_audit_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    project = str(Project.sample(tmp_path / "p.gpkg").store.location)
    assert main(["audit", "--project", project, *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"beatgrid: error: {message}")
