"""Progress of the long workflows (gis/progress.py) and its bar on the command line.

The workflows report rising fractions with what they do; a progress callback raising
``Cancelled`` stops them before they write; the command line draws the same progress as
a bar on stderr when it runs on a terminal (a pseudo-terminal here), and not otherwise
(a pipe, ``--quiet``), so what it prints on stdout never changes.
"""

from __future__ import annotations

import hashlib
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from beatgrid.gis.progress import Cancelled, CancelToken, Recorder
from beatgrid.gis.project import Project

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
ENV = {**os.environ, "COLUMNS": "100", "TERM": "xterm", "PYTHONHASHSEED": "0"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def project(tmp_path) -> Path:
    path = tmp_path / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return path


def rising(seen: Recorder) -> bool:
    return seen.fractions == sorted(seen.fractions) and all(0 <= f <= 1 for f in seen.fractions)


def test_generate_reports_each_stage_and_writes_after_the_last(project):
    seen = Recorder()
    plan = Project.open(project).grids.generate(communities=["C05"], save=True, progress=seen)
    assert plan.saved and rising(seen)
    assert seen.messages[0] == "reading communities"
    assert seen.messages[-4:] == ["applying the plan", "measuring 5 grids", "checking 5 grids",
                                  "writing grids and buildings.grid_id"]
    assert "planning grids for 1 community" in seen.messages


def test_a_cancelled_generate_writes_nothing(project):
    before = sha256(project)

    def stop_at_writing(fraction: float, message: str) -> None:
        if message.startswith("writing"):
            raise Cancelled("stopped before the write")

    with pytest.raises(Cancelled, match="stopped before the write"):
        Project.open(project).grids.generate(communities=["C05"], save=True,
                                             progress=stop_at_writing)
    assert sha256(project) == before


def test_coverage_and_staffing_report_progress(project):
    p = Project.open(project)
    seen = Recorder()
    p.coverage.analyse(levels=False, progress=seen)
    assert rising(seen) and seen.messages[0] == "reading cameras"
    assert "views of 300 cameras, coverage per zone, blind spots" in seen.messages
    seen = Recorder()
    p.coverage.recommend(budget=2, estate="E40", save=True, progress=seen)
    assert rising(seen)
    assert seen.messages[-2:] == ["placing up to 2 cameras in estate E40",
                                  "writing camera_proposals, proposal_effects"]
    seen = Recorder()
    p.policing.assess(progress=seen)
    assert rising(seen) and seen.messages[-1] == "assessing staffing per beat"
    token = CancelToken()
    token.cancel("no longer needed")
    with pytest.raises(Cancelled, match="no longer needed"):
        p.coverage.analyse(progress=token)


# --------------------------------------------------------------------------------------
# The bar of the command line
# --------------------------------------------------------------------------------------

def run_on_terminal(*args: str) -> str:
    """Run the command line on a pseudo-terminal (stdout and stderr); all it wrote."""
    pid, fd = pty.fork()
    if pid == 0:                                    # the child: the command line
        os.execvpe(sys.executable, [sys.executable, "-m", "beatgrid.api.cli", *args], ENV)
    out = bytearray()
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:                             # the child has closed the terminal
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode("utf-8", "replace")
    return out.decode("utf-8", "replace")


def run_piped(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "beatgrid.api.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=300, check=True)


def test_the_bar_is_drawn_on_a_terminal_only(project):
    args = ("staffing", "--project", str(project), "--limit", "3")
    shown = run_on_terminal(*args)
    assert "staffing: reading stations" in shown and "%" in shown
    assert "beats assessed" in shown                            # the report follows
    quiet = run_on_terminal(*args, "--quiet")
    assert "staffing: reading" not in quiet and "beats assessed" in quiet
    piped = run_piped(*args)
    assert piped.stderr == "" and "staffing: reading" not in piped.stdout
    assert piped.stdout.replace("\n", "\r\n") in quiet          # the terminal's line ends
    assert piped.stdout.replace("\n", "\r\n") in shown          # the same report
