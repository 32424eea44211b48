"""The house keeps its shape: archcheck --strict, no skipped examples, one entry point."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHCHECK = ROOT.parent / "shared" / "tools" / "archcheck.py"


@pytest.mark.skipif(not ARCHCHECK.exists(), reason="../shared/tools/archcheck.py not beside the repo")
def test_archcheck_strict_passes():
    run = subprocess.run([sys.executable, str(ARCHCHECK), str(ROOT), "--strict"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-1000:]


def test_no_docstring_example_is_skipped():
    skipped = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "gis").rglob("*.py"))
               for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"doctest:\s*\+SKIP", line)]
    assert skipped == []


def test_core_knows_nothing_of_http_or_the_command_line():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "gis").rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+(fastapi|starlette|argparse|beatgrid\.api|"
                              r"beatgrid\.layers)\b", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []


def test_routes_go_through_project():
    """No route module reads a file or a database itself."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "api" / "routes").glob("*.py")
                 if re.search(r"beatgrid\.gis\.io\.(project|gpkg|postgis|derived)\b|pyogrio",
                              p.read_text(encoding="utf-8"))]
    assert offenders == []
