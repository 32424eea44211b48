"""``beatgrid … | head``: output files are written and the command stops quietly."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-geodata" / "ningbo-jiangbei.gpkg"


def _piped(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``beatgrid ARGS | head -1``; the command's exit status and its stderr."""
    cmd = " ".join([sys.executable, "-m", "beatgrid.api.cli", *args])
    run = subprocess.run(["bash", "-c", f"{cmd} 2>err.txt | head -1 >/dev/null; "
                                        "echo ${PIPESTATUS[0]}"],
                         cwd=cwd, capture_output=True, text=True, timeout=600)
    return int(run.stdout.strip()), (cwd / "err.txt").read_text()


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE, path)
    return path


def test_closed_pipe_is_quiet(tmp_path):
    status, err = _piped(["schema"], tmp_path)
    assert "Broken pipe" not in err and "Traceback" not in err
    assert status in (0, 141)


@pytest.mark.parametrize("args, out", [
    (["validate", "--project", "p.gpkg", "--csv", "problems.csv"], "problems.csv"),
    (["staffing", "--project", "p.gpkg", "--out", "staffing.csv"], "staffing.csv"),
    (["hotspots", "--project", "p.gpkg", "--zones", "beats", "--out", "hot.csv"], "hot.csv"),
])
def test_output_file_written_even_when_the_reader_leaves(project, args, out):
    status, err = _piped(args, project.parent)
    assert "Broken pipe" not in err and "Traceback" not in err, err
    assert (project.parent / out).exists(), f"{out} not written (stderr: {err})"
    assert status in (0, 1, 141)
