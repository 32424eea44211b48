/* BeatGrid planner: the draft beside the community's published plan.
 *
 * Two maps side by side, moving together: the draft's grids on the left, the published
 * grids on the right, the units whose grid differs outlined on both; below, the
 * households and units of every grid in each plan (GET /plans/{a}/compare/{b}).
 */

/* global maplibregl */

import { t, fmt } from "./planner-i18n.js";
import { Units, colourGrids, createMap, whenLoaded, showUnits, empty } from "./planner-map.js";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s === null || s === undefined ? "" : s)
  .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
let maps = null;

function diffLayer(map, fc) {
  if (map.getSource("diff")) { map.getSource("diff").setData(fc); return; }
  map.addSource("diff", { type: "geojson", data: fc });
  map.addLayer({ id: "diff", type: "line", source: "diff", paint: { "line-color": "#000", "line-width": 2.4 } });
}

function boundary(map, S) {
  const f = S.communities.find((x) => x.properties.id === S.plan.community_id);
  map.getSource("boundary").setData(f ? { type: "FeatureCollection", features: [f] } : empty());
  if (!map.getLayer("boundary")) {
    map.addLayer({ id: "boundary", type: "line", source: "boundary",
      paint: { "line-color": "#111", "line-width": 2.2, "line-dasharray": [4, 2] } });
  }
}

function sync(a, b) {
  let busy = false;
  const follow = (from, to) => from.on("move", () => {
    if (busy) return;
    busy = true;
    to.jumpTo({ center: from.getCenter(), zoom: from.getZoom() });
    busy = false;
  });
  follow(a, b);
  follow(b, a);
}

/** Open the comparison of the open draft with the community's published plan. */
export async function openCompare(api, S, { say }) {
  if (!S.plan) return;
  const published = await api.get("/plans?status=published&community_id=" + encodeURIComponent(S.plan.community_id));
  if (!published.length) {
    say(t("no_published", { c: S.plan.community_id }), "warn");
    return;
  }
  const other = published[0].id;
  const [cmp, diff, pubUnits] = await Promise.all([
    api.compare(S.plan.id, other, false), api.compare(S.plan.id, other, true), api.units(other)]);
  $("compare-title").textContent = t("compare_title", { a: S.plan.id, b: other });
  $("compare-summary").textContent = t("moved_summary", { hh: fmt(cmp.households_moved), b: fmt(cmp.buildings_moved) });
  $("compare-table").innerHTML = `<thead><tr><th>${esc(t("grid"))}</th>` +
    `<th class="num">${esc(t("draft"))} · ${esc(t("households"))}</th><th class="num">${esc(t("published_col"))} · ${esc(t("households"))}</th>` +
    `<th class="num">${esc(t("draft"))} · ${esc(t("units"))}</th><th class="num">${esc(t("published_col"))} · ${esc(t("units"))}</th>` +
    `<th>${esc(t("changed"))}</th></tr></thead><tbody>` +
    cmp.grids.map((g) => `<tr data-grid="${esc(g.grid_id)}"${g.changed ? ' class="changed"' : ""}><td>${esc(g.grid_id)}</td>` +
      `<td class="num">${fmt(g.households_a)}</td><td class="num">${fmt(g.households_b)}</td>` +
      `<td class="num">${fmt(g.units_a)}</td><td class="num">${fmt(g.units_b)}</td>` +
      `<td>${g.changed ? "✎ " + esc(t("changed")) : ""}</td></tr>`).join("") + "</tbody>";
  $("compare-view").hidden = false;
  const pub = Units.fromCompact(pubUnits);
  const ids = [...new Set(pub.grid.filter((g) => g !== null))];
  const colours = colourGrids(ids, pub.gridNeighbours(), S.colours);
  const bounds = S.units.bounds;
  if (!maps) {
    maps = [createMap("compare-a", { bounds }), createMap("compare-b", { bounds })];
    sync(maps[0], maps[1]);
  }
  await Promise.all(maps.map(whenLoaded));
  const draftUnits = new Units({ type: "FeatureCollection", features: S.units.fc.features.map((f) => ({
    type: "Feature", id: f.id, geometry: f.geometry, properties: { ...f.properties } })) }, S.units.bbox);
  draftUnits.grid = S.units.grid.slice();
  draftUnits.planId = S.units.planId;
  const colourOf = (m) => (g) => (m.has(g) ? m.get(g) : -1);
  for (const [map, units, cols] of [[maps[0], draftUnits, S.colours], [maps[1], pub, colours]]) {
    showUnits(map, units, colourOf(cols));
    boundary(map, S);
    diffLayer(map, diff);
    map.resize();
    map.fitBounds(bounds, { padding: 16, duration: 0 });
  }
  window.plannerState.compare = { other, households_moved: cmp.households_moved,
    buildings_moved: cmp.buildings_moved, grids: cmp.grids.length };
}
