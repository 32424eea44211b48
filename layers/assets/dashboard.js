/* BeatGrid leadership dashboard.
 *
 * Asks the service for /dashboard/data (figures, tables, charts, findings and labels
 * for a station and a language) and /dashboard/layers (GeoJSON of the maps, once), and
 * draws two MapLibre GL maps without a basemap: the project's buildings, streets and
 * boundaries are the background. Nothing is fetched from outside the service.
 * window.dashboardState tells tests what is drawn ("ready" once the data and both maps
 * are on screen).
 */
(function () {
  "use strict";

  const state = { station: "", lang: "en", data: null, layers: null, maps: {}, markers: [] };
  window.dashboardState = { ready: false, maps: 0, lang: "", station: "" };

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s === null || s === undefined ? "" : s)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
  const L = (key) => (state.data && state.data.labels[key]) || key;

  function initialState() {
    const q = new URLSearchParams(window.location.search);
    const saved = window.localStorage ? localStorage.getItem("beatgrid.lang") : null;
    const browser = (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
    state.lang = q.get("lang") || saved || browser;
    if (state.lang !== "en" && state.lang !== "zh") state.lang = "en";
    state.station = q.get("station") || "";
  }

  function setStatus(text, isError) {
    const el = $("status");
    el.textContent = text;
    el.className = "status" + (isError ? " error" : "");
    el.hidden = !text;
  }

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.error || r.statusText) + (body.fix ? " — " + body.fix : ""));
    return body;
  }

  function query() {
    const q = new URLSearchParams();
    if (state.station) q.set("station", state.station);
    q.set("lang", state.lang);
    return q.toString();
  }

  // -- page text -------------------------------------------------------------------------
  function renderStatic() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      el.textContent = L(el.dataset.i18n);
    });
    document.title = "BeatGrid · " + L("title");
    document.querySelectorAll("button.lang").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
    });
    const sel = $("station");
    sel.innerHTML = `<option value="">${esc(L("all_stations"))}</option>` +
      state.data.stations.map((s) => `<option value="${esc(s.id)}">${esc(s.id)} ${esc(s.name)}</option>`).join("");
    sel.value = state.station;
    $("report-html").href = "/dashboard/report.html?" + query();
    $("report-pdf").href = "/dashboard/report.pdf?" + query();
    $("map-beats").setAttribute("aria-label", L("map_beats"));
    $("map-estates").setAttribute("aria-label", L("map_estates"));
  }

  function renderCards() {
    $("cards").innerHTML = state.data.cards.map((c) =>
      `<div class="card" data-key="${esc(c.key)}"><div class="value">${esc(c.value)}</div>` +
      `<div class="text">${esc(c.text)}</div><div class="sub">${esc(c.sub)}</div></div>`).join("");
  }

  function sevBadge(sev, text) {
    const colour = state.data.palette[sev] || state.data.palette.ok;
    const dark = sev === "high" || sev === "critical";
    return `<span class="sev" style="background:${colour};color:${dark ? "#fff" : "#000"}">${esc(text)}</span>`;
  }

  function renderTables() {
    const d = state.data;
    const roles = ["officers", "auxiliaries", "floating_managers"];
    let head = `<thead><tr><th class="num">${esc(L("rank"))}</th><th>${esc(L("beat"))}</th>` +
      `<th>${esc(L("severity"))}</th><th>${esc(L("rules_failed"))}</th>` +
      roles.map((r) => `<th class="num">${esc(d.labels.roles[r])}<br>${esc(L("actual_of_required"))}</th>`).join("") +
      `<th>${esc(L("to_add"))}</th></tr></thead>`;
    let rows = d.beats.map((b) => `<tr data-beat="${esc(b.beat_id)}"><td class="num">${esc(b.rank)}</td>` +
      `<td>${esc(b.beat_id)} ${esc(b.name)}</td><td>${sevBadge(b.severity, b.severity_text)}</td>` +
      `<td>${esc(b.rules_text.join("; "))}</td>` +
      roles.map((r) => `<td class="num">${esc(b[r + "_actual"])}/${esc(b[r + "_required"])}</td>`).join("") +
      `<td>${esc(b.to_add)}</td></tr>`).join("");
    $("beats").innerHTML = head + "<tbody>" + rows + "</tbody>";

    head = `<thead><tr><th class="num">${esc(L("rank"))}</th><th>${esc(L("estate"))}</th>` +
      `<th class="num">${esc(L("risk"))}</th><th class="num">${esc(L("seen_share"))}</th>` +
      `<th class="num">${esc(L("cameras_inside"))}</th><th class="num">${esc(L("households"))}</th>` +
      `<th>${esc(L("best_cameras"))}</th></tr></thead>`;
    rows = d.estates.map((e) => `<tr data-estate="${esc(e.estate_id)}"><td class="num">${esc(e.rank)}</td>` +
      `<td>${esc(e.estate_id)} ${esc(e.name)}</td><td class="num">${e.risk_score.toFixed(1)}</td>` +
      `<td class="num">${esc(e.seen_text)}</td><td class="num">${esc(e.cameras_inside)}</td>` +
      `<td class="num">${esc(e.households.toLocaleString())}</td>` +
      `<td>${e.proposed_cameras ? esc(L("proposal_cell").replace("{n}", e.proposed_cameras)
        .replace("{before}", e.seen_text).replace("{after}", e.after_text)) : "–"}</td></tr>`).join("");
    $("estates").innerHTML = head + "<tbody>" + rows + "</tbody>";
    document.querySelectorAll("#beats tbody tr").forEach((tr) =>
      tr.addEventListener("click", () => zoomTo("beats", "beat_id", tr.dataset.beat, tr)));
    document.querySelectorAll("#estates tbody tr").forEach((tr) =>
      tr.addEventListener("click", () => zoomTo("estates", "estate_id", tr.dataset.estate, tr)));
  }

  function renderText() {
    const d = state.data;
    // the charts are SVG drawn by the service (matplotlib), the same as in the report
    $("chart-roles").innerHTML = d.charts.roles;
    $("chart-seen").innerHTML = d.charts.seen;
    $("findings").innerHTML = d.findings.map((f) => `<div class="finding" data-subject="${esc(f.subject)}">` +
      `<h3>${esc(f.title)}</h3><p>${esc(f.text).replace(/`([^`]+)`/g, "<code>$1</code>")}</p></div>`).join("");
    $("notes").innerHTML = d.notes.map((n) => `<li>${esc(n)}</li>`).join("");
    $("meta").textContent = L("generated").replace("{project}", d.project).replace("{when}", d.computed_at);
  }

  // -- maps ------------------------------------------------------------------------------
  function bounds(fc, station) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const walk = (c) => {
      if (typeof c[0] === "number") {
        x0 = Math.min(x0, c[0]); y0 = Math.min(y0, c[1]); x1 = Math.max(x1, c[0]); y1 = Math.max(y1, c[1]);
      } else c.forEach(walk);
    };
    fc.features.forEach((f) => {
      if (!station || f.properties.station_id === station) walk(f.geometry.coordinates);
    });
    return isFinite(x0) ? [[x0, y0], [x1, y1]] : null;
  }

  function centre(feature) {
    const b = bounds({ features: [feature] }, "");
    return [(b[0][0] + b[1][0]) / 2, (b[0][1] + b[1][1]) / 2];
  }

  function baseStyle() {
    const p = state.data.palette, g = state.layers;
    return {
      version: 8,
      sources: {
        buildings: { type: "geojson", data: g.buildings },
        streets: { type: "geojson", data: g.streets },
        stations: { type: "geojson", data: g.stations },
      },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#ffffff" } },
        { id: "buildings", type: "fill", source: "buildings", paint: { "fill-color": p.building } },
        { id: "streets", type: "line", source: "streets", paint: { "line-color": p.street, "line-width": 1 } },
      ],
    };
  }

  function stationLine() {
    return { id: "stations", type: "line", source: "stations",
      paint: { "line-color": state.data.palette.boundary, "line-width": 2.2 } };
  }

  function beatsStyle() {
    const p = state.data.palette, s = baseStyle();
    s.sources.beats = { type: "geojson", data: state.layers.beats };
    s.layers.push(
      { id: "beats-fill", type: "fill", source: "beats", paint: {
        "fill-color": ["match", ["get", "severity"], "critical", p.critical, "high", p.high,
          "medium", p.medium, "low", p.low, "not judged", p["not judged"], p.ok],
        "fill-opacity": 0.75 } },
      { id: "beats-line", type: "line", source: "beats", paint: { "line-color": "#555", "line-width": 1 } },
      stationLine());
    return s;
  }

  function estatesStyle() {
    const p = state.data.palette, s = baseStyle(), g = state.layers;
    s.sources.estates = { type: "geojson", data: g.estates };
    s.sources.blind = { type: "geojson", data: g.blind_spots };
    s.sources.cameras = { type: "geojson", data: g.cameras };
    s.sources.proposals = { type: "geojson", data: g.proposals };
    s.layers.push(
      { id: "estates-fill", type: "fill", source: "estates", paint: {
        "fill-color": ["case", [">", ["get", "proposed_cameras"], 0], p.risky_estate, p.old_estate],
        "fill-opacity": 0.8 } },
      { id: "blind", type: "fill", source: "blind", paint: { "fill-color": p.blind_spot, "fill-opacity": 0.45 } },
      { id: "estates-line", type: "line", source: "estates", paint: { "line-color": "#000", "line-width": 1 } },
      stationLine(),
      { id: "cameras", type: "circle", source: "cameras", paint: {
        "circle-radius": 2.5, "circle-color": p.camera } },
      { id: "proposals", type: "circle", source: "proposals", paint: {
        "circle-radius": 6, "circle-color": p.proposed, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
    return s;
  }

  function makeMap(id, style, popupLayer, popupHtml) {
    const map = new maplibregl.Map({
      container: id, style: style, bounds: bounds(state.layers.stations, ""),
      fitBoundsOptions: { padding: 12 }, attributionControl: false, dragRotate: false,
      pitchWithRotate: false, maxZoom: 19,
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
    map.on("mousemove", popupLayer, (e) => {
      map.getCanvas().style.cursor = "pointer";
      popup.setLngLat(e.lngLat).setHTML(popupHtml(e.features[0].properties)).addTo(map);
    });
    map.on("mouseleave", popupLayer, () => { map.getCanvas().style.cursor = ""; popup.remove(); });
    map.on("error", (e) => console.error("map error:", e && e.error ? e.error.message : e));
    return map;
  }

  function beatPopup(p) {
    const b = state.data.beats.find((r) => r.beat_id === p.beat_id);
    return `<b>${esc(p.beat_id)} ${esc(p.name)}</b><br>` +
      (b ? `${esc(L("severity"))}: ${esc(b.severity_text)}` + (b.to_add ? `<br>${esc(L("to_add"))}: ${esc(b.to_add)}` : "") : "");
  }

  function estatePopup(p) {
    return `<b>${esc(p.estate_id)} ${esc(p.name)}</b><br>${esc(L("rank"))} ${esc(p.rank)} · ` +
      `${esc(L("seen_share"))} ${esc(p.seen_text)}` + (p.after_text ? ` → ${esc(p.after_text)}` : "");
  }

  function labelMarkers(map, fc, key) {
    fc.features.forEach((f) => {
      const el = document.createElement("div");
      el.className = "label-marker";
      el.textContent = f.properties[key];
      el.dataset.station = f.properties.station_id || "";
      const m = new maplibregl.Marker({ element: el }).setLngLat(centre(f)).addTo(map);
      state.markers.push(m);
    });
  }

  function legend(id, items) {
    $(id).innerHTML = items.map(([kind, colour, text]) => `<span class="key"><span class="${kind}" ` +
      `style="background:${colour}"></span>${esc(text)}</span>`).join("");
  }

  function renderLegends() {
    const p = state.data.palette, sev = state.data.labels.severity_levels;
    const present = new Set(state.layers.beats.features.map((f) => f.properties.severity));
    legend("legend-beats", ["critical", "high", "medium", "low", "not judged", "ok"]
      .filter((s) => present.has(s)).map((s) => ["swatch", p[s], sev[s]]));
    legend("legend-estates", [["swatch", p.risky_estate, L("old_estate_proposed")],
      ["swatch", p.old_estate, L("old_estate")], ["swatch", p.blind_spot, L("blind_spot")],
      ["dot", p.camera, L("existing_camera")], ["dot", p.proposed, L("proposed_camera")]]);
  }

  function buildMaps() {
    const m1 = makeMap("map-beats", beatsStyle(), "beats-fill", beatPopup);
    const m2 = makeMap("map-estates", estatesStyle(), "estates-fill", estatePopup);
    state.maps = { beats: m1, estates: m2 };
    labelMarkers(m1, state.layers.beats, "beat_id");
    labelMarkers(m2, state.layers.estates, "estate_id");
    return Promise.all([m1, m2].map((m) => new Promise((resolve) => m.once("idle", resolve))));
  }

  function applyStation() {
    const st = state.station;
    const only = st ? ["==", ["get", "station_id"], st] : null;
    const filtered = { beats: ["beats-fill", "beats-line"],
      estates: ["estates-fill", "estates-line", "blind", "cameras", "proposals"] };
    Object.entries(filtered).forEach(([name, ids]) => {
      const map = state.maps[name];
      ids.forEach((id) => map.setFilter(id, only));
      map.setFilter("stations", st ? ["==", ["get", "station_id"], st] : null);
      // the beats map shows the station(s); the estates map the old estates in it
      const b = bounds(name === "beats" ? state.layers.stations : state.layers.estates, st);
      if (b) map.fitBounds(b, { padding: name === "beats" ? 12 : 40, duration: 0 });
    });
    state.markers.forEach((m) => {
      const el = m.getElement();
      el.style.display = !st || el.dataset.station === st ? "" : "none";
    });
  }

  function zoomTo(layer, key, value, row) {
    document.querySelectorAll("tbody tr.selected").forEach((tr) => tr.classList.remove("selected"));
    row.classList.add("selected");
    const fc = state.layers[layer];
    const f = fc.features.find((x) => x.properties[key] === value);
    const map = state.maps[layer === "beats" ? "beats" : "estates"];
    if (f && map) map.fitBounds(bounds({ features: [f] }, ""), { padding: 60, maxZoom: 17, duration: 300 });
  }

  // -- loading ---------------------------------------------------------------------------
  async function load() {
    window.dashboardState.ready = false;
    setStatus(state.data ? "…" : "Loading… 加载中…");
    try {
      state.data = await getJSON("/dashboard/data?" + query());
      renderStatic();
      renderCards();
      renderTables();
      renderText();
      if (!state.layers) {
        state.layers = await getJSON("/dashboard/layers");
        renderLegends();
        await buildMaps();
      } else {
        renderLegends();
      }
      applyStation();
      setStatus("");
      window.dashboardState = { ready: true, maps: Object.keys(state.maps).length,
        lang: state.lang, station: state.station };
    } catch (err) {
      setStatus(String(err.message || err), true);
      console.error(err);
    }
  }

  function pushUrl() {
    const q = new URLSearchParams();
    if (state.station) q.set("station", state.station);
    q.set("lang", state.lang);
    history.replaceState(null, "", "?" + q.toString());
  }

  document.addEventListener("DOMContentLoaded", () => {
    initialState();
    $("station").addEventListener("change", (e) => { state.station = e.target.value; pushUrl(); load(); });
    document.querySelectorAll("button.lang").forEach((b) => b.addEventListener("click", () => {
      state.lang = b.dataset.lang;
      if (window.localStorage) localStorage.setItem("beatgrid.lang", state.lang);
      pushUrl();
      load();
    }));
    load();
  });
})();
