/* BeatGrid planner: the page (sign in, pick a community and a plan, paint, check, publish).
 *
 * State of the plan comes from the plans API; the page keeps a copy of the units' grids
 * (``S.units.grid``) and of the totals to show a stroke at once, then takes the
 * service's answer as the truth (and reloads when the two disagree or someone else
 * changed the plan). window.plannerState tells tests and benchmarks what is on screen.
 */

import { Api } from "./planner-api.js";
import { t, setLang, lang, LABELS } from "./planner-i18n.js";
import { Units, createMap, whenLoaded, addBackground, addOverlays, GridLabels, geomBounds,
  hideUnits, prepareUnits, setRequestAuth, setUnitsMaxZoom } from "./planner-map.js";
import { Brush } from "./planner-paint.js";
import { TotalsTable } from "./planner-panels.js";
import { Editor } from "./planner-edit.js";
import { openCompare } from "./planner-compare.js";
import { Cameras } from "./planner-cameras.js";
import { $, esc, S, EDIT_ROLES, view, canEdit, say, sayError, adopt, recolour, updateOverlays,
  updateLabels, renderAll, refreshControls, selectGrid } from "./planner-view.js";

const api = new Api();

// -- signing in ------------------------------------------------------------------------------
async function signIn() {
  try {
    S.me = await api.me();
  } catch (err) {
    if (err.status === 401) { showSignIn(); return; }
    sayError(err);
    return;
  }
  $("signin").hidden = true;
  await start();
}

function showSignIn() {
  window.plannerState.signedIn = false;
  $("signin").hidden = false;
  $("signin-name").focus();
}

async function submitSignIn(e) {
  e.preventDefault();
  $("signin-error").textContent = "";
  try {
    await api.login($("signin-name").value.trim(), $("signin-password").value);
    $("signin-password").value = "";
    await signIn();
  } catch (err) {
    $("signin-error").textContent = err.text || String(err);
  }
}

async function signOut() {
  await api.logout();
  location.hash = "";
  location.reload();
}

// -- stations, communities, plans ------------------------------------------------------------------
async function start() {
  const role = t("role_" + S.me.role);
  $("who").textContent = S.me.mode === "local" ? t("local_user") : t("signed_in_as", { name: S.me.name, role });
  $("sign-out").hidden = S.me.mode === "local";
  window.plannerState.signedIn = true;
  window.plannerState.role = S.me.role;
  const h = new URLSearchParams(location.hash.slice(1));
  const wanted = Number(h.get("plan")) || null;
  if (wanted) {
    // the plan named in the address: ask for it now, with the lists below
    S.prefetch = { id: wanted, plan: api.plan(wanted), units: api.units(wanted) };
    S.prefetch.plan.catch(() => {});
    S.prefetch.units.catch(() => {});
  }
  const [settings, stations, communities] = await Promise.all([
    api.get("/planner/settings"), api.get("/layers/stations"), api.get("/layers/communities")]);
  S.band = { lo: settings.band.min_households, hi: settings.band.max_households };
  setUnitsMaxZoom(settings.units_max_zoom);
  S.stations = stations.features.map((f) => f.properties);
  S.communities = communities.features;
  fillStations();
  const c = h.get("c") || "";
  if (c && S.communities.some((f) => f.properties.id === c)) {
    await pickCommunity(c, wanted);
  } else {
    say(t("pick_prompt"));
    refreshControls();
  }
  window.plannerState.ready = true;
}

/** The map shown (``boot`` hides it while the plan named in the address loads). */
function showMap() { S.map.getCanvas().style.visibility = ""; }

function fillStations() {
  $("station").innerHTML = `<option value="">${t("all_stations")}</option>` +
    S.stations.map((s) => `<option value="${esc(s.id)}">${esc(s.id)} ${esc(s.name)}</option>`).join("");
  $("station").value = S.station;
  fillCommunities();
}

function fillCommunities() {
  const list = S.communities.map((f) => f.properties).filter((p) => !S.station || p.station_id === S.station);
  $("community").innerHTML = `<option value="">${t("pick_community")}</option>` +
    list.map((p) => `<option value="${esc(p.id)}">${esc(p.id)} ${esc(p.name)}</option>`).join("");
  $("community").value = list.some((p) => p.id === S.community) ? S.community : "";
  $("community-list").innerHTML = S.communities.map((f) => f.properties)
    .map((p) => `<option value="${esc(p.id)} · ${esc(p.name)} · ${esc(p.code)}"></option>`).join("");
}

function searchCommunity(text) {
  const q = text.trim().toLowerCase();
  if (!q) return;
  const hits = S.communities.map((f) => f.properties).filter((p) =>
    [p.id, p.name, p.code].some((v) => v && String(v).toLowerCase().includes(q.split(" · ")[0])));
  if (hits.length === 1 || (hits.length && hits[0].id.toLowerCase() === q.split(" · ")[0])) {
    $("community-search").value = "";
    pickCommunity(hits[0].id, null);
  }
}

async function pickCommunity(id, planId) {
  const f = S.communities.find((x) => x.properties.id === id);
  if (!f) return;
  S.community = id;
  S.station = S.station && f.properties.station_id !== S.station ? "" : S.station;
  $("station").value = S.station;
  fillCommunities();
  showCommunity(f);
  if (planId) {  // the plan named in the address: its units' tiles asked for while it is read
    S.mapReady.then(() => { if (!S.units) prepareUnits(S.map, planId); });
  }
  await loadPlans(planId);
}

function showCommunity(f) {
  const map = S.map;
  if (S.fitted !== f.properties.id) {  // (the camera may move before the style is loaded)
    const b = geomBounds(f.geometry);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 24, duration: 0 });
    S.fitted = f.properties.id;
  }
  whenLoaded(map).then(() => {
    map.getSource("boundary").setData({ type: "FeatureCollection", features: [f] });
  });
}

/** Streets and buildings of the community (after its units: they are not needed to paint). */
async function loadBackground(f) {
  if (!f || S.background === f.properties.id) return;
  S.background = f.properties.id;
  const b = geomBounds(f.geometry).map((v) => v.toFixed(6)).join(",");
  try {
    const [streets, buildings] = await Promise.all([
      api.get("/layers/streets?bbox=" + b), api.get("/layers/buildings?bbox=" + b)]);
    if (S.community !== f.properties.id) return;
    await S.mapReady;
    S.map.getSource("streets").setData(streets);
    S.map.getSource("buildings").setData(buildings);
  } catch (err) { sayError(err); }
}

async function loadPlans(planId) {
  S.plans = await api.plans(S.community);
  fillPlans();
  const drafts = S.plans.filter((p) => p.status === "draft");
  const chosen = planId && S.plans.some((p) => p.id === planId) ? planId
    : (drafts[0] || S.plans[0] || {}).id;
  if (chosen) await openPlan(chosen);
  else {
    closePlan();
    say(t("no_draft", { c: S.community }));
  }
  loadBackground(S.communities.find((x) => x.properties.id === S.community));
}

function fillPlans() {
  $("plan").innerHTML = (S.plans.length ? "" : `<option value="">${t("no_plan")}</option>`) +
    S.plans.map((p) => `<option value="${esc(p.id)}">#${esc(p.id)} ${esc(p.name)} · ${esc(t("status_" + p.status))} · ${esc(p.owner)}</option>`).join("");
  if (S.plan) $("plan").value = String(S.plan.id);
}

function closePlan() {
  S.plan = null;
  S.units = null;
  S.shown = null;
  S.byId = new Map();
  hideUnits(S.map);
  S.labels.clear();
  S.table.render({ ...view, totals: [] });
  renderAll();
}

/** Open plan ``id``: its totals and units, drawn; the first render is measured. */
export async function openPlan(id) {
  performance.mark("plan-open");
  const loading = t("loading_plan", { id });
  say(loading);
  window.plannerState.ready = false;
  const pre = S.prefetch && S.prefetch.id === id ? S.prefetch : null;
  S.prefetch = null;
  const [plan, compact] = await Promise.all(pre ? [pre.plan, pre.units] : [api.plan(id), api.units(id)]);
  S.units = Units.fromCompact(compact);
  S.colours = new Map();
  S.selected = null;
  S.eraseTo = null;
  location.hash = `c=${encodeURIComponent(plan.community_id)}&plan=${plan.id}`;
  await S.mapReady;
  const drawn = new Promise((resolve) => S.map.once("idle", resolve));
  S.table.after(drawn);
  showMap();
  adopt(plan, { full: true });
  if (!S.brush) makeBrush();
  S.brush.units = S.units;
  fillPlans();
  await drawn;
  performance.mark("units-drawn");
  const m = performance.measure("plan-to-units", "plan-open", "units-drawn");
  if (S.firstRenderMs === null) S.firstRenderMs = performance.now();
  window.plannerState.firstRenderMs = S.firstRenderMs;
  window.plannerState.openMs = m.duration;
  updateOverlays(null);  // the hatch (added now), the outlines of the selected and locked grids
  await new Promise((resolve) => S.map.once("idle", resolve));
  window.plannerState.overlaysMs = performance.now();
  await S.table.done;  // every grid's row written
  window.plannerState.ready = true;
  if ($("status").textContent === loading) say("");
}

function stepGrid(delta) {
  const ids = [...S.byId.keys()];
  if (!ids.length) return;
  const k = Math.max(0, ids.indexOf(S.selected));
  selectGrid(ids[(k + delta + ids.length) % ids.length], { zoom: false });
}

function setMode(mode) {
  S.mode = mode;
  if (S.brush) S.brush.setMode(mode);
  const cams = mode === "camera";
  S.mapReady.then(() => {
    S.cameras.ensureLayers();
    S.cameras.setVisible(cams);
    const f = S.communities.find((x) => x.properties.id === S.community);
    if (cams && f) S.cameras.load(f).catch(sayError);
  });
  refreshControls();
}

function setBrush(r) {
  if (!S.brush) return;
  const v = S.brush.setRadius(r);
  $("brush").value = v;
  refreshControls();
}

function makeBrush() {
  S.brush = new Brush(S.map, S.units, S.editor.brushHandlers());
  S.brush.setMode(S.mode);
  setBrush(Number($("brush").value));
}

// -- language ----------------------------------------------------------------------------------
function applyLanguage(l) {
  setLang(l);
  localStorage.setItem("beatgrid.lang", lang());
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  document.title = "BeatGrid · " + t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  document.querySelectorAll("button.lang").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang())));
  $("shortcuts").innerHTML = LABELS[lang()].shortcuts.map(([k, what]) => `<tr><td><kbd>${k}</kbd></td><td>${what}</td></tr>`).join("");
  if (S.me) {
    $("who").textContent = S.me.mode === "local" ? t("local_user") : t("signed_in_as", { name: S.me.name, role: t("role_" + S.me.role) });
    fillStations();
    fillPlans();
  }
  if (S.plan) { S.table.render(view); updateLabels(null); }
  renderAll();
}

// -- keyboard ----------------------------------------------------------------------------------
function onKey(e) {
  const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName) && e.target.type !== "checkbox" && e.target.type !== "range";
  if (e.key === "Escape") {
    if (S.brush) S.brush.cancel();
    document.querySelectorAll(".overlay").forEach((o) => { if (o.id !== "signin") o.hidden = true; });
    return;
  }
  if (typing) return;
  const ctrl = e.ctrlKey || e.metaKey;
  const k = e.key.toLowerCase();
  if (ctrl && k === "z" && !e.shiftKey) { e.preventDefault(); S.editor.undo(); return; }
  if (ctrl && (k === "y" || (k === "z" && e.shiftKey))) { e.preventDefault(); S.editor.redo(); return; }
  if (ctrl || e.altKey) return;
  if (e.key === " ") { e.preventDefault(); if (S.brush) S.brush.setSpace(true); return; }
  const actions = {
    "[": () => setBrush(S.brush.radius / 1.25), "]": () => setBrush(S.brush.radius * 1.25),
    b: () => setMode("paint"), e: () => setMode("erase"), v: () => setMode("pan"), c: () => setMode("camera"),
    u: () => { S.onlyUnassigned = !S.onlyUnassigned; refreshControls(); },
    n: () => stepGrid(1), p: () => stepGrid(-1),
    l: () => canEdit() && S.selected && S.editor.toggleLock(S.selected),
    a: () => canEdit() && S.editor.addGrid(), r: () => canEdit() && S.editor.rebalance(),
    "?": () => { $("help").hidden = false; },
  };
  const act = actions[e.key] || actions[k];
  if (act) { e.preventDefault(); act(); }
}

// -- downloads ----------------------------------------------------------------------------------
async function download(url, name) {
  try {
    const blob = await api.blob(url);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  } catch (err) { sayError(err); }
}

// -- wiring ---------------------------------------------------------------------------------------
function wire() {
  $("signin-form").addEventListener("submit", submitSignIn);
  $("sign-out").addEventListener("click", signOut);
  $("station").addEventListener("change", (e) => { S.station = e.target.value; fillCommunities(); });
  $("community").addEventListener("change", (e) => e.target.value && pickCommunity(e.target.value, null));
  $("community-search").addEventListener("change", (e) => searchCommunity(e.target.value));
  $("community-search").addEventListener("keydown", (e) => { if (e.key === "Enter") searchCommunity(e.target.value); });
  $("plan").addEventListener("change", (e) => e.target.value && openPlan(Number(e.target.value)).catch(sayError));
  $("new-draft").addEventListener("click", () => S.editor.newDraft($("new-source").value));
  document.querySelectorAll("button.lang").forEach((b) => b.addEventListener("click", () => applyLanguage(b.dataset.lang)));
  document.querySelectorAll("button.mode").forEach((b) => b.addEventListener("click", () => setMode(b.dataset.mode)));
  $("brush").addEventListener("input", (e) => setBrush(Number(e.target.value)));
  $("only-unassigned").addEventListener("change", (e) => { S.onlyUnassigned = e.target.checked; refreshControls(); });
  $("erase-into").addEventListener("change", (e) => { S.eraseTo = e.target.value || null; });
  $("grid-filter").addEventListener("input", (e) => S.table.setFilter(e.target.value));
  $("undo").addEventListener("click", () => S.editor.undo());
  $("redo").addEventListener("click", () => S.editor.redo());
  $("history").addEventListener("focus", () => S.editor.loadHistory());
  $("history").addEventListener("change", (e) => e.target.value && S.editor.goTo(Number(e.target.value)));
  $("lock").addEventListener("click", () => S.selected && S.editor.toggleLock(S.selected));
  $("add-grid").addEventListener("click", () => S.editor.addGrid());
  $("remove-grid").addEventListener("click", () => S.selected && S.editor.removeGrid(S.selected));
  $("rebalance").addEventListener("click", () => S.editor.rebalance());
  $("publish").addEventListener("click", () => S.editor.publish());
  $("compare").addEventListener("click", () => openCompare(api, S, { say, sayError }).catch(sayError));
  $("compare-close").addEventListener("click", () => { $("compare-view").hidden = true; });
  $("export-geojson").addEventListener("click", () => download(`/plans/${S.plan.id}/grids`, `plan-${S.plan.id}-grids.geojson`));
  $("export-csv").addEventListener("click", () => download(`/plans/${S.plan.id}/assignment.csv`, `plan-${S.plan.id}.csv`));
  $("import-csv").addEventListener("change", (e) => { const f = e.target.files[0]; if (f) S.editor.importCsv(f); e.target.value = ""; });
  $("help-button").addEventListener("click", () => { $("help").hidden = false; });
  $("help-close").addEventListener("click", () => { $("help").hidden = true; });
  S.map.on("click", (e) => {
    if (S.mode !== "pan" || !S.units || !S.map.getLayer("units-fill")) return;
    const hit = S.map.queryRenderedFeatures(e.point, { layers: ["units-fill"] })[0];
    const g = hit ? S.units.grid[hit.id] : null;
    if (g) selectGrid(g);
  });
  const box = S.map.getCanvasContainer();
  const at = (e) => { const r = box.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; };
  box.addEventListener("mousedown", (e) => {
    if (S.mode === "camera" && e.button === 0 && S.me && EDIT_ROLES.has(S.me.role) && S.cameras.down(e, at(e))) e.preventDefault();
  });
  box.addEventListener("mousemove", (e) => { if (S.mode === "camera") S.cameras.move(at(e)); });
  window.addEventListener("mouseup", () => { if (S.mode === "camera") S.cameras.up(); });
  S.cameras.wire(() => !!(S.me && EDIT_ROLES.has(S.me.role)));
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", (e) => { if (e.key === " " && S.brush) S.brush.setSpace(false); });
  window.addEventListener("hashchange", () => {
    const h = new URLSearchParams(location.hash.slice(1));
    const id = Number(h.get("plan"));
    if (S.me && id && (!S.plan || S.plan.id !== id)) openPlan(id).catch(sayError);
  });
}

function boot() {
  const q = new URLSearchParams(location.search);
  const saved = localStorage.getItem("beatgrid.lang");
  const browser = (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
  S.basemap = q.get("basemap") || localStorage.getItem("beatgrid.planner.basemap") || "";
  if (q.get("basemap")) localStorage.setItem("beatgrid.planner.basemap", q.get("basemap"));
  setRequestAuth((url) => api.authorise(url));
  S.map = createMap("map", { basemap: S.basemap });
  if (Number(new URLSearchParams(location.hash.slice(1)).get("plan"))) {
    // a page opened on a plan shows its map with the plan's units (showMap): the empty
    // frames before, read back from the renderer of a machine without a GPU, held up
    // the page's own work (the first render 0.15 s later, measured)
    S.map.getCanvas().style.visibility = "hidden";
  }
  S.mapReady = whenLoaded(S.map).then(() => { addBackground(S.map); addOverlays(S.map); });
  S.labels = new GridLabels(S.map);
  S.table = new TotalsTable(document.querySelector("#totals tbody"), {
    onSelect: (g) => selectGrid(g, { zoom: false }),
    onLock: (g) => canEdit() && S.editor.toggleLock(g),
  });
  S.cameras = new Cameras(api, S, { say, sayError });
  S.editor = new Editor(api, S, { view, adopt, recolour, renderAll, refreshControls, say, sayError,
    openPlan, loadPlans, selectGrid, updateLabels });
  api.onUnauthorized = () => { if (S.me && S.me.mode !== "local") showSignIn(); };
  wire();
  applyLanguage(q.get("lang") || saved || browser);
  window.planner = S.editor.testHooks();
  signIn().catch(sayError).finally(showMap);  // (shown also when no plan could be opened)
}

document.addEventListener("DOMContentLoaded", boot);
