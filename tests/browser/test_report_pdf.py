"""``beatgrid report --out report.pdf``: printed by Debian's Chromium, 2 to 4 A4 pages that
render (pdftoppm) and carry the figures of ``beatgrid staffing`` and ``beatgrid coverage``
(pdftotext). The page images are kept in ``$BEATGRID_SCREENSHOT_DIR`` (default: a pytest
tmp folder). pdftoppm and pdftotext are Debian's poppler-utils.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from beatgrid.gis import Project
from beatgrid.layers.leadership import leadership_summary
from beatgrid.layers.report import write_report

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"


@pytest.fixture(scope="module")
def poppler():
    missing = [t for t in ("pdftoppm", "pdftotext", "pdfinfo") if shutil.which(t) is None]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install poppler-utils"
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("BEATGRID_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("report-pages")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return int(next(line.split()[-1] for line in info.stdout.splitlines()
                    if line.startswith("Pages:")))


def _render(pdf: Path, shots: Path, prefix: str) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(shots / prefix)],
                   check=True, capture_output=True)
    return sorted(shots.glob(f"{prefix}-*.png"))


def _text(pdf: Path) -> str:
    """The text in reading order, lines joined by one space (Chinese: no space)."""
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                          text=True, check=True)
    return " ".join(done.stdout.split())


def _bare(text: str) -> str:
    return "".join(text.split())


def _painted_share(png: Path) -> float:
    import numpy as np
    from PIL import Image

    return float((np.asarray(Image.open(png).convert("L")) < 250).mean())


def test_report_command_prints_a_pdf_with_the_figures(tmp_path, shots, poppler, chromium_path):
    project = tmp_path / "p.gpkg"
    shutil.copy(SAMPLE, project)
    done = subprocess.run([sys.executable, "-m", "beatgrid.api.cli", "report", "--project",
                           str(project), "--out", "report.pdf", "--chromium", chromium_path],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert 2 <= _pages(pdf) <= 4
    pages = _render(pdf, shots, "report-en")
    assert len(pages) == _pages(pdf)
    assert _painted_share(pages[0]) > 0.1  # key figures, a map and a chart on page 1
    text = _text(pdf)
    # the figures of `beatgrid staffing` (7 understaffed, 4 high; officers short 4,
    # auxiliaries 7, floating managers 20) and `beatgrid coverage` (9 of 300 cameras in
    # estates, E40 first of 14 old estates)
    assert "9 of 300 cameras inside estates" in text
    assert "4 beats clearly understaffed" in text
    assert "7 of 12 below policy in some rule" in text
    assert "4 officers, 7 auxiliaries short" in text
    assert "20 floating-population managers" in text
    assert "E40 中湖新村" in text and "rank 1 of 14" in text
    assert "To close the gap: add 1 officer, 2 auxiliaries and 4 floating-population" in text


def test_chinese_pdf_of_one_station(tmp_path, shots, poppler, chromium_path):
    summary = leadership_summary(Project.open(SAMPLE), proposal_estates=1)
    pdf = write_report(summary, tmp_path / "s02.pdf", station="S02", lang="zh",
                       chromium=chromium_path)
    assert 2 <= _pages(pdf) <= 4
    _render(pdf, shots, "report-zh-S02")
    text = _bare(_text(pdf))
    # the cards (their words may come out of the grid in another order) and the first
    # finding, which flows in one column
    assert "1/130" in text and "个警务区警力明显" in text
    assert "5个警务区中有3个低于警力配置标准，其中3个明显不足" in text
    assert "林头社区警务区" in text and "新洲社区警务区" not in text  # B01 is S01's
