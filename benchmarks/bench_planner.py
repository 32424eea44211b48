"""Benchmark: the web planner in Chromium on a community of 10,000 buildings (issue 13).

A project holding one community of ``--buildings`` buildings (the one-big-community
generator of the grid tests) and a draft made from a binned assignment (about 400
households per grid, as in ``bench_service.py``'s ``edit`` section), served by a real ``beatgrid serve``
(uvicorn, local mode) on a free port, driven by Debian's Chromium through Playwright
at 1366x768. Chromium is started as the PDF report starts it
(``beatgrid.layers.report_pdf.LAUNCH_ARGS``): without its address bar's pop-up, a page
of its own that headless Chromium 156 otherwise builds in every new window (each load
here is a new window), about 3 s of CPU beside the planner's first render on 2 cores:

``first render``  the page opened on the draft (``/#c=C000&plan=ID``) until its units
                  are drawn coloured by grid with the first rows of the totals beside
                  them (MapLibre ``idle`` after the units source is added):
                  ``performance.now()`` at the mark ``units-drawn``, i.e. from
                  navigation start. The hatch of the grids breaking a rule and the
                  outline of the selected grid come next, with the rest of the totals'
                  rows: MapLibre idle again (``hatch drawn``). Run it
                  under ``taskset -c 1`` on a shared machine. Measured on a
                  cold server (the first request builds the community's units) and then
                  ``--loads`` times on a warm one (each in order too: the first
                  after the cold one is the slowest). Target: at most 2 s.
``strokes``       ``--strokes`` brush strokes, each a real mouse drag over about
                  ``--units`` units around a grid (the map is zoomed so that the brush
                  covers them), painted into it; two neighbouring grids in turn, each
                  stroke undone (Ctrl+Z) before the next. Measured in the page with
                  performance marks: ``stroke-end`` (mouse up) to ``stroke-totals``
                  (the totals of the touched grids rewritten and the next frame drawn:
                  a message posted from the next animation frame): the figure
                  the target is about (p95 at most 200 ms); and to the service's answer
                  adopted (one ``POST /plans/{id}/move`` for the stroke, next frame).

Usage::

    .venv/bin/python benchmarks/bench_planner.py
    .venv/bin/python benchmarks/bench_planner.py --buildings 2000 --strokes 10 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_servers import binned_assignment, editing_server  # noqa: E402
from grid_fixtures import big_community  # noqa: E402

from beatgrid.gis import Project  # noqa: E402
from beatgrid.layers.report_pdf import LAUNCH_ARGS as REPORT_LAUNCH_ARGS  # noqa: E402

LAUNCH_ARGS = list(REPORT_LAUNCH_ARGS)  # Debian's Chromium, as the PDF report starts it
VIEWPORT = {"width": 1366, "height": 768}
#: Brush radius of the strokes (px); the map is zoomed to put ``--units`` units under it.
BRUSH_PX = 60
#: Strokes first made (not counted) to find the zoom giving ``--units`` units a stroke.
CALIBRATION = 3


def make_project(folder: Path, buildings: int) -> tuple[Path, int]:
    """The project file and the id of its draft."""
    path = folder / "big.gpkg"
    project = Project.open(path, create=True)
    project.write(big_community(buildings=buildings, seed=1))
    plan = project.plans.import_csv("C000", binned_assignment(project, "C000"),
                                    name="binned draft")
    return path, plan.id


def open_page(browser: Any, base: str, plan_id: int) -> tuple[Any, Any, dict[str, float]]:
    """A fresh page on the draft: (context, page, times in ms from navigation: units
    drawn, hatch drawn, the units' GeoJSON received, the plan asked for)."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()
    page.goto(f"{base}/#c=C000&plan={plan_id}")
    page.wait_for_function("window.plannerState && window.plannerState.ready && "
                           "window.plannerState.overlaysMs", timeout=600_000)
    times = page.evaluate(f"""() => {{
        const units = performance.getEntriesByType('resource')
          .find(r => r.name.endsWith('/plans/{plan_id}/units'));
        return {{first: window.plannerState.firstRenderMs, overlays: window.plannerState.overlaysMs,
                 units_received: units ? units.responseEnd : null,
                 asked: performance.getEntriesByName('plan-open')[0].startTime}};
    }}""")
    return context, page, times


#: Aim one stroke: the ``n`` units nearest to grid ``target`` but not in it, zoomed to fit
#: under a brush of radius ``r`` at the map's centre; answers the centre on the page.
AIM = """([target, n, r, scale]) => {
    const P = window.planner, m = P.map;
    const mean = (us) => us.map(P.centre).reduce((a, c) => [a[0] + c[0] / us.length, a[1] + c[1] / us.length], [0, 0]);
    const c = mean(P.unitsOf(target));
    const d = (i) => { const p = P.centre(i); return (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2; };
    const all = [...Array(P.unitsCount()).keys()].filter(i => P.gridOf(i) !== target);
    const pick = all.sort((a, b) => d(a) - d(b)).slice(0, n);
    const pts = pick.map(P.centre);
    const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
    const box = m.getContainer().getBoundingClientRect();
    const side = scale * r;
    m.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], {duration: 0,
      padding: {left: (box.width - side) / 2, right: (box.width - side) / 2,
                top: (box.height - side) / 2, bottom: (box.height - side) / 2}});
    m.triggerRepaint();
    return new Promise(res => m.once('idle', () => res([box.left + box.width / 2, box.top + box.height / 2])));
}"""


def strokes(page: Any, count: int, per_stroke: int) -> list[dict[str, Any]]:
    """``count`` strokes, each over about ``per_stroke`` units around a grid painted into it
    (two neighbouring grids in turn); the page's measures of each."""
    page.evaluate(f"document.getElementById('brush').value = {BRUSH_PX};"
                  "document.getElementById('brush').dispatchEvent(new Event('input'))")
    grids = page.evaluate("[...document.querySelectorAll('#totals tr[data-grid]')]"
                          ".map(r => r.dataset.grid)")
    # two neighbouring grids in the middle (the bins are a lattice: ids in order are
    # neighbours)
    pair = [grids[len(grids) // 2], grids[len(grids) // 2 + 1]]
    out: list[dict[str, Any]] = []
    scale = 1.0
    for k in range(count + CALIBRATION):
        target = pair[k % 2]
        page.click(f"#totals tr[data-grid='{target}']")
        x, y = page.evaluate(AIM, [target, per_stroke, BRUSH_PX, scale])
        done = len(page.evaluate("window.plannerState.strokes || []"))
        page.mouse.move(x - 12, y)
        page.mouse.down()
        for step in range(1, 4):
            page.mouse.move(x - 12 + 8 * step, y)
        page.mouse.up()
        try:
            page.wait_for_function(f"(window.plannerState.strokes || []).length > {done} && "
                                   "window.plannerState.busy === 0 && "
                                   "window.plannerState.strokes.at(-1).confirmedMs !== null",
                                   timeout=120_000)
        except Exception:
            page.screenshot(path="bench-planner-failed.png")
            raise RuntimeError("the stroke was not answered: "
                               + json.dumps(page.evaluate("window.plannerState"))) from None
        rec = page.evaluate("window.plannerState.strokes.at(-1)")
        if k >= CALIBRATION:
            out.append(rec)
        else:  # zoom so that the next stroke takes about per_stroke units
            scale *= float(np.clip(np.sqrt(max(1, rec["units"]) / per_stroke), 0.5, 3.0))
        # undo the stroke: every stroke starts from the same plan
        step = page.evaluate("window.plannerState.step")
        page.keyboard.press("Control+z")
        page.wait_for_function(f"window.plannerState.step === {step - 1} && "
                               "window.plannerState.busy === 0", timeout=300_000)
    return out


def summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(a, 50)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "max": round(float(a.max()), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=3, help="warm page loads measured")
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--units", type=int, default=50, help="units per stroke aimed at")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    chromium = os.environ.get("BEATGRID_CHROMIUM", "/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-planner-"))
    result: dict[str, Any] = {"buildings": args.buildings}
    try:
        t0 = time.perf_counter()
        path, plan_id = make_project(work, args.buildings)
        result["setup_s"] = round(time.perf_counter() - t0, 1)
        with editing_server("gpkg", str(path)) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            context, page, cold = open_page(browser, server.url, plan_id)
            info = page.evaluate("[window.plannerState.grids, window.planner.unitsCount(), "
                                 "window.plannerState.violations]")
            result.update(grids=info[0], units=info[1], rules_broken=info[2],
                          first_render_cold_ms=round(cold["first"]))
            context.close()
            loads = []
            for _ in range(args.loads):
                context, page, times = open_page(browser, server.url, plan_id)
                loads.append(times)
                if len(loads) < args.loads:
                    context.close()
            result["first_render_warm_ms"] = summary([x["first"] for x in loads])
            # each load, in order: the first after the cold one is the slow one
            result["first_render_warm_each_ms"] = [round(x["first"]) for x in loads]
            result["warm_plan_asked_ms"] = summary([x["asked"] for x in loads])
            result["warm_units_geojson_received_ms"] = summary([x["units_received"] for x in loads])
            result["warm_hatch_drawn_ms"] = summary([x["overlays"] for x in loads])
            recs = strokes(page, args.strokes, args.units)
            result["strokes"] = len(recs)
            result["units_per_stroke"] = summary([r["units"] for r in recs])
            result["stroke_to_totals_ms"] = summary([r["optimisticMs"] for r in recs])
            result["stroke_script_ms"] = summary([r["localMs"] for r in recs])
            result["stroke_to_answer_ms"] = summary([r["confirmedMs"] for r in recs])
            result["all_confirmed"] = all(r["ok"] for r in recs)
            context.close()
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
