"""The dashboard in Debian's Chromium against a running ``beatgrid serve``.

One server (on a copy of the sample) and one browser per module. The page must load
with no console error and no request leaving the service, draw both MapLibre maps
(non-blank pixels in the screenshots), show the figures of ``beatgrid staffing`` and
``beatgrid coverage`` (compared with the summary those commands agree with, see
tests/layers/test_leadership.py), switch language and station, and offer the report.

Screenshots are kept in ``$BEATGRID_SCREENSHOT_DIR`` (default: a pytest tmp folder).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from beatgrid.layers.report_pdf import LAUNCH_ARGS as REPORT_LAUNCH_ARGS

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
LAUNCH_ARGS = list(REPORT_LAUNCH_ARGS)  # Debian's Chromium, as the PDF report starts it
#: The first page load computes the summary (assessments and camera proposals).
READY_TIMEOUT_MS = 180_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("BEATGRID_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("dashboard-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``beatgrid serve`` on a copy of the sample: its base URL."""
    folder = tmp_path_factory.mktemp("dashboard-server")
    project = folder / "p.gpkg"
    shutil.copy(SAMPLE, project)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "beatgrid.api.cli", "serve", "--project",
                             str(project), "--port", str(port)], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("beatgrid serve did not start: " + proc.stderr.read().decode())
            time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        yield b
        b.close()


class Page:
    """A dashboard page at 1366x768 with its console errors and outside requests."""

    def __init__(self, browser, base: str, query: str = "") -> None:
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.context = browser.new_context(viewport={"width": 1366, "height": 768},
                                           accept_downloads=True, service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.goto(f"{base}/dashboard{query}")
        self.wait_ready()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith((self.base, "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def wait_ready(self) -> None:
        self.page.wait_for_function("window.dashboardState && window.dashboardState.ready",
                                    timeout=READY_TIMEOUT_MS)

    def cards(self) -> dict[str, str]:
        return self.page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
            '#cards .card')].map(c => [c.dataset.key, c.querySelector('.text').textContent]))""")


def _painted(png: bytes) -> tuple[int, float]:
    """Distinct colours and the share of pixels that are not white."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours = len(np.unique(rgb, axis=0))
    return colours, float((rgb != 255).any(axis=1).mean())


@pytest.fixture(scope="module")
def english(browser, server):
    page = Page(browser, server, "?lang=en")
    yield page
    page.context.close()


def test_page_loads_offline_with_no_console_error(english, shots):
    english.page.screenshot(path=str(shots / "dashboard-en-1366x768.png"))
    english.page.screenshot(path=str(shots / "dashboard-en-full.png"), full_page=True)
    assert english.errors == []
    assert english.outside == []
    state = english.page.evaluate("window.dashboardState")
    assert state == {"ready": True, "maps": 2, "lang": "en", "station": ""}


def test_maps_render_non_blank_pixels(english, shots):
    for name in ("map-beats", "map-estates"):
        el = english.page.locator(f"#{name}")
        assert el.locator("canvas.maplibregl-canvas").count() == 1
        png = el.screenshot(path=str(shots / f"{name}.png"))
        colours, painted = _painted(png)
        assert colours > 50, f"{name}: only {colours} colours"
        assert painted > 0.15, f"{name}: {painted:.0%} of the pixels are painted"
    # the severity colours are on the beats map (high: vermillion #d55e00 at 75 % on white)
    import numpy as np
    from PIL import Image

    png = english.page.locator("#map-beats").screenshot()
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int).reshape(-1, 3)
    near = (np.abs(rgb - [223, 134, 64]) < [20, 25, 25]).all(axis=1).sum()
    assert near > 1000


def test_figures_equal_the_commands(english, server):
    """The cards show what ``beatgrid staffing`` and ``beatgrid coverage`` print."""
    cards = english.cards()
    assert cards["cameras_in_estates"] == "9 of 300 cameras inside estates"
    assert cards["clearly_understaffed"] == "4 beats clearly understaffed"
    assert cards["short"] == "4 officers, 7 auxiliaries short"
    assert re.fullmatch(r"3\.2% of old estates' open space seen", cards["old_estates_seen_share"])
    beats = english.page.eval_on_selector_all(
        "#beats tbody tr", "rows => rows.map(r => r.dataset.beat)")
    assert beats[:7] == ["B03", "B04", "B01", "B07", "B02", "B12", "B11"]
    estates = english.page.eval_on_selector_all(
        "#estates tbody tr", "rows => rows.map(r => r.dataset.estate)")
    assert estates[:3] == ["E40", "E39", "E38"] and len(estates) == 14


def test_station_filter_and_language_switch(english, shots):
    page = english.page
    page.select_option("#station", "S02")
    english.wait_ready()
    page.wait_for_function("window.dashboardState.station === 'S02'")
    cards = english.cards()
    assert cards["clearly_understaffed"] == "3 beats clearly understaffed"
    assert cards["cameras_in_estates"] == "1 of 130 cameras inside estates"
    assert page.eval_on_selector_all("#beats tbody tr", "r => r.length") == 5
    page.click("button.lang[data-lang='zh']")
    page.wait_for_function("window.dashboardState.ready && window.dashboardState.lang === 'zh'")
    assert english.cards()["clearly_understaffed"] == "3 个警务区警力明显不足"
    assert page.text_content("h2[data-i18n='staffing']") == "警务区警力配置"
    assert "station=S02" in page.get_attribute("#report-pdf", "href")
    page.screenshot(path=str(shots / "dashboard-zh-S02.png"))
    assert english.errors == [] and english.outside == []
    page.select_option("#station", "")
    page.click("button.lang[data-lang='en']")
    page.wait_for_function("window.dashboardState.ready && window.dashboardState.lang === 'en'"
                           " && window.dashboardState.station === ''")


def test_report_download_from_the_dashboard(english):
    with english.page.expect_download() as info:
        english.page.click("#report-html")
    download = info.value
    assert download.suggested_filename == "beatgrid-report-en.html"
    page = Path(download.path()).read_text(encoding="utf-8")
    assert "4 beats clearly understaffed" in page and "9 of 300 cameras inside estates" in page
