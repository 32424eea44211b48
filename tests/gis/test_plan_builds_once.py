"""Concurrent requests for the same community's units or plan's editor build it once
(the page opening a plan asks for the plan, its units and four tiles at the same time)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from beatgrid.gis import Project
from beatgrid.gis.plans import book as book_module

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
THREADS = 4


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "sample.gpkg"
    shutil.copy(SAMPLE, path)
    return Project.open(path)


def counted(monkeypatch, name):
    """Replace ``book.<name>`` by a slower copy that counts its calls (the pause makes
    the threads meet inside it when nothing keeps them apart)."""
    real = getattr(book_module, name)
    calls = []

    def slow(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(book_module, name, slow)
    return calls


def at_once(fn):
    """``fn()`` in THREADS threads released together; their answers (or exceptions)."""
    gate = threading.Barrier(THREADS)
    out = [None] * THREADS

    def run(k):
        gate.wait()
        try:
            out[k] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out[k] = exc
    threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return out


def test_units_built_once_for_concurrent_requests(project, monkeypatch):
    calls = counted(monkeypatch, "build_units")
    got = at_once(lambda: project.plans.units("C05"))
    assert not [g for g in got if isinstance(g, BaseException)], got
    assert len(calls) == 1
    assert all(g is got[0] for g in got)
    assert len(got[0].units) > 10
    # another community is built on its own
    assert project.plans.units("C01") is not got[0] and len(calls) == 2


def test_editor_built_once_for_concurrent_reads(project, monkeypatch):
    plan_id = project.plans.create("C05", source="generate", seed=1).id
    fresh = Project.open(project.location)  # nothing built yet
    units_calls = counted(monkeypatch, "build_units")
    editor_calls = counted(monkeypatch, "editor_from_state")
    views = at_once(lambda: fresh.plans.get(plan_id))
    assert not [v for v in views if isinstance(v, BaseException)], views
    assert len(units_calls) == 1 and len(editor_calls) == 1
    totals = [v.totals.to_dict("records") for v in views]
    assert all(t == totals[0] for t in totals) and len(totals[0]) > 1
