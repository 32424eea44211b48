/* BeatGrid planner: the side panel's lists (totals per grid, broken rules, history).
 *
 * The totals table keeps one row per grid and rewrites only the rows whose figures
 * changed, so a stroke on a community of 1,700 grids updates two or three rows.
 */

import { t, fmt, ruleText, kindText } from "./planner-i18n.js";
import { PALETTE } from "./planner-map.js";

const esc = (s) => String(s === null || s === undefined ? "" : s)
  .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A padlock drawn inline (closed when locked): no icon font is needed. */
export function padlock(closed) {
  const shackle = closed ? "M3 6V4a3 3 0 0 1 6 0v2" : "M3 6V4a3 3 0 0 1 6 0";
  return `<svg viewBox="0 0 12 13" aria-hidden="true"><path d="${shackle}" fill="none" stroke="currentColor" stroke-width="1.6"/>` +
    `<rect x="1" y="6" width="10" height="7" rx="1.2" fill="${closed ? "currentColor" : "none"}" stroke="currentColor" stroke-width="1.4"/></svg>`;
}

/** The state of a grid in words: in band, or how far out. */
export function bandState(households, units, band) {
  if (!units) return { ok: true, text: t("empty_grid") };
  if (households < band.lo) return { ok: false, text: t("below", { n: band.lo - households, lo: band.lo }) };
  if (households > band.hi) return { ok: false, text: t("above", { n: households - band.hi, hi: band.hi }) };
  return { ok: true, text: t("in_band") };
}

/** Rows of the totals table written at once; the rest follow, this many at a time. */
const FIRST_ROWS = 60;
const CHUNK_ROWS = 300;

export class TotalsTable {
  constructor(tbody, { onSelect, onLock }) {
    this.tbody = tbody;
    this.rows = new Map();
    this.shown = new Map();
    this.onSelect = onSelect;
    this.onLock = onLock;
    this.filter = "";
    tbody.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-grid]");
      if (!tr) return;
      if (e.target.closest(".lockbtn")) this.onLock(tr.dataset.grid);
      else this.onSelect(tr.dataset.grid);
    });
  }

  /** Rebuild every row: ``totals`` of the plan, colours, rules broken per grid (one
   *  HTML string per chunk). The first ``FIRST_ROWS`` rows (a screen and more) are
   *  written at once; the others follow in chunks between frames, so that a plan of
   *  1,700 grids draws its map first instead of laying out 1,700 rows. ``done``
   *  resolves once every row is in the table. */
  render(view) {
    this.shown.clear();
    this.rows.clear();
    this.view = view;
    const token = (this.token = (this.token || 0) + 1);
    this.tbody.innerHTML = `<tr class="unassigned">${this.unassignedHtml(view)}</tr>`;
    this.unassignedRow = this.tbody.firstElementChild;
    const ids = view.totals.map((row) => row.grid_id);
    const rows = new Map(view.totals.map((row) => [row.grid_id, row]));
    const write = (from, to) => {
      if (to <= from) return;
      const parts = [];
      for (const g of ids.slice(from, to)) {
        // the figures as they are now (``this.view``: an edit may have come between two
        // chunks)
        const [cls, html, key] = this.rowHtml(this.view, g, this.view.byId.get(g) || rows.get(g));
        this.shown.set(g, key);
        parts.push(`<tr data-grid="${esc(g)}" tabindex="-1" class="${cls}">${html}</tr>`);
      }
      this.tbody.insertAdjacentHTML("beforeend", parts.join(""));
      const added = [...this.tbody.children].slice(-(to - from));
      for (const tr of added) this.rows.set(tr.dataset.grid, tr);
      this.applyFilter();
    };
    const first = Math.min(ids.length, FIRST_ROWS);
    write(0, first);
    this.done = new Promise((resolve) => {
      const next = (from) => {
        if (token !== this.token) return resolve(false);
        if (from >= ids.length) return resolve(true);
        const to = Math.min(ids.length, from + CHUNK_ROWS);
        write(from, to);
        setTimeout(() => next(to), 0);
      };
      // after the next frame, or once the map is drawn when told to wait (``after``):
      // the map's first render goes first
      const wait = this.wait;
      this.wait = null;
      const go = () => setTimeout(() => next(first), 0);
      if (wait) wait.then(go, go); else requestAnimationFrame(go);
    });
    return this.done;
  }

  /** The next ``render`` writes the rows past the first screen only once ``promise``
   *  settles (a plan opened: once its units are on the map, laying out 1,700 rows took
   *  the main thread from the map's first frame). */
  after(promise) { this.wait = promise; }

  /** (class, cells, key) of the row of grid ``g``. */
  rowHtml(view, g, row) {
    const kinds = view.badKinds(g);
    const colour = view.colour(g);
    const key = [row.households, row.units, row.locked, colour, kinds.join(","), view.selected === g,
      view.canEdit].join("|");
    const st = bandState(row.households, row.units, view.band);
    const bad = !st.ok || kinds.length > 0;
    const cls = (bad ? "bad" : "ok") + (view.selected === g ? " selected" : "");
    const reasons = [st.ok ? "" : st.text, ...kinds.filter((k) => !k.startsWith("households_")).map(kindText)]
      .filter(Boolean);
    const html =
      `<td>${colour < 0 ? '<span class="swatch none"></span>' : `<span class="swatch" style="background:${PALETTE[colour]}"></span>`}</td>` +
      `<td title="${esc(t("code"))}: ${esc(row.code)}">${esc(g)}</td>` +
      `<td class="num hh">${esc(fmt(row.households))}</td><td class="num">${esc(fmt(row.units))}</td>` +
      `<td class="state">${bad ? '<span class="hatch"></span>' : ""}${esc(bad ? reasons.join("; ") : st.text)}</td>` +
      `<td><button type="button" class="lockbtn edit" aria-pressed="${row.locked}" ` +
      `title="${esc(row.locked ? t("unlock") : t("lock"))}" ${view.canEdit ? "" : "disabled"}>` +
      `${padlock(row.locked)}</button></td>`;
    return [cls, html, key];
  }

  unassignedHtml(view) {
    const units = view.unassignedUnits, hh = view.unassignedHouseholds;
    return `<td><span class="swatch none"></span></td><td>${esc(t("unassigned"))}</td>` +
      `<td class="num">${esc(fmt(hh))}</td><td class="num">${esc(fmt(units))}</td>` +
      `<td class="state" colspan="2">${units ? esc(t("unassigned_row", { units: fmt(units), hh: fmt(hh) })) : "–"}</td>`;
  }

  /** Rewrite the rows of ``grids`` (all when null) whose figures changed (rows not yet
   *  written are written with the figures of ``view``). */
  update(view, grids) {
    this.view = view;
    const ids = grids ? grids.filter((g) => this.rows.has(g)) : [...this.rows.keys()];
    for (const g of ids) {
      const row = view.byId.get(g);
      if (!row) continue;
      const [cls, html, key] = this.rowHtml(view, g, row);
      if (this.shown.get(g) === key) continue;
      this.shown.set(g, key);
      const tr = this.rows.get(g);
      tr.className = cls;
      tr.innerHTML = html;
    }
    this.unassignedRow.innerHTML = this.unassignedHtml(view);
  }

  /** Draw the eye to rows just changed (an animation: no layout is forced). */
  flash(grids) {
    for (const g of grids) {
      const tr = this.rows.get(g);
      if (tr && tr.animate) tr.animate([{ backgroundColor: "#ffe08a" }, { backgroundColor: "transparent" }], 700);
    }
  }

  setFilter(text) { this.filter = text.trim().toLowerCase(); this.applyFilter(); }

  applyFilter() {
    for (const [g, tr] of this.rows) tr.hidden = !!this.filter && !String(g).toLowerCase().includes(this.filter) &&
      !(tr.cells[1] && tr.cells[1].title.toLowerCase().includes(this.filter));
  }

  reveal(g) {
    const tr = this.rows.get(g);
    if (tr) tr.scrollIntoView({ block: "nearest" });
  }
}

/** The broken rules in words, one item per rule; a click picks the grid. */
export function renderViolations(ul, count, view, onPick) {
  const vs = view.violations.filter((v) => v.severity !== "warning");
  count.textContent = vs.length ? t("n_rules", { n: fmt(vs.length) }) : "";
  if (!vs.length) {
    ul.innerHTML = `<li class="ok">${esc(t("no_rules"))}</li>`;
    return;
  }
  const shown = vs.slice(0, 200);
  ul.innerHTML = shown.map((v) => {
    const row = view.byId.get(v.grid_id);
    const hh = row ? row.households : 0;
    return `<li data-grid="${esc(v.grid_id)}" data-kind="${esc(v.kind)}"><b>${esc(v.grid_id || v.community_id)}</b> ` +
      `${esc(kindText(v.kind))}: ${esc(ruleText(v, hh, view.band))}` +
      (v.rule ? ` <span class="rule">(${esc(v.rule)})</span>` : "") + "</li>";
  }).join("") + (vs.length > shown.length ? `<li>… ${esc(fmt(vs.length - shown.length))}</li>` : "");
  ul.querySelectorAll("li[data-grid]").forEach((li) => li.addEventListener("click", () => onPick(li.dataset.grid)));
}

/** The recorded steps as options of the history list (the current one selected). */
export function renderHistory(select, steps, current) {
  select.innerHTML = `<option value="">${esc(t("history"))}</option>` + steps.map((s) => {
    const sum = s.summary || {};
    const what = sum.to ? `→ ${sum.to} (${sum.units || 0})` : sum.grid ? sum.grid : sum.source || "";
    return `<option value="${s.seq}"${s.seq === current ? " selected" : ""}>${s.seq}. ${esc(s.kind)} ${esc(what)} · ${esc(s.author || "")}</option>`;
  }).join("");
}
