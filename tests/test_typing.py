"""The core's public API is annotated and ``mypy`` finds no error in ``gis/``."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error_in_the_core():
    run = subprocess.run(["bash", str(ROOT / "scripts" / "mypy.sh")], capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Success: no issues found" in run.stdout


def test_py_typed_is_shipped():
    assert (ROOT / "gis" / "py.typed").exists()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()
