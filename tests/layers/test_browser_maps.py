"""Open saved maps in Debian's Chromium (Playwright) and check they work offline.

Every request the page makes is recorded and anything that is not ``file:``,
``data:`` or ``blob:`` is aborted, so a map that tried to reach a CDN or a tile
server fails here (a positive control checks that a basemap's tile requests are
caught). Chromium comes from ``BEATGRID_CHROMIUM`` (default ``/usr/bin/chromium``,
``apt-get install chromium``); Playwright never downloads a browser. Without it the
tests are skipped, and fail when ``CI=true`` (see ``chromium_path`` in conftest.py).

Screenshots go to ``$BEATGRID_SCREENSHOT_DIR`` (default: ``<tmp>/beatgrid-screenshots``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from beatgrid.layers import base, style
from beatgrid.layers.report_pdf import LAUNCH_ARGS as REPORT_LAUNCH_ARGS

pytestmark = pytest.mark.browser

LAUNCH_ARGS = list(REPORT_LAUNCH_ARGS)  # Debian's Chromium, as the PDF report starts it
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
SCREENSHOT_DIR = Path(os.environ.get("BEATGRID_SCREENSHOT_DIR")
                      or Path(tempfile.gettempdir()) / "beatgrid-screenshots")


@pytest.fixture(scope="module")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("playwright is not installed (pip install -e '.[test]')", pytrace=False)
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        yield b
        b.close()


class OpenedMap:
    """A page showing a saved map, with what it requested and any script errors."""

    def __init__(self, browser, path: Path, *, viewport=(1100, 750)):
        self.requests: list[str] = []
        self.external: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self._record(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def _record(self, url: str) -> None:
        self.requests.append(url)
        if not url.startswith(LOCAL_SCHEMES) and url not in self.external:
            self.external.append(url)

    def _route(self, route) -> None:
        url = route.request.url
        self._record(url)
        if url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            route.abort()

    def count(self, selector: str) -> int:
        return self.page.evaluate("s => document.querySelectorAll(s).length", selector)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_map(browser):
    opened: list[OpenedMap] = []

    def _open(path: Path, **kwargs) -> OpenedMap:
        page = OpenedMap(browser, path, **kwargs)
        opened.append(page)
        return page
    yield _open
    for page in opened:
        page.close()


def _sample_map(tmp_path: Path, **map_kwargs):
    cells = [shapely.box(121.550 + i * 0.004, 29.880 + j * 0.003,
                         121.554 + i * 0.004, 29.883 + j * 0.003)
             for i in range(3) for j in range(3)]
    grids = gpd.GeoDataFrame(
        {"id": [f"G{k:02d}" for k in range(9)], "name": [f"网格{k}" for k in range(9)],
         "households": pd.array([120, 310, 450, 500, 520, 800, 390, 260, None],
                                dtype="Int64")},
        geometry=cells, crs=4490)
    grids["color"] = style.household_color(grids["households"], minimum=300, maximum=500)
    street = gpd.GeoDataFrame(
        {"id": ["s1"], "name": ["环城北路"]},
        geometry=[shapely.LineString([(121.549, 29.8865), (121.563, 29.8865)])], crs=4490)
    cams = gpd.GeoDataFrame(
        {"id": ["c1", "c2", "c3"], "quality": ["identify", "observe", "blind"]},
        geometry=[shapely.Point(121.552, 29.881), shapely.Point(121.558, 29.885),
                  shapely.Point(121.561, 29.888)], crs=4490)
    cams["color"] = style.quality_color(cams["quality"])

    m = base.base_map(grids, title="江北 basic grids 基础网格", **map_kwargs)
    base.add_layer(m, grids, name="Grids 网格", color_column="color",
                   tooltip_columns={"id": "Grid", "name": "名称", "households": "Households"})
    base.add_layer(m, street, name="Streets", color=style.CONTEXT_COLOR, weight=3)
    base.add_layer(m, cams, name="Cameras", color_column="color",
                   tooltip_columns={"id": "Camera", "quality": "Quality"})
    base.add_legend(m, "Households 户数", style.household_legend(minimum=300, maximum=500))
    base.add_legend(m, "Camera quality", style.quality_legend())
    path = base.save_map(m, tmp_path / "grids.html")
    return m, path, grids


N_PATHS = 9 + 1 + 3  # grid polygons + street + camera circles
PATHS = ".leaflet-overlay-pane svg path"


def test_saved_map_renders_offline(open_map, tmp_path):
    m, path, grids = _sample_map(tmp_path)
    view = open_map(path)
    page = view.page
    page.wait_for_function(f"document.querySelectorAll({PATHS!r}).length >= {N_PATHS}",
                           timeout=10_000)

    # Leaflet is loaded from the page itself and the map object exists
    assert page.evaluate("typeof L === 'object' && L.version") == "1.9.4"
    assert page.evaluate(f"window[{m.get_name()!r}] instanceof L.Map")
    assert view.count(PATHS) == N_PATHS
    fills = page.eval_on_selector_all(PATHS, "ps => ps.map(p => p.getAttribute('fill'))")
    assert set(grids["color"]) <= set(fills)
    assert style.QUALITY_COLORS["blind"] in fills

    # title, legends and the layer control are on the map
    assert page.inner_text(".beatgrid-title") == "江北 basic grids 基础网格"
    legends = page.locator(".leaflet-control-container .beatgrid-legend")
    assert legends.count() == 2
    assert "300-500 households" in page.inner_text(".leaflet-control-container")
    labels = page.locator(".leaflet-control-layers-overlays label")
    assert [t.strip() for t in labels.all_inner_texts()] == ["Grids 网格", "Streets", "Cameras"]

    # a tooltip opens on hover over a grid
    page.hover(f"{PATHS} >> nth=4")
    page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
    assert "G04" in page.inner_text(".leaflet-tooltip")
    assert "520" in page.inner_text(".leaflet-tooltip")

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "grids_map.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # switching a layer off removes its paths
    labels.nth(2).locator("input").uncheck()
    assert view.count(PATHS) == N_PATHS - 3

    assert view.external == [], f"the map reached outside the machine: {view.external}"
    assert view.errors == []
    assert all(u.startswith(LOCAL_SCHEMES) for u in view.requests)


def test_default_marker_and_popup_work_offline(open_map, tmp_path):
    m = base.base_map((121.55, 29.88, 121.56, 29.89))
    folium.Marker([29.885, 121.555], popup=folium.Popup("<b>Room 1</b> 警务室"),
                  tooltip="Police room").add_to(m)
    path = base.save_map(m, tmp_path / "marker.html")
    view = open_map(path)
    page = view.page
    page.wait_for_selector(".leaflet-marker-icon", timeout=10_000)
    size = page.evaluate("""() => { const i = document.querySelector('.leaflet-marker-icon');
                                    return [i.complete, i.naturalWidth, i.src.slice(0, 22)]; }""")
    assert size == [True, 25, "data:image/png;base64,"]  # Leaflet's marker, inlined
    page.click(".leaflet-marker-icon")  # folium's popup template needs jQuery: bundled
    page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
    assert "Room 1" in page.inner_text(".leaflet-popup-content")
    assert view.external == [] and view.errors == []


def test_network_guard_catches_a_basemap(open_map, tmp_path):
    """Positive control: with tiles asked for, the tile requests are seen and blocked."""
    _, path, _ = _sample_map(tmp_path, tiles="OpenStreetMap")
    view = open_map(path)
    view.page.wait_for_function(
        f"document.querySelectorAll({PATHS!r}).length >= {N_PATHS}", timeout=10_000)
    view.page.wait_for_timeout(500)
    assert view.external, "tile requests were expected to be recorded"
    assert all("tile.openstreetmap.org" in u for u in view.external)
