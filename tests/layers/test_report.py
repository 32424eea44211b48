"""``beatgrid report`` as HTML: one self-contained page carrying the summary's figures.

The PDF (printed by Chromium) is checked in tests/browser/test_report_pdf.py.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from beatgrid.gis import Project
from beatgrid.gis.errors import InputError
from beatgrid.layers.leadership import leadership_summary
from beatgrid.layers.report import report_html, write_report

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"


class _Resources(HTMLParser):
    """Every URL the page would load (src, href) and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


@pytest.fixture(scope="module")
def summary():
    return leadership_summary(Project.open(SAMPLE), proposal_estates=1)


def _parse(page: str) -> _Resources:
    p = _Resources()
    p.feed(page)
    return p


def test_report_page_is_self_contained_and_carries_the_figures(summary):
    page = report_html(summary, lang="en")
    parsed = _parse(page)
    assert parsed.urls and all(u.startswith("data:image/png;base64,") for u in parsed.urls)
    for uri in parsed.urls:  # the two maps are real PNG images
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(parsed.urls) == 2 and page.count("<svg") == 2
    text = " ".join(parsed.text)
    f = summary.figures()
    assert "9 of 300 cameras inside estates" in text
    assert "4 beats clearly understaffed" in text
    assert f"{100 * f.old_estates_seen_share:.1f}% of old estates' open space seen" in text
    # one paragraph per understaffed beat, with the staff to add
    for row in summary.beat_table().itertuples():
        assert (f"{row.beat_id} {row.name}" in text) == bool(row.failed_rules)
    assert "add 1 officer, 1 auxiliary and 6 floating-population managers" in text  # B07
    assert "<script" not in page


def test_chinese_report_for_one_station(summary):
    page = report_html(summary, station="S01", lang="zh")
    text = " ".join(_parse(page).text)
    f = summary.figures("S01")
    assert f"{f.clearly_understaffed} 个警务区警力明显不足" in text
    assert "B01 新洲社区警务区" in text and "B03 林头社区警务区" not in text  # B03 is S02's
    assert 'lang="zh-CN"' in page and "需增配民警 1 名" in text


def test_write_report_refuses_other_formats(summary, tmp_path):
    with pytest.raises(InputError, match=r"\.html or \.pdf, not \.docx"):
        write_report(summary, tmp_path / "r.docx")
    out = write_report(summary, tmp_path / "r.html", lang="en")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_command_writes_html_and_prints_the_figures(tmp_path):
    project = tmp_path / "p.gpkg"
    shutil.copy(SAMPLE, project)
    cmd = [sys.executable, "-m", "beatgrid.api.cli", "report", "--project", str(project)]
    done = subprocess.run(cmd + ["--out", "out/report.html", "--proposals", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "12 beats assessed in the project; 7 understaffed, 4 clearly" in done.stdout
    assert re.search(r"9 of 300 cameras inside estates", done.stdout)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "4 beats clearly understaffed" in page
    bad = subprocess.run(cmd + ["--out", "r.html", "--station", "S9"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("beatgrid: error: --station 'S9' is not in the project "
                                  "Fix: use one of S01, S02 (or omit --station for the whole "
                                  "project)")
    bad = subprocess.run(cmd + ["--out", "r.txt"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "written as .html or .pdf, not .txt" in bad.stderr
