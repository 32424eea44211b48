/* BeatGrid planner: the map (MapLibre GL JS, served by the service; no basemap needed).
 *
 * The community's units are drawn from the service's vector tiles of the plan's units
 * (GET /planner/plans/{id}/units/tiles/{z}/{x}/{y}: layer "units", promoteId "unit"),
 * cut once on the server: the map's worker only decodes them, instead of cutting
 * 10,000 polygons sent to it from the page. Their colours and marks are feature state,
 * set from the page's copy of the plan (``Units``, from GET /planner/plans/{id}/units),
 * so a stroke repaints only the units it touched:
 *   c     colour index of the unit's grid (-1: unassigned)
 *   pend  1 while the unit is in a stroke not yet answered
 *   bad   1 when the unit's grid breaks a rule (hatched)
 * A unit without state (its colour not set yet) is not drawn. The outlines of the
 * selected and locked grids are a small GeoJSON source of only those units.
 * The project's streets, buildings and the community boundary are the background;
 * a raster basemap (URL template) is optional.
 */

/* global maplibregl */

/** Okabe & Ito's colours (colour-blind safe), black left out; grey: no grid. */
export const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];
export const UNASSIGNED = "#d4d4d4";
/** Unit outlines closer than this (degrees, about 15 m) make their grids neighbours. */
const NEIGHBOUR_EPS = 0.00015;
/** Below this zoom the units are drawn without their white outlines: a community seen
 *  whole shows its grids' colours, not a mesh of 10,000 outlines (which cost the
 *  software renderer of a machine without a GPU a third of a second per frame). */
const UNIT_OUTLINE_ZOOM = 15;
/** Deepest zoom of the units' tiles (the service's ``[tiles] units_max_zoom``, from
 *  GET /planner/settings: ``setUnitsMaxZoom``); deeper zooms draw these, overzoomed. */
let unitsMaxZoom = 16;
/** Decorates the map's own requests (the units' tiles): the signed-in user's token. */
let authorise = (url) => ({ url });

export function setUnitsMaxZoom(z) { if (Number.isInteger(z)) unitsMaxZoom = z; }
export function setRequestAuth(fn) { authorise = fn; }

/** The feature state of unit ``i`` on ``map`` (its colour, hatch, pending stroke). */
export function setUnitState(map, i, state) {
  map.setFeatureState({ source: "units", sourceLayer: "units", id: i }, state);
}
/** Most grid labels drawn at once (the rest appear when zoomed in). */
export const MAX_LABELS = 250;

// -- the units ---------------------------------------------------------------------------
/** The units of a plan: typed arrays by unit number, from GET /plans/{id}/units (GeoJSON)
 *  or, smaller and faster, GET /planner/plans/{id}/units (``Units.fromCompact``). */
export class Units {
  constructor(fc, bbox) {
    const n = fc.features.length;
    this.n = n;
    this.fc = fc;
    this.hh = new Int32Array(n);
    this.bld = new Int32Array(n);
    this.kind = new Array(n);
    this.features = new Array(n);
    this.grid = new Array(n);
    this.bbox = bbox || new Float64Array(4 * n);
    this.cx = new Float64Array(n);
    this.cy = new Float64Array(n);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    fc.features.forEach((f) => {
      const p = f.properties;
      const i = p.unit;
      this.features[i] = f;
      this.hh[i] = p.households || 0;
      this.bld[i] = p.buildings || 0;
      this.kind[i] = p.kind;
      this.grid[i] = p.grid_id === undefined ? null : p.grid_id;
      if (!bbox) this.bbox.set(geomBounds(f.geometry), 4 * i);
      const b = this.bbox;
      this.cx[i] = (b[4 * i] + b[4 * i + 2]) / 2;
      this.cy[i] = (b[4 * i + 1] + b[4 * i + 3]) / 2;
      if (b[4 * i] < x0) x0 = b[4 * i]; if (b[4 * i + 1] < y0) y0 = b[4 * i + 1];
      if (b[4 * i + 2] > x1) x1 = b[4 * i + 2]; if (b[4 * i + 3] > y1) y1 = b[4 * i + 3];
    });
    this.bounds = [[x0, y0], [x1, y1]];
  }

  /** Units from the compact answer of GET /planner/plans/{id}/units: integer coordinates
   *  (1/scale degree) as differences from the point before, and the counts of points per
   *  ring, rings per polygon, polygons per unit. */
  static fromCompact(c) {
    const n = c.n, k = 1 / c.scale, d = c.coords;
    const bbox = new Float64Array(4 * n);
    const features = new Array(n);
    let x = c.origin[0], y = c.origin[1], p = 0, r = 0, q = 0;
    for (let i = 0; i < n; i++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      const polys = [];
      for (let a = 0; a < c.parts[i]; a++, q++) {
        const rings = [];
        for (let b = 0; b < c.polygons[q]; b++, r++) {
          const ring = new Array(c.rings[r]);
          for (let j = 0; j < ring.length; j++, p++) {
            x += d[2 * p]; y += d[2 * p + 1];
            const lng = x * k, lat = y * k;
            ring[j] = [lng, lat];
            if (lng < x0) x0 = lng; if (lng > x1) x1 = lng;
            if (lat < y0) y0 = lat; if (lat > y1) y1 = lat;
          }
          rings.push(ring);
        }
        polys.push(rings);
      }
      bbox[4 * i] = x0; bbox[4 * i + 1] = y0; bbox[4 * i + 2] = x1; bbox[4 * i + 3] = y1;
      features[i] = { type: "Feature", id: i,
        properties: { unit: i, grid_id: c.grid[i], households: c.households[i],
          buildings: c.buildings[i], kind: c.kind[i] },
        geometry: polys.length === 1 ? { type: "Polygon", coordinates: polys[0] }
          : { type: "MultiPolygon", coordinates: polys } };
    }
    const units = new Units({ type: "FeatureCollection", features }, bbox);
    units.planId = c.plan_id;
    return units;
  }

  /** Unit numbers of each grid: Map grid_id -> array (null key: unassigned). */
  members() {
    const out = new Map();
    for (let i = 0; i < this.n; i++) {
      const g = this.grid[i];
      if (!out.has(g)) out.set(g, []);
      out.get(g).push(i);
    }
    return out;
  }

  /** Unit numbers of some grids only: Map grid_id -> array. */
  membersOf(grids) {
    const want = new Set(grids);
    const out = new Map([...want].map((g) => [g, []]));
    for (let i = 0; i < this.n; i++) if (want.has(this.grid[i])) out.get(this.grid[i]).push(i);
    for (const [g, list] of out) if (!list.length) out.delete(g);
    return out;
  }

  /** Pairs of grids whose units lie within NEIGHBOUR_EPS of each other: Map id -> Set. */
  gridNeighbours() {
    const cell = Math.max(NEIGHBOUR_EPS * 4, this.typicalSize() * 2);
    const buckets = new Map();
    const key = (a, b) => a * 1e6 + b;
    const nb = new Map();
    const link = (a, b) => {
      if (a === null || b === null || a === b) return;
      if (!nb.has(a)) nb.set(a, new Set());
      if (!nb.has(b)) nb.set(b, new Set());
      nb.get(a).add(b); nb.get(b).add(a);
    };
    for (let i = 0; i < this.n; i++) {
      const b = this.bbox.subarray(4 * i, 4 * i + 4);
      const gx0 = Math.floor((b[0] - NEIGHBOUR_EPS) / cell), gx1 = Math.floor((b[2] + NEIGHBOUR_EPS) / cell);
      const gy0 = Math.floor((b[1] - NEIGHBOUR_EPS) / cell), gy1 = Math.floor((b[3] + NEIGHBOUR_EPS) / cell);
      for (let gx = gx0; gx <= gx1; gx++) {
        for (let gy = gy0; gy <= gy1; gy++) {
          const k = key(gx, gy);
          let list = buckets.get(k);
          if (!list) { list = []; buckets.set(k, list); }
          for (const j of list) {
            if (this.grid[j] !== this.grid[i] && this.near(i, j)) link(this.grid[i], this.grid[j]);
          }
          list.push(i);
        }
      }
    }
    return nb;
  }

  near(i, j) {
    const a = this.bbox, e = NEIGHBOUR_EPS;
    return a[4 * i] - e <= a[4 * j + 2] && a[4 * j] - e <= a[4 * i + 2] &&
      a[4 * i + 1] - e <= a[4 * j + 3] && a[4 * j + 1] - e <= a[4 * i + 3];
  }

  typicalSize() {
    if (!this.n) return NEIGHBOUR_EPS;
    const step = Math.max(1, Math.floor(this.n / 200));
    const sizes = [];
    for (let i = 0; i < this.n; i += step) {
      sizes.push(Math.max(this.bbox[4 * i + 2] - this.bbox[4 * i], this.bbox[4 * i + 3] - this.bbox[4 * i + 1]));
    }
    sizes.sort((a, b) => a - b);
    return sizes[Math.floor(sizes.length / 2)] || NEIGHBOUR_EPS;
  }

  /** The households-weighted centre of some units (their box centres). */
  centre(list) {
    let sx = 0, sy = 0, sw = 0;
    for (const i of list) {
      const w = this.hh[i] + 1;
      sx += this.cx[i] * w; sy += this.cy[i] * w; sw += w;
    }
    return sw ? [sx / sw, sy / sw] : null;
  }
}

export function geomBounds(g) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      if (c[0] < x0) x0 = c[0]; if (c[0] > x1) x1 = c[0];
      if (c[1] < y0) y0 = c[1]; if (c[1] > y1) y1 = c[1];
    } else for (const x of c) walk(x);
  };
  walk(g.coordinates);
  return [x0, y0, x1, y1];
}

/**
 * Colours for grids so that neighbours differ (greedy, most-constrained first). Grids in
 * ``keep`` keep their colour; the others get the colour least used around them.
 */
/** Pairs of palette colours that look alike (orange and vermillion, sky blue and blue). */
const ALIKE = { 0: [5, 3], 5: [0], 1: [4], 4: [1], 3: [0] };

export function colourGrids(gridIds, neighbours, keep) {
  const colour = new Map();
  for (const g of gridIds) if (keep && keep.has(g)) colour.set(g, keep.get(g));
  const todo = gridIds.filter((g) => !colour.has(g));
  todo.sort((a, b) => ((neighbours.get(b) || new Set()).size - (neighbours.get(a) || new Set()).size) ||
    String(a).localeCompare(String(b)));
  const used = new Array(PALETTE.length).fill(0);
  for (const g of todo) {
    const around = new Array(PALETTE.length).fill(0);
    for (const o of neighbours.get(g) || []) {
      if (!colour.has(o)) continue;
      const c = colour.get(o);
      around[c] += 1;
      for (const a of ALIKE[c] || []) around[a] += 0.4;
    }
    let best = 0;
    for (let c = 1; c < PALETTE.length; c++) {
      if (around[c] < around[best] || (around[c] === around[best] && used[c] < used[best])) best = c;
    }
    colour.set(g, best);
    used[best] += 1;
  }
  return colour;
}

// -- hatch patterns drawn here (no image file is fetched) ---------------------------------
function hatch(size, colour, width) {
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const ctx = c.getContext("2d");
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.beginPath();
  for (let k = -size; k <= size; k += size / 2) { ctx.moveTo(k, size); ctx.lineTo(k + size, 0); }
  ctx.stroke();
  return ctx.getImageData(0, 0, size, size);
}

// -- the map -------------------------------------------------------------------------------
/** ``#rrggbb`` with alpha ``a``, as ``rgba()``. */
const rgba = (hex, a) => `rgba(${[1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)).join(",")},${a})`;
/** The colour of grid colour index ``key`` (-1 or null: no grid), of alpha ``a``. */
const colourExpr = (key, a) => ["match", ["coalesce", key, -1],
  ...PALETTE.flatMap((c, k) => [k, rgba(c, a)]), rgba(UNASSIGNED, a)];
const on = (name) => ["==", ["coalesce", ["feature-state", name], 0], 1];
/** Alpha of a unit in a stroke not yet answered (the others: ``unitLayers``' opacity). */
const PENDING_ALPHA = 0.95;

export function unitLayers(prefix, source, { opacity = 0.72 } = {}) {
  // two layers over every unit: the fill (white outlines from UNIT_OUTLINE_ZOOM), and
  // the hatch where the state ``bad`` is 1 (added after the fill is on screen:
  // addUnitHatch); a unit whose colour is not set yet is transparent. The fill's
  // translucency is in its colour, so that its ``fill-opacity`` is a constant: 0 while
  // the units' tiles load before their colours are known (``prepareUnits``: MapLibre
  // then skips the layer), 1 once they are (``showUnits``), without laying the tiles
  // out again.
  const common = { source, "source-layer": "units" };
  const c = ["feature-state", "c"];
  return [
    { id: prefix + "fill", type: "fill", ...common, paint: {
      "fill-color": ["case", ["==", c, null], "rgba(0,0,0,0)", on("pend"),
        colourExpr(c, PENDING_ALPHA), colourExpr(c, opacity)],
      "fill-outline-color": rgba("#ffffff", opacity),
      "fill-antialias": ["step", ["zoom"], false, UNIT_OUTLINE_ZOOM, true],
      "fill-opacity": 1 } },
    { id: prefix + "hatch", type: "fill", ...common, paint: {
      // (no outlines: drawn with the pattern round 10,000 units they cost SwiftShader
      // 0.2 s a frame over a whole community, a third of the frame)
      "fill-pattern": "bg-hatch", "fill-antialias": false, "fill-opacity": ["case", on("bad"), 1, 0] } },
  ];
}

/** The outlines of the grid painted into (black) and of the locked grids (grey,
 *  dashed): a source holding only those units. */
export function addOverlays(map) {
  map.addSource("marks", { type: "geojson", data: empty() });
  const before = map.getLayer("streets") ? "streets" : undefined;
  map.addLayer({ id: "lock-line", type: "line", source: "marks", filter: ["==", ["get", "kind"], "lock"],
    paint: { "line-color": "#3a3a3a", "line-width": 1.6, "line-dasharray": [2, 1.5] } }, before);
  map.addLayer({ id: "sel-line", type: "line", source: "marks", filter: ["==", ["get", "kind"], "sel"],
    paint: { "line-color": "#000000", "line-width": 2 } }, before);
}

/** A collection of the units ``list`` (their polygons) with ``properties``. */
export function unitCollection(units, list, properties) {
  return { type: "FeatureCollection", features: list.map((i) => ({ type: "Feature",
    geometry: units.features[i].geometry, properties: properties(i) })) };
}

/** A map with the background layers only (white, boundary, streets, buildings). */
export function createMap(container, { bounds, basemap, interactive = true } = {}) {
  const sources = {
    boundary: { type: "geojson", data: empty() },
    streets: { type: "geojson", data: empty() },
    buildings: { type: "geojson", data: empty() },
  };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#fbfbf8" } }];
  if (basemap) {
    sources.basemap = { type: "raster", tiles: [basemap], tileSize: 256 };
    layers.push({ id: "basemap", type: "raster", source: "basemap", paint: { "raster-opacity": 0.6 } });
  }
  const map = new maplibregl.Map({
    container, style: { version: 8, sources, layers }, bounds: bounds || [[121.5, 29.85], [121.6, 29.95]],
    fitBoundsOptions: { padding: 20 }, attributionControl: false, dragRotate: false,
    pitchWithRotate: false, touchPitch: false, maxZoom: 20, interactive, boxZoom: false,
    doubleClickZoom: false, fadeDuration: 0,
    transformRequest: (url) => authorise(url),
  });
  if (interactive) {
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  }
  map.on("error", (e) => console.error("map error:", e && e.error ? e.error.message : e));
  // ready once the style is: layers and sources may be added (the first frame and the
  // empty background sources come later, and need not be waited for)
  READY.set(map, new Promise((resolve) => map.once("style.load", () => {
    map.addImage("bg-hatch", hatch(10, "rgba(0,0,0,0.75)", 1.6));
    resolve();
  })));
  return map;
}

export function empty() { return { type: "FeatureCollection", features: [] }; }

const READY = new WeakMap();

/** Resolves once the map's style has loaded (at once afterwards): sources and layers
 *  may be added. */
export function whenLoaded(map) { return READY.get(map); }

/** Put the background layers (boundary, streets, buildings) above the units' fill. */
export function addBackground(map) {
  map.addLayer({ id: "streets", type: "line", source: "streets",
    paint: { "line-color": "#8c8c8c", "line-width": ["interpolate", ["linear"], ["zoom"], 13, 0.5, 17, 2.5] } });
  map.addLayer({ id: "buildings-hit", type: "fill", source: "buildings", paint: { "fill-opacity": 0 } });
  map.addLayer({ id: "buildings", type: "line", source: "buildings",
    paint: { "line-color": "#3a3a3a", "line-width": 0.5, "line-opacity": 0.55 } });
  map.addLayer({ id: "boundary", type: "line", source: "boundary",
    paint: { "line-color": "#111111", "line-width": 2.6, "line-dasharray": [4, 2] } });
}

/** The URL template of the vector tiles of plan ``planId``'s units (absolute: MapLibre's
 *  worker fetches them). */
export function unitTiles(planId) {
  return new URL(`/planner/plans/${planId}/units/tiles/{z}/{x}/{y}`, location.href).href
    .replace(/%7B/g, "{").replace(/%7D/g, "}");
}

/**
 * The tiles of plan ``planId``'s units asked for now, drawn only once ``showUnits`` has
 * coloured them: a page opened on a plan (its number in the address) loads them while
 * the plan itself is read (the fill is there, with ``fill-opacity`` 0).
 */
export function prepareUnits(map, planId, prefix = "units-") {
  const url = unitTiles(planId);
  const src = map.getSource("units");
  if (src && src.tiles && src.tiles[0] === url) return;
  hideUnits(map, prefix);
  map.addSource("units", { type: "vector", tiles: [url], maxzoom: unitsMaxZoom, promoteId: "unit" });
  // the fill now; the hatch once the fill is on screen (addUnitHatch): drawing both
  // at once made the first render of 10,000 units half a second later
  const fill = unitLayers(prefix, "units")[0];
  map.addLayer({ ...fill, paint: { ...fill.paint, "fill-opacity": 0 } }, unitsBefore(map));
}

/** Units of a plan on a map (replacing the ones shown): the tiles of plan
 *  ``units.planId``, each unit coloured ``colourOf(grid)`` and hatched where
 *  ``badOf(grid)`` (feature state). */
export function showUnits(map, units, colourOf, { badOf = null, prefix = "units-" } = {}) {
  const src = map.getSource("units");
  if (src && src.tiles && src.tiles[0] === unitTiles(units.planId)) {
    map.removeFeatureState({ source: "units", sourceLayer: "units" });
  } else {
    prepareUnits(map, units.planId, prefix);
  }
  for (let i = 0; i < units.n; i++) {
    const g = units.grid[i];
    setUnitState(map, i, { c: g === null ? -1 : colourOf(g), bad: g !== null && badOf && badOf(g) ? 1 : 0 });
  }
  if (map.getPaintProperty(prefix + "fill", "fill-opacity") !== 1) {
    map.setPaintProperty(prefix + "fill", "fill-opacity", 1);
  }
}

/** No units on the map (the plan closed). */
export function hideUnits(map, prefix = "units-") {
  for (const layer of unitLayers(prefix, "units")) if (map.getLayer(layer.id)) map.removeLayer(layer.id);
  if (map.getSource("units")) map.removeSource("units");
}

/** The hatch over the units of grids breaking a rule (once, after the first render). */
export function addUnitHatch(map, prefix = "units-") {
  if (!map.getSource("units") || map.getLayer(prefix + "hatch")) return;
  map.addLayer(unitLayers(prefix, "units")[1], unitsBefore(map));
}

function unitsBefore(map) { return ["lock-line", "streets"].find((id) => map.getLayer(id)); }

/** Screen-space hits: the units under a circle of ``r`` px around ``(x, y)``. */
export function unitsUnder(map, units, x, y, r, layer = "units-fill") {
  const hits = map.queryRenderedFeatures([[x - r, y - r], [x + r, y + r]], { layers: [layer] });
  const out = new Set();
  const r2 = r * r;
  for (const f of hits) {
    const i = f.id !== undefined ? f.id : f.properties.unit;
    if (out.has(i)) continue;
    // keep the unit when its box (on screen) meets the circle
    const b = units.bbox.subarray(4 * i, 4 * i + 4);
    const p0 = map.project([b[0], b[3]]), p1 = map.project([b[2], b[1]]);
    const nx = Math.max(p0.x, Math.min(x, p1.x)), ny = Math.max(p0.y, Math.min(y, p1.y));
    if ((nx - x) * (nx - x) + (ny - y) * (ny - y) <= r2) out.add(i);
  }
  return out;
}

/** Grid labels (code and households) as HTML markers, only the grids in view. */
export class GridLabels {
  constructor(map) {
    this.map = map;
    this.markers = new Map();
    this.data = new Map();
    this.visible = true;
    map.on("moveend", () => this.refresh());
  }

  /** ``items``: Map grid -> {at: [lng, lat], title, text, cls} */
  set(items) { this.data = items; this.refresh(); }

  update(gridId, item) {
    if (item) this.data.set(gridId, item); else this.data.delete(gridId);
    const m = this.markers.get(gridId);
    if (m && item) { this.fill(m.getElement(), item); m.setLngLat(item.at); return; }
    if (m) { m.remove(); this.markers.delete(gridId); return; }
    if (item && this.visible && !this.crowded && this.markers.size < MAX_LABELS &&
        this.map.getBounds().contains(item.at)) {
      const el = document.createElement("div");
      this.fill(el, item);
      this.markers.set(gridId, new maplibregl.Marker({ element: el }).setLngLat(item.at).addTo(this.map));
    }
  }

  fill(el, item) {
    el.className = "grid-label" + (item.cls ? " " + item.cls : "");
    el.dataset.grid = item.grid;
    el.title = item.title;
    el.innerHTML = "";
    const a = document.createElement("b"); a.textContent = item.name;
    const b = document.createElement("span"); b.textContent = item.text;
    el.append(a, document.createElement("br"), b);
  }

  refresh() {
    const bounds = this.map.getBounds();
    const inView = [];
    for (const [g, item] of this.data) if (item.at && bounds.contains(item.at)) inView.push(g);
    const show = this.visible && inView.length <= MAX_LABELS ? new Set(inView) : new Set();
    for (const [g, m] of this.markers) if (!show.has(g)) { m.remove(); this.markers.delete(g); }
    for (const g of show) {
      const item = this.data.get(g);
      let m = this.markers.get(g);
      if (!m) {
        const el = document.createElement("div");
        m = new maplibregl.Marker({ element: el }).setLngLat(item.at).addTo(this.map);
        this.markers.set(g, m);
      }
      this.fill(m.getElement(), item);
      m.setLngLat(item.at);
    }
    this.crowded = inView.length > MAX_LABELS;
  }

  clear() { this.data = new Map(); this.refresh(); }
}
