/* BeatGrid planner: what the page shows of the plan (shared state and its drawing).
 *
 * ``S`` holds everything the page knows; ``adopt`` takes an answer of the plans API and
 * redraws what changed: the totals table, the units' colours (feature state), the hatch
 * of broken rules and the outlines, the grid labels, the buttons.
 */

import { t, lang, fmt } from "./planner-i18n.js";
import { colourGrids, showUnits, addUnitHatch, empty, unitCollection, setUnitState, PALETTE } from "./planner-map.js";
import { renderViolations } from "./planner-panels.js";

export const $ = (id) => document.getElementById(id);
/** Text made safe for HTML (names and ids come from the project and from users). */
export const esc = (v) => String(v === null || v === undefined ? "" : v)
  .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
export const EDIT_ROLES = new Set(["planner", "admin"]);

/** Everything the page knows. */
export const S = {
  me: null, band: { lo: 300, hi: 500 }, stations: [], communities: [], station: "",
  community: "", plans: [], plan: null, version: null, units: null, colours: new Map(),
  byId: new Map(), badKinds: new Map(), selected: null, eraseTo: null, onlyUnassigned: false,
  mode: "paint", map: null, labels: null, brush: null, table: null, busy: 0,
  fitted: "", strokes: [], firstRenderMs: null, basemap: "",
};
window.plannerState = { ready: false, signedIn: false };

// -- messages ------------------------------------------------------------------------------
let statusTimer = null;
export function say(text, kind) {
  const el = $("status");
  el.textContent = text || "";
  el.className = "status" + (kind ? " " + kind : "");
  window.plannerState.message = text || "";
  window.plannerState.messageKind = kind || "";
  clearTimeout(statusTimer);
  if (text && kind !== "error") statusTimer = setTimeout(() => { el.textContent = ""; }, 6000);
}
export function sayError(err) {
  const text = err && err.text ? err.text : String((err && err.message) || err);
  say(err && err.status === 403 ? t("denied", { msg: text }) : text, "error");
  if (!(err && err.status)) console.error(err);
}

// -- the view the panels read ------------------------------------------------------------------
export const view = {
  get totals() { return S.plan ? S.plan.totals : []; },
  get violations() { return S.plan ? S.plan.violations : []; },
  get byId() { return S.byId; },
  get band() { return S.band; },
  get selected() { return S.selected; },
  get canEdit() { return canEdit(); },
  colour: (g) => (g === null || g === undefined ? -1 : S.colours.has(g) ? S.colours.get(g) : -1),
  badKinds: (g) => S.badKinds.get(g) || [],
  get unassignedUnits() { return S.units ? S.units.grid.reduce((n, g) => n + (g === null ? 1 : 0), 0) : 0; },
  get unassignedHouseholds() {
    if (!S.units) return 0;
    let h = 0;
    for (let i = 0; i < S.units.n; i++) if (S.units.grid[i] === null) h += S.units.hh[i];
    return h;
  },
};

export function canEdit() {
  return !!(S.me && EDIT_ROLES.has(S.me.role) && S.plan && S.plan.status === "draft");
}

// -- taking the service's answer -------------------------------------------------------------------
/**
 * The plan as answered by the service. ``full``: the units' grids were reloaded too
 * (colours, table and map redrawn); otherwise only the grids in ``touched`` changed.
 */
export function adopt(plan, { full = false, touched = null, changedUnits = null } = {}) {
  const before = S.byId;
  S.plan = plan;
  S.version = plan.version;
  S.byId = new Map(plan.totals.map((r) => [r.grid_id, { ...r }]));
  const oldBad = S.badKinds;
  S.badKinds = new Map();
  for (const v of plan.violations) {
    if (v.severity === "warning" || v.grid_id === null || v.grid_id === undefined) continue;
    if (!S.badKinds.has(v.grid_id)) S.badKinds.set(v.grid_id, []);
    S.badKinds.get(v.grid_id).push(v.kind);
  }
  const ids = plan.totals.map((r) => r.grid_id);
  const newGrids = ids.some((g) => !before.has(g)) || [...before.keys()].some((g) => !S.byId.has(g));
  if (ids.some((g) => !S.colours.has(g))) {
    S.colours = colourGrids(ids, S.units.gridNeighbours(), S.colours);
  }
  if (S.selected && !S.byId.has(S.selected)) S.selected = null;
  if (!S.selected && ids.length) S.selected = ids[0];
  if (S.eraseTo && !S.byId.has(S.eraseTo)) S.eraseTo = null;
  let opened = false;
  if (S.shown !== S.units) {
    // a plan opened: its units drawn once with their colours; later only feature state;
    // the hatch and outlines follow once the units are on screen (openPlan)
    showUnits(S.map, S.units, (g) => view.colour(g), { badOf: (g) => S.badKinds.has(g) });
    S.shown = S.units;
    S.hatched = badFlags();
    S.marked = new Set();
    opened = true;
    S.map.getSource("marks").setData(empty());
  } else if (full) {
    recolour(changedUnits);
  }
  if (full) {
    if (!opened) updateOverlays(null);
    updateLabels(null);
    S.table.render(view);
  } else {
    const changed = new Set(touched || []);
    for (const g of S.byId.keys()) {
      const x = before.get(g), y = S.byId.get(g);
      if (!x || x.households !== y.households || x.units !== y.units || x.locked !== y.locked) changed.add(g);
      if ((oldBad.get(g) || []).join() !== (S.badKinds.get(g) || []).join()) changed.add(g);
    }
    updateOverlays([...changed], oldBad);
    updateLabels([...changed]);
    if (newGrids) S.table.render(view); else S.table.update(view, [...changed]);
  }
  renderAll();
}

/** The colour of units (all when null) from their grid: after their grids changed. */
export function recolour(list) {
  if (!S.units) return;
  const all = list || S.units.grid.map((g, i) => i);
  for (const i of all) setUnitState(S.map, i, { c: view.colour(S.units.grid[i]), pend: 0 });
}

/** Per unit, 1 when its grid breaks a rule (is hatched). */
function badFlags() {
  const out = new Uint8Array(S.units.n);
  for (let i = 0; i < S.units.n; i++) out[i] = S.units.grid[i] !== null && S.badKinds.has(S.units.grid[i]) ? 1 : 0;
  return out;
}

/**
 * The hatch (units of grids breaking a rule: feature state ``bad`` of the units whose
 * flag changed) and outlines (the grid painted into, the locked grids: redrawn when one
 * of the ``changed`` grids, all when null, is or was outlined).
 */
export function updateOverlays(changed, oldBad) {
  if (!S.units || !S.map.getSource("marks") || S.shown !== S.units) return;
  addUnitHatch(S.map);  // (once: after the first render of the units)
  const now = badFlags();
  for (let i = 0; i < now.length; i++) {
    if (now[i] !== S.hatched[i]) setUnitState(S.map, i, { bad: now[i] });
  }
  S.hatched = now;
  const marked = (g) => g === S.selected || (S.byId.get(g) || {}).locked;
  const shown = S.marked || new Set();
  if (changed !== null && !changed.some((g) => marked(g) || shown.has(g))) return;
  S.marked = new Set([...S.byId.keys()].filter(marked));
  const members = S.units.membersOf(S.marked);
  const marks = [], kinds = [];
  for (const [g, list] of members) {
    if (g === null || !marked(g)) continue;
    for (const i of list) { marks.push(i); kinds.push(g === S.selected ? "sel" : "lock"); }
  }
  let k = 0;
  S.map.getSource("marks").setData(unitCollection(S.units, marks, () => ({ kind: kinds[k++] })));
}

/** Grid labels: code and households at the grid's centre. */
export function updateLabels(grids) {
  if (!S.units) return;
  const members = grids ? S.units.membersOf(grids) : S.units.members();
  const item = (g) => {
    const row = S.byId.get(g);
    const list = members.get(g);
    if (!row || !list) return null;
    return { grid: g, at: S.units.centre(list), name: g, title: `${g} · ${row.code}`,
      text: `${fmt(row.households)} ${lang() === "zh" ? "户" : "hh"}${row.locked ? " · " + t("locked") : ""}`,
      cls: (S.badKinds.has(g) ? "bad" : "") + (g === S.selected ? " sel" : "") };
  };
  if (!grids) {
    const items = new Map();
    for (const g of S.byId.keys()) { const it = item(g); if (it) items.set(g, it); }
    S.labels.set(items);
  } else {
    for (const g of grids) if (g !== null) S.labels.update(g, item(g));
  }
}

/** Everything around the table: plan header, rules, buttons, read-only notes. */
export function renderAll() {
  const p = S.plan;
  $("plan-name").textContent = p ? `#${p.id} ${p.name}` : "—";
  $("plan-status").textContent = p ? t("status_" + p.status) : "";
  $("plan-status").className = "badge " + (p ? p.status : "");
  $("saved").textContent = !p ? "" : S.busy ? t("saving") : p.status === "draft"
    ? t("saved", { step: p.step, last: p.last_step }) : t("saved_published", { step: p.step });
  $("saved").classList.toggle("busy", S.busy > 0);
  $("band-note").textContent = t("band_note", { lo: S.band.lo, hi: S.band.hi });
  const vkey = `${lang()}|${p ? p.id + ":" + p.version : ""}`;
  if (S.violationsShown !== vkey) {
    S.violationsShown = vkey;
    renderViolations($("violations"), $("rules-count"), view, (g) => selectGrid(g, { zoom: true }));
  }
  renderCurrentGrid();
  refreshControls();
  const ps = window.plannerState;
  Object.assign(ps, { planId: p ? p.id : null, version: p ? p.version : null, step: p ? p.step : null,
    lastStep: p ? p.last_step : null, status: p ? p.status : null, canEdit: canEdit(), busy: S.busy,
    lang: lang(), selected: S.selected, grids: p ? p.totals.length : 0,
    violations: p ? p.violations.length : 0, unassigned: p ? p.unassigned_units : 0 });
}

function renderCurrentGrid() {
  const g = S.selected;
  const swatch = (x) => (x && view.colour(x) >= 0
    ? `<span class="swatch" style="background:${(S.colours.has(x) ? paletteOf(x) : "#ccc")}"></span>` : "");
  $("current-grid").innerHTML = g ? `${swatch(g)} ${esc(g)}` : esc(t("no_grid"));
  const sel = $("erase-into");
  const ids = [...S.byId.keys()].filter((x) => x !== g);
  const key = `${lang()}|${g}|${ids.join(",")}`;
  if (S.eraseShown !== key) {
    S.eraseShown = key;
    sel.innerHTML = `<option value="">${t("no_grid")}</option>` + ids.map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join("");
  }
  sel.value = S.eraseTo && S.byId.has(S.eraseTo) && S.eraseTo !== g ? S.eraseTo : "";
  const row = g ? S.byId.get(g) : null;
  $("lock").textContent = row && row.locked ? t("unlock") : t("lock");
  $("lock").setAttribute("aria-pressed", String(!!(row && row.locked)));
}

function paletteOf(g) {
  return PALETTE[S.colours.get(g)];
}

export function refreshControls() {
  const edit = canEdit();
  const role = S.me ? S.me.role : "";
  document.querySelectorAll(".edit").forEach((el) => { el.disabled = !edit; });
  document.querySelectorAll(".cam-edit").forEach((el) => { el.disabled = !(S.me && EDIT_ROLES.has(role)); });
  $("import-label").classList.toggle("disabled", !(S.me && EDIT_ROLES.has(role) && S.community));
  $("import-csv").disabled = !(S.me && EDIT_ROLES.has(role) && S.community);
  $("new-draft").disabled = !(S.me && EDIT_ROLES.has(role) && S.community);
  $("new-source").disabled = $("new-draft").disabled;
  const p = S.plan;
  $("undo").disabled = !edit || !p || p.step <= 1 || S.busy > 0;
  $("redo").disabled = !edit || !p || p.step >= p.last_step || S.busy > 0;
  $("history").disabled = !edit || !p;
  $("remove-grid").disabled = !edit || !S.selected;
  $("lock").disabled = !edit || !S.selected;
  for (const id of ["compare", "export-geojson", "export-csv"]) $(id).disabled = !p;
  document.querySelectorAll("button.mode").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === S.mode)));
  $("erase-into").closest(".erase-into").hidden = S.mode !== "erase";
  $("map-hint").hidden = S.mode === "camera" || S.mode === "pan" || !edit;
  $("only-unassigned").checked = S.onlyUnassigned;
  const ro = $("readonly");
  if (S.me && !EDIT_ROLES.has(role)) {
    ro.hidden = false; ro.textContent = t("read_only_role", { role: t("role_" + role) });
  } else if (p && p.status !== "draft") {
    ro.hidden = false; ro.textContent = t("read_only_status", { status: t("status_" + p.status) });
  } else ro.hidden = true;
  if (S.brush) S.brush.setEnabled(edit);
  $("brush-size").textContent = t("brush_px", { n: S.brush ? S.brush.radius : 18 });
}

// -- choosing the grid and the tool ---------------------------------------------------------------
export function selectGrid(g, { zoom = false } = {}) {
  if (!S.byId.has(g)) return;
  const old = S.selected;
  S.selected = g;
  if (S.eraseTo === g) S.eraseTo = null;
  updateOverlays([old, g].filter(Boolean));
  updateLabels([old, g].filter(Boolean));
  S.table.update(view, [old, g].filter(Boolean));
  S.table.reveal(g);
  renderCurrentGrid();
  refreshControls();
  window.plannerState.selected = g;
  if (zoom && S.units) {
    const list = S.units.members().get(g) || [];
    if (list.length) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const i of list) {
        const b = S.units.bbox;
        x0 = Math.min(x0, b[4 * i]); y0 = Math.min(y0, b[4 * i + 1]);
        x1 = Math.max(x1, b[4 * i + 2]); y1 = Math.max(y1, b[4 * i + 3]);
      }
      S.map.fitBounds([[x0, y0], [x1, y1]], { padding: 80, maxZoom: 18, duration: 300 });
    }
  }
}

