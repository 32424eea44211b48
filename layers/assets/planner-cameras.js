/* BeatGrid planner: the cameras of the community (mode "Cameras", key C).
 *
 * Cameras come from /layers/cameras; each is drawn with its field of view (a wedge of
 * its direction, angle and range, computed here, so it follows every slider and drag
 * at once). A camera is added, moved (drag it), turned, its angle and range changed,
 * then saved through OGC API - Features Part 4 (/collections/cameras/items: POST, or
 * PATCH with If-Match) or deleted. After a save the service recomputes the coverage and
 * the page shows the estate's seen share (before -> after). "Propose" asks
 * POST /cameras/recommend for the estate and lists the proposals to accept (saved as
 * cameras) or reject.
 */

import { t, fmt } from "./planner-i18n.js";
import { geomBounds, empty } from "./planner-map.js";
import { esc } from "./planner-view.js";

const $ = (id) => document.getElementById(id);
const M_PER_DEG = 111320;
/** Defaults of a new camera and of what a record leaves out. */
const NEW_CAMERA = { direction: 0, fov_deg: 90, range_m: 30, height_m: 4, tilt_deg: 15 };

/** The field of view as a polygon (a full disc for a dome: no direction). */
export function wedge(lng, lat, props) {
  const range = Number(props.range_m) || NEW_CAMERA.range_m;
  const dome = props.direction === null || props.direction === undefined || Number.isNaN(Number(props.direction));
  const fov = dome ? 360 : Math.min(360, Number(props.fov_deg) || NEW_CAMERA.fov_deg);
  const dir = dome ? 0 : Number(props.direction);
  const kx = 1 / (M_PER_DEG * Math.cos((lat * Math.PI) / 180)), ky = 1 / M_PER_DEG;
  const ring = fov >= 360 ? [] : [[lng, lat]];
  const steps = Math.max(8, Math.round(fov / 6));
  for (let k = 0; k <= steps; k++) {
    const a = ((dir - fov / 2 + (fov * k) / steps) * Math.PI) / 180;  // compass: clockwise from north
    ring.push([lng + Math.sin(a) * range * kx, lat + Math.cos(a) * range * ky]);
  }
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}

function pointIn(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export class Cameras {
  constructor(api, S, { say, sayError }) {
    this.api = api;
    this.S = S;
    this.say = say;
    this.sayError = sayError;
    this.cams = new Map();      // id -> {lng, lat, props, etag, dirty, isNew}
    this.proposals = [];
    this.selected = null;
    this.adding = false;
    this.drag = null;
    this.estates = empty();
    this.seen = new Map();      // estate id -> seen share (0..1)
    this.loaded = "";
  }

  // -- drawing -------------------------------------------------------------------------------
  ensureLayers() {
    const map = this.S.map;
    if (map.getSource("cams")) return;
    map.addSource("cams", { type: "geojson", data: empty() });
    map.addSource("cam-fov", { type: "geojson", data: empty() });
    map.addSource("props", { type: "geojson", data: empty() });
    map.addSource("estates", { type: "geojson", data: empty() });
    map.addLayer({ id: "estate-line", type: "line", source: "estates",
      paint: { "line-color": "#009E73", "line-width": 1.6, "line-dasharray": [3, 2] } });
    map.addLayer({ id: "cam-fov", type: "fill", source: "cam-fov",
      paint: { "fill-color": ["case", ["get", "sel"], "#0072B2", "#56B4E9"], "fill-opacity": 0.3 } });
    map.addLayer({ id: "cam-fov-line", type: "line", source: "cam-fov",
      paint: { "line-color": "#0072B2", "line-width": ["case", ["get", "sel"], 2, 0.8] } });
    map.addLayer({ id: "prop-fov", type: "line", source: "props",
      paint: { "line-color": "#D55E00", "line-width": 2, "line-dasharray": [2, 1] } });
    map.addLayer({ id: "cam-pt", type: "circle", source: "cams",
      paint: { "circle-radius": ["case", ["get", "sel"], 7, 5], "circle-color": ["case", ["get", "dirty"], "#D55E00", "#0072B2"],
        "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
    this.setVisible(false);
  }

  setVisible(on) {
    for (const id of ["estate-line", "cam-fov", "cam-fov-line", "prop-fov", "cam-pt"]) {
      if (this.S.map.getLayer(id)) this.S.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    }
    $("camera-panel").hidden = !on;
  }

  redraw() {
    const pts = [], fovs = [];
    for (const [id, c] of this.cams) {
      const sel = id === this.selected;
      pts.push({ type: "Feature", geometry: { type: "Point", coordinates: [c.lng, c.lat] }, properties: { id, sel, dirty: !!c.dirty } });
      fovs.push({ type: "Feature", geometry: wedge(c.lng, c.lat, c.props), properties: { id, sel } });
    }
    const props = this.proposals.map((p) => ({ type: "Feature", properties: { id: p.properties.id },
      geometry: wedge(p.geometry.coordinates[0], p.geometry.coordinates[1], p.properties) }));
    this.S.map.getSource("cams").setData({ type: "FeatureCollection", features: pts });
    this.S.map.getSource("cam-fov").setData({ type: "FeatureCollection", features: fovs });
    this.S.map.getSource("props").setData({ type: "FeatureCollection", features: props });
    this.renderPanel();
  }

  // -- loading -------------------------------------------------------------------------------
  async load(community) {
    this.ensureLayers();
    if (this.loaded === community.properties.id) return;
    const b = geomBounds(community.geometry).map((v) => v.toFixed(6)).join(",");
    const [cams, estates] = await Promise.all([
      this.api.get("/layers/cameras?bbox=" + b), this.api.get("/layers/estates?bbox=" + b)]);
    this.cams.clear();
    for (const f of cams.features) {
      const [lng, lat] = f.geometry.coordinates;
      this.cams.set(f.properties.id, { lng, lat, props: { ...f.properties } });
    }
    this.estates = estates;
    this.S.map.getSource("estates").setData(estates);
    this.loaded = community.properties.id;
    this.proposals = [];
    this.selected = null;
    this.redraw();
    this.refreshSeen().catch(this.sayError);
  }

  async refreshSeen() {
    const rows = await this.api.get("/coverage/stats?zone_type=estate");
    const before = new Map(this.seen);
    this.seen = new Map(rows.map((r) => [r.zone_id, r.seen_share_all]));
    this.seenBefore = before;
    this.renderPanel();
  }

  estateAt(lng, lat) {
    for (const f of this.estates.features) {
      const g = f.geometry;
      const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      if (polys.some((p) => pointIn(lng, lat, p[0]))) return f.properties.id;
    }
    return null;
  }

  // -- editing -------------------------------------------------------------------------------
  camAt(point) {
    const hits = this.S.map.queryRenderedFeatures([[point.x - 6, point.y - 6], [point.x + 6, point.y + 6]], { layers: ["cam-pt"] });
    return hits.length ? hits[0].properties.id : null;
  }

  async select(id) {
    this.selected = id;
    const c = this.cams.get(id);
    if (c && !c.isNew && !c.etag) {
      try {
        const r = await this.api.request("GET", "/collections/cameras/items/" + encodeURIComponent(id));
        c.etag = r.etag;
      } catch (err) { this.sayError(err); }
    }
    this.redraw();
  }

  /** An id no camera has: the time of the click in base 36 (the service refuses a
   *  taken one with 409, and the page says so). */
  newId() {
    let id = "CAM-P" + Date.now().toString(36).toUpperCase();
    while (this.cams.has(id)) id += "X";
    return id;
  }

  add(lng, lat, pose) {
    const id = this.newId();
    const props = { id, kind: "estate_internal", source: "planner", ...NEW_CAMERA, ...(pose || {}) };
    props.estate_id = this.estateAt(lng, lat);
    this.cams.set(id, { lng, lat, props, dirty: true, isNew: true });
    this.adding = false;
    this.select(id);
    return id;
  }

  change(key, value) {
    const c = this.cams.get(this.selected);
    if (!c) return;
    c.props[key] = value;
    c.dirty = true;
    this.redraw();
  }

  feature(c) {
    const keep = ["id", "kind", "direction", "fov_deg", "range_m", "height_m", "tilt_deg", "estate_id", "source"];
    const properties = {};
    for (const k of keep) if (c.props[k] !== undefined && c.props[k] !== null && !Number.isNaN(c.props[k])) properties[k] = c.props[k];
    return { type: "Feature", id: c.props.id, geometry: { type: "Point", coordinates: [c.lng, c.lat] }, properties };
  }

  async save() {
    const c = this.cams.get(this.selected);
    if (!c) return;
    try {
      const body = this.feature(c);
      let r;
      if (c.isNew) r = await this.api.request("POST", "/collections/cameras/items", { body });
      else {
        const patch = { geometry: body.geometry, properties: { direction: c.props.direction, fov_deg: c.props.fov_deg,
          range_m: c.props.range_m, estate_id: this.estateAt(c.lng, c.lat) } };
        r = await this.api.request("PATCH", "/collections/cameras/items/" + encodeURIComponent(c.props.id),
          { body: patch, ifMatch: c.etag });
      }
      c.etag = r.etag; c.dirty = false; c.isNew = false;
      this.redraw();
      this.say(t("camera_saved", { id: c.props.id }));
      await this.refreshSeen();
    } catch (err) { this.sayError(err); }
  }

  async remove() {
    const c = this.cams.get(this.selected);
    if (!c || !window.confirm(t("confirm_camera_delete", { id: c.props.id }))) return;
    try {
      if (!c.isNew) await this.api.request("DELETE", "/collections/cameras/items/" + encodeURIComponent(c.props.id), { ifMatch: c.etag });
      this.cams.delete(c.props.id);
      this.selected = null;
      this.redraw();
      await this.refreshSeen();
    } catch (err) { this.sayError(err); }
  }

  async propose() {
    const c = this.cams.get(this.selected);
    const centre = this.S.map.getCenter();
    const estate = c ? this.estateAt(c.lng, c.lat) : this.estateAt(centre.lng, centre.lat);
    if (!estate) { this.say(t("propose_pick"), "warn"); return; }
    try {
      this.say(t("loading"));
      const r = await this.api.request("POST", "/cameras/recommend", { body: { budget: 3, estate } });
      this.proposals = r.body.proposals.features;
      this.effects = r.body.effects.find((e) => e.zone_type === "estate" && e.zone_id === estate) || null;
      this.redraw();
      this.say(t("proposed", { n: this.proposals.length, estate }));
    } catch (err) { this.sayError(err); }
  }

  async accept(k) {
    const p = this.proposals[k];
    const [lng, lat] = p.geometry.coordinates;
    const pose = { direction: p.properties.direction, fov_deg: p.properties.fov_deg, range_m: p.properties.range_m,
      height_m: p.properties.height_m, tilt_deg: p.properties.tilt_deg, source: "proposal" };
    this.proposals.splice(k, 1);
    this.add(lng, lat, pose);
    await this.save();
  }

  reject(k) { this.proposals.splice(k, 1); this.redraw(); }

  // -- the map's pointer in camera mode ---------------------------------------------------------
  down(e, point) {
    if (this.adding) {
      const ll = this.S.map.unproject([point.x, point.y]);
      this.add(ll.lng, ll.lat);
      return true;
    }
    const id = this.camAt(point);
    if (!id) return false;
    this.select(id);
    this.drag = { id };
    this.S.map.dragPan.disable();
    return true;
  }

  move(point) {
    if (!this.drag) return;
    const c = this.cams.get(this.drag.id);
    const ll = this.S.map.unproject([point.x, point.y]);
    c.lng = ll.lng; c.lat = ll.lat; c.dirty = true;
    this.redraw();
  }

  up() {
    if (!this.drag) return;
    this.drag = null;
    this.S.map.dragPan.enable();
  }

  // -- the panel -------------------------------------------------------------------------------
  renderPanel() {
    const c = this.cams.get(this.selected);
    const box = $("camera-edit");
    box.hidden = !c;
    if (c) {
      $("camera-id").textContent = c.props.id + (c.dirty ? " *" : "");
      const dome = c.props.direction === null || c.props.direction === undefined || Number.isNaN(Number(c.props.direction));
      $("cam-direction").value = dome ? 0 : Math.round(Number(c.props.direction));
      $("cam-fov").value = Math.round(Number(c.props.fov_deg) || 90);
      $("cam-range").value = Math.round(Number(c.props.range_m) || 30);
      $("cam-direction-v").textContent = dome ? t("dome") : `${$("cam-direction").value}°`;
      $("cam-fov-v").textContent = `${$("cam-fov").value}°`;
      $("cam-range-v").textContent = `${$("cam-range").value} m`;
      const estate = this.estateAt(c.lng, c.lat);
      const now = estate ? this.seen.get(estate) : undefined;
      const was = estate && this.seenBefore ? this.seenBefore.get(estate) : undefined;
      const pct = (x, d = 1) => (x === undefined || x === null ? "–" : (x * 100).toFixed(d) + "%");
      const fine = was !== undefined && pct(was) === pct(now) ? 2 : 1;  // show a small change
      $("camera-estate").textContent = estate
        ? t("estate_seen", { estate, share: pct(now) }) +
          (was !== undefined && was !== now ? ` (${pct(was, fine)} → ${pct(now, fine)})` : "")
        : t("outside_estates");
    }
    $("camera-add").setAttribute("aria-pressed", String(this.adding));
    $("proposals").innerHTML = this.proposals.map((p, k) =>
      `<li>${esc(p.properties.id)} · ${Math.round(p.properties.direction)}° · ${Math.round(p.properties.range_m)} m ` +
      `<button type="button" class="cam-edit" data-accept="${k}">${t("accept")}</button> ` +
      `<button type="button" class="cam-edit" data-reject="${k}">${t("reject")}</button></li>`).join("") +
      (this.effects && this.proposals.length ? `<li class="note">${t("proposal_effect", {
        before: fmt(Math.round(this.effects.seen_share_all_before * 1000) / 10),
        after: fmt(Math.round(this.effects.seen_share_all_after * 1000) / 10) })}</li>` : "");
    window.plannerState.cameras = { count: this.cams.size, selected: this.selected, proposals: this.proposals.length,
      dirty: c ? !!c.dirty : false };
  }

  wire(canEdit) {
    $("camera-add").addEventListener("click", () => { if (canEdit()) { this.adding = !this.adding; this.renderPanel(); } });
    for (const [id, key] of [["cam-direction", "direction"], ["cam-fov", "fov_deg"], ["cam-range", "range_m"]]) {
      $(id).addEventListener("input", (e) => this.change(key, Number(e.target.value)));
    }
    $("camera-save").addEventListener("click", () => this.save());
    $("camera-delete").addEventListener("click", () => this.remove());
    $("camera-propose").addEventListener("click", () => this.propose());
    $("proposals").addEventListener("click", (e) => {
      const a = e.target.closest("[data-accept]"), r = e.target.closest("[data-reject]");
      if (a) this.accept(Number(a.dataset.accept));
      if (r) this.reject(Number(r.dataset.reject));
    });
  }
}
