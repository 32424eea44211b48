"""The web planner (``GET /``) in Debian's Chromium against a running ``beatgrid serve``.

One server and one browser per module. The project is a copy of the sample with two
accounts (a planner and a viewer), so the service runs in accounts mode and the page
signs in. Each test stands alone (tests of a module may run on different workers):
the ones needing a plan make it over HTTP first.

Screenshots are kept in ``$BEATGRID_SCREENSHOT_DIR`` (default: a pytest tmp folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from beatgrid.layers.report_pdf import LAUNCH_ARGS as REPORT_LAUNCH_ARGS

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
LAUNCH_ARGS = list(REPORT_LAUNCH_ARGS)  # Debian's Chromium, as the PDF report starts it
PLANNER = ("planner1", "planner-pass-1")
VIEWER = ("viewer1", "viewer-pass-1")
COMMUNITY = "C05"
#: Chromium logs every refused request; the page asks /auth/me before signing in (401)
#: and the viewer test asks for a change it may not make (403).
EXPECTED_REFUSAL = re.compile(r"Failed to load resource: .* status of (401|403)")
#: A generated draft takes a few seconds on a busy machine.
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("BEATGRID_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("planner-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``beatgrid serve`` on a copy of the sample with a planner and a viewer account."""
    from beatgrid.gis import Project

    folder = tmp_path_factory.mktemp("planner-server")
    project = folder / "p.gpkg"
    shutil.copy(SAMPLE, project)
    accounts = Project.open(project).accounts
    accounts.add(PLANNER[0], role="planner", password=PLANNER[1])
    accounts.add(VIEWER[0], role="viewer", password=VIEWER[1])
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
        except urllib.error.HTTPError:  # up, and asking for a sign-in
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


def _call(base: str, method: str, path: str, *, token: str | None = None, body=None,
          version: int | None = None) -> tuple[int, dict]:
    """One request to the service: (status, JSON body)."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _token(base: str, who: tuple[str, str]) -> str:
    status, body = _call(base, "POST", "/auth/login", body={"name": who[0], "password": who[1]})
    assert status == 200, body
    return body["token"]


class Page:
    """A planner page at 1366x768 with its console errors and outside requests."""

    def __init__(self, browser, base: str, query: str = "") -> None:
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.context = browser.new_context(viewport={"width": 1366, "height": 768},
                                           accept_downloads=True, service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     and not EXPECTED_REFUSAL.search(m.text) else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: d.accept())
        self.page.goto(f"{base}/{query}")

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith((self.base, "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def state(self) -> dict:
        return self.page.evaluate("window.plannerState")

    def sign_in(self, who: tuple[str, str]) -> None:
        self.page.wait_for_selector("#signin:not([hidden])", timeout=TIMEOUT_MS)
        self.page.fill("#signin-name", who[0])
        self.page.fill("#signin-password", who[1])
        self.page.click("#signin-submit")
        self.page.wait_for_function("window.plannerState.signedIn", timeout=TIMEOUT_MS)

    def wait_plan(self, condition: str = "true") -> dict:
        from playwright.sync_api import TimeoutError as Timeout

        try:
            self.page.wait_for_function(
                "window.plannerState.ready && window.plannerState.planId && "
                f"window.plannerState.busy === 0 && ({condition})", timeout=TIMEOUT_MS)
        except Timeout:
            pytest.fail(f"the page never showed {condition}: {self.state()}, "
                        f"console errors {self.errors}")
        return self.state()

    def households(self, grid: str) -> int:
        text = self.page.text_content(f"#totals tr[data-grid='{grid}'] td.hh")
        return int(text.replace(",", ""))

    def click_unit(self, unit: int) -> None:
        x, y = self.page.evaluate(f"window.planner.unitPoint({unit})")
        self.page.mouse.click(x, y)


def _a_unit_to_move(page: Page) -> tuple[int, str, str]:
    """A unit with households of the first grid, and another grid (the 2nd) to paint into."""
    return page.page.evaluate("""() => {
        const grids = [...document.querySelectorAll('#totals tr[data-grid]')].map(r => r.dataset.grid);
        const from = grids[0], to = grids[1];
        const units = window.planner.unitsOf(from);
        units.sort((a, b) => window.planner.households(b) - window.planner.households(a));
        return [units[0], from, to];
    }""")


def test_a_planner_paints_undoes_locks_reloads_and_publishes(browser, server, shots):
    page = Page(browser, server)
    p = page.page
    page.sign_in(PLANNER)
    assert "planner1" in p.text_content("#who")
    p.select_option("#community", COMMUNITY)
    p.wait_for_function("document.getElementById('new-draft').disabled === false")
    p.select_option("#new-source", "generate")
    p.click("#new-draft")
    first = page.wait_plan()
    assert first["status"] == "draft" and first["canEdit"] and first["violations"] == 0
    p.screenshot(path=str(shots / "planner-draft.png"))

    # paint a unit of one grid into another: both totals change at once, then confirmed
    unit, source, target = _a_unit_to_move(page)
    moved = p.evaluate(f"window.planner.households({unit})")
    assert moved > 0
    before = {g: page.households(g) for g in (source, target)}
    p.click(f"#totals tr[data-grid='{target}']")
    assert p.text_content("#current-grid").strip().endswith(target)
    page.click_unit(unit)
    after = page.wait_plan(f"window.plannerState.step === {first['step'] + 1}")
    assert page.households(source) == before[source] - moved
    assert page.households(target) == before[target] + moved
    assert p.evaluate(f"window.planner.gridOf({unit})") == target
    # a click on a building moves its unit (by building id), elsewhere the unit under it
    assert re.fullmatch(rf"(Moved into {target}: 1 unit\(s\), {moved:,} households|"
                        rf"Building BLD\d+ moved into {target} with its unit)\.",
                        after["message"]), after["message"]
    assert after["strokes"][-1]["ok"] is True
    p.screenshot(path=str(shots / "planner-painted.png"))

    # undo (Ctrl+Z): back to the step before, totals as they were
    p.keyboard.press("Control+z")
    undone = page.wait_plan(f"window.plannerState.step === {first['step']}")
    assert undone["lastStep"] == first["step"] + 1
    assert {g: page.households(g) for g in (source, target)} == before
    assert p.evaluate(f"window.planner.gridOf({unit})") == source

    # lock the target grid (L) and be refused a paint into it, with the reason shown
    p.keyboard.press("l")
    locked = page.wait_plan(f"window.plannerState.step === {first['step'] + 1}")
    assert p.get_attribute(f"#totals tr[data-grid='{target}'] .lockbtn", "aria-pressed") == "true"
    page.click_unit(unit)
    p.wait_for_function("window.plannerState.messageKind === 'error'")
    assert f"Grid {target} is locked" in p.text_content("#status")
    assert page.state()["step"] == locked["step"]
    assert p.evaluate(f"window.planner.gridOf({unit})") == source
    assert page.households(target) == before[target]
    p.screenshot(path=str(shots / "planner-locked-refused.png"))

    # reload: the draft comes back as it was left (same step, the lock kept)
    p.reload()
    back = page.wait_plan()
    assert (back["planId"], back["step"]) == (locked["planId"], locked["step"])
    assert p.get_attribute(f"#totals tr[data-grid='{target}'] .lockbtn", "aria-pressed") == "true"
    assert {g: page.households(g) for g in (source, target)} == before
    assert "step %d of %d" % (back["step"], back["lastStep"]) in p.text_content("#saved")

    # publish: the plan becomes the published one and the page turns read-only
    p.click("#publish")
    done = page.wait_plan("window.plannerState.status === 'published'")
    assert not done["canEdit"]
    assert p.is_disabled("#undo") and p.is_disabled("button.mode[data-mode='paint']")
    assert "published" in p.text_content("#readonly")
    p.screenshot(path=str(shots / "planner-published.png"))
    status, plans = _call(server, "GET", f"/plans?community_id={COMMUNITY}&status=published",
                          token=_token(server, VIEWER))
    assert status == 200 and [x["id"] for x in plans] == [done["planId"]]
    assert page.errors == [] and page.outside == []
    page.context.close()


def test_a_viewer_sees_a_draft_and_is_refused_edits(browser, server, shots):
    token = _token(server, PLANNER)
    status, plan = _call(server, "POST", "/plans", token=token,
                         body={"community_id": COMMUNITY, "source": "generate"})
    assert status == 201, plan
    page = Page(browser, server, f"#c={COMMUNITY}&plan={plan['id']}")
    p = page.page
    page.sign_in(VIEWER)
    st = page.wait_plan()
    assert st["planId"] == plan["id"] and st["role"] == "viewer" and not st["canEdit"]
    assert "viewer" in p.text_content("#readonly")
    for sel in ("#undo", "#lock", "#add-grid", "#rebalance", "#publish", "#new-draft",
                "button.mode[data-mode='paint']", "#only-unassigned"):
        assert p.is_disabled(sel), sel
    # the brush is off: a click on a unit changes nothing
    unit, source, target = _a_unit_to_move(page)
    p.click(f"#totals tr[data-grid='{target}']")
    page.click_unit(unit)
    p.wait_for_timeout(500)
    assert page.state()["step"] == st["step"]
    # and the service refuses the viewer's change if asked all the same (403, in words)
    answer = p.evaluate("""async ([id, v, to, u]) => {
        const r = await fetch(`/plans/${id}/move`, {method: 'POST', headers: {
          'Content-Type': 'application/json', 'If-Match': `"${v}"`,
          Authorization: 'Bearer ' + sessionStorage.getItem('beatgrid.planner.token')},
          body: JSON.stringify({to_grid: to, units: [u]})});
        return [r.status, (await r.json()).error];
    }""", [plan["id"], st["version"], target, unit])
    assert answer[0] == 403 and "this needs the planner role" in answer[1]
    p.screenshot(path=str(shots / "planner-viewer.png"))
    assert page.errors == [] and page.outside == []
    page.context.close()


def test_chinese_labels_compare_and_export(browser, server, shots):
    """In Chinese: a published plan, a draft from it with one move; the comparison shows
    the households moved; the assignment CSV downloads."""
    token = _token(server, PLANNER)
    community = "C03"
    status, base = _call(server, "POST", "/plans", token=token,
                         body={"community_id": community, "source": "generate"})
    assert status == 201, base
    status, pub = _call(server, "POST", f"/plans/{base['id']}/publish", token=token, body={},
                        version=base["version"])
    assert status == 200, pub
    status, draft = _call(server, "POST", "/plans", token=token,
                          body={"community_id": community, "source": "published"})
    assert status == 201 and draft["ok"], draft
    page = Page(browser, server, f"?lang=zh#c={community}&plan={draft['id']}")
    p = page.page
    page.sign_in(PLANNER)
    st = page.wait_plan()
    assert st["lang"] == "zh" and st["canEdit"]
    assert p.text_content("#publish") == "发布"
    assert p.text_content("#saved").startswith("草稿已保存")
    unit, source, target = _a_unit_to_move(page)
    moved = p.evaluate(f"window.planner.households({unit})")
    p.click(f"#totals tr[data-grid='{target}']")
    page.click_unit(unit)
    page.wait_plan(f"window.plannerState.step === {st['step'] + 1}")
    p.screenshot(path=str(shots / "planner-zh.png"))
    p.click("#compare")
    p.wait_for_function("window.plannerState.compare && !document.getElementById('compare-view').hidden")
    cmp = page.state()["compare"]
    status, expected = _call(server, "GET", f"/plans/{draft['id']}/compare/{base['id']}",
                             token=token)
    assert cmp["other"] == base["id"] and cmp["households_moved"] == expected["households_moved"]
    assert expected["households_moved"] >= moved > 0
    assert f"{expected['households_moved']:,} 户" in p.text_content("#compare-summary")
    changed = p.eval_on_selector_all("#compare-table tbody tr.changed", "r => r.map(x => x.dataset.grid)")
    assert {source, target} <= set(changed)
    assert sorted(changed) == sorted(g["grid_id"] for g in expected["grids"] if g["changed"])
    p.wait_for_timeout(800)
    p.screenshot(path=str(shots / "planner-compare.png"))
    p.click("#compare-close")
    with p.expect_download() as info:
        p.click("#export-csv")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "building_id,grid_id" and target in text
    assert page.errors == [] and page.outside == []
    page.context.close()


def test_the_page_is_open_and_json_clients_get_the_landing_page(server):
    """The page (and its files) need no sign-in; JSON at ``/`` is the OGC landing page,
    which does."""
    req = urllib.request.Request(server + "/", headers={"Accept": "text/html"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.headers["X-Frame-Options"] == "DENY"
        assert b"planner.js" in r.read()
    # every module the page imports is served (no build step: the files as they are)
    assets = Path(__file__).resolve().parents[2] / "layers" / "assets"
    names = {m for f in assets.glob("planner*.js")
             for m in re.findall(r'from "\./(planner[\w-]*\.js)"', f.read_text(encoding="utf-8"))}
    assert {"planner-map.js", "planner-view.js", "planner-cameras.js"} <= names
    for name in sorted(names | {"planner.js", "planner.css", "maplibre-gl.js"}):
        with urllib.request.urlopen(server + "/planner/assets/" + name, timeout=30) as r:
            assert r.status == 200 and r.headers["X-Frame-Options"] == "DENY", name
    assert _call(server, "GET", "/")[0] == 401
    status, landing = _call(server, "GET", "/", token=_token(server, VIEWER))
    assert status == 200 and landing["title"] == "BeatGrid"
    assert _call(server, "GET", "/planner/assets/nope.js")[0] == 404


def test_a_planner_places_turns_and_accepts_cameras(browser, server, shots):
    """Camera mode: add a camera in an old estate, turn it (the field of view follows),
    save it (OGC API Features Part 4); the estate's seen share is recomputed and rises;
    a proposal of ``cameras recommend`` is accepted as a camera."""
    page = Page(browser, server, "#c=C07")
    p = page.page
    page.sign_in(PLANNER)
    p.wait_for_function("document.getElementById('community').value === 'C07'")
    p.keyboard.press("c")
    p.wait_for_function("window.plannerState.cameras && window.planner.cameras.estates.features.length")
    before = page.state()["cameras"]["count"]
    x, y = p.evaluate("""() => {
        const f = window.planner.cameras.estates.features.find(f => f.properties.id === 'E40');
        const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
        const c = [ring.reduce((a, q) => a + q[0], 0) / ring.length, ring.reduce((a, q) => a + q[1], 0) / ring.length];
        window.planner.map.jumpTo({center: c, zoom: 17});
        const pt = window.planner.map.project(c), r = window.planner.map.getCanvasContainer().getBoundingClientRect();
        return [r.left + pt.x, r.top + pt.y];
    }""")
    p.wait_for_function("window.planner.cameras.seen.size > 0", timeout=TIMEOUT_MS)
    p.click("#camera-add")
    p.mouse.click(x, y)
    p.wait_for_function("window.plannerState.cameras.dirty")
    cam = page.state()["cameras"]["selected"]
    assert p.text_content("#camera-estate").startswith("estate E40:")
    seen_before = p.evaluate("window.planner.cameras.seen.get('E40')")
    wedge = p.evaluate("JSON.stringify(window.planner.map.getSource('cam-fov')._data)")
    p.fill("#cam-direction", "200")
    p.dispatch_event("#cam-direction", "input")
    assert p.text_content("#cam-direction-v") == "200°"
    assert p.evaluate("JSON.stringify(window.planner.map.getSource('cam-fov')._data)") != wedge
    p.click("#camera-save")
    p.wait_for_function(f"!window.plannerState.cameras.dirty && "
                        f"window.planner.cameras.seen.get('E40') > {seen_before}",
                        timeout=TIMEOUT_MS)
    assert "→" in p.text_content("#camera-estate")
    status, saved = _call(server, "GET", f"/collections/cameras/items/{cam}",
                          token=_token(server, VIEWER))
    assert status == 200 and saved["properties"]["direction"] == 200
    assert saved["properties"]["estate_id"] == "E40"
    p.click("#camera-propose")
    p.wait_for_function("window.plannerState.cameras.proposals > 0", timeout=TIMEOUT_MS)
    p.screenshot(path=str(shots / "planner-cameras.png"))
    p.click("#proposals [data-accept='0']")
    p.wait_for_function(f"window.plannerState.cameras.count === {before + 2} && "
                        "!window.plannerState.cameras.dirty", timeout=TIMEOUT_MS)
    assert page.errors == [] and page.outside == []
    page.context.close()
