/* BeatGrid planner: the changes (strokes and the plan's other steps).
 *
 * A stroke is shown at once: its units take the colour of the grid and the totals
 * beside the map are recounted here, before the service answers (performance marks
 * "stroke-end" at mouse-up -> "stroke-totals" once the next frame is drawn). Then ONE
 * move request carries every unit of the stroke with the plan version it started from;
 * the answer replaces the local totals
 * ("stroke-confirmed"). A refusal puts the units back and says why; a stale version
 * (someone else changed the plan) reloads it. Changes run one after another.
 */

import { t, fmt } from "./planner-i18n.js";
import { PALETTE, setUnitState } from "./planner-map.js";

export class Editor {
  constructor(api, S, hooks) {
    this.api = api;
    this.S = S;
    this.h = hooks;
    this.queue = Promise.resolve();
    this.skipped = new Set();
  }

  // -- the brush -------------------------------------------------------------------------------
  target(mode) { return mode === "erase" ? this.S.eraseTo : this.S.selected; }

  brushHandlers() {
    const S = this.S;
    return {
      accepts: (i) => {
        const g = S.units.grid[i];
        const target = this.target(S.mode);
        if (g === target) return false;
        if (S.mode === "erase" && g !== S.selected) return false;
        if (S.mode === "paint" && S.onlyUnassigned && g !== null) return false;
        const row = g === null ? null : S.byId.get(g);
        if (row && row.locked) { this.skipped.add(i); return false; }
        return true;
      },
      onAdd: (units) => {
        const target = this.target(S.mode);
        const c = target && S.colours.has(target) ? S.colours.get(target) : -1;
        for (const i of units) setUnitState(S.map, i, { c, pend: 1 });
      },
      onEnd: (stroke) => this.endStroke(stroke),
      onCancel: (stroke) => { this.revertLocal(stroke.units); this.skipped = new Set(); },
    };
  }

  revertLocal(units) {
    const S = this.S;
    for (const i of units) {
      const g = S.units.grid[i];
      setUnitState(S.map, i, { c: this.h.view.colour(g), pend: 0 });
    }
  }

  buildingAt(stroke) {
    const p = stroke.start;
    const hits = this.S.map.queryRenderedFeatures([p.x, p.y], { layers: ["buildings-hit"] });
    return hits.length && hits[0].properties.id ? hits[0].properties.id : null;
  }

  endStroke(stroke) {
    const S = this.S;
    const skipped = stroke.click ? (this.skipped.has(stroke.pointUnit) ? 1 : 0) : this.skipped.size;
    this.skipped = new Set();
    let units = [...stroke.units];
    if (stroke.click) {
      // a click moves the unit under the pointer only, not all under the brush
      const keep = units.filter((i) => i === stroke.pointUnit);
      this.revertLocal(units.filter((i) => i !== stroke.pointUnit));
      units = keep;
    }
    const target = this.target(stroke.mode);
    if (!units.length) {
      this.h.say(skipped ? t("skipped_locked", { n: skipped }) : t("nothing_moved"), skipped ? "warn" : "");
      return;
    }
    if (!target) {
      this.revertLocal(units);
      this.h.say(stroke.mode === "erase" ? t("erase_pick") : t("pick_grid_first"), "warn");
      return;
    }
    const row = S.byId.get(target);
    if (row && row.locked) {
      this.revertLocal(units);
      this.h.say(t("locked_target", { grid: target }), "error");
      window.plannerState.refused = (window.plannerState.refused || 0) + 1;
      return;
    }
    const building = stroke.click && units.length === 1 ? this.buildingAt(stroke) : null;
    // show the stroke's totals at once
    const old = new Map();
    const touched = new Set([target]);
    for (const i of units) {
      const g = S.units.grid[i];
      old.set(i, g);
      if (g !== null) {
        const r = S.byId.get(g);
        r.households -= S.units.hh[i]; r.units -= 1;
        touched.add(g);
      }
      row.households += S.units.hh[i]; row.units += 1;
      S.units.grid[i] = target;
    }
    for (const g of touched) {
      const r = S.byId.get(g);
      r.in_band = r.households >= S.band.lo && r.households <= S.band.hi;
    }
    S.table.update(this.h.view, [...touched]);
    S.table.flash([...touched]);
    this.h.updateLabels([...touched]);
    const record = { units: units.length, households: units.reduce((s, i) => s + S.units.hh[i], 0),
      localMs: performance.now() - performance.getEntriesByName("stroke-end").at(-1).startTime,
      optimisticMs: null, confirmedMs: null, ok: null };
    S.strokes.push(record);
    afterPaint(() => {
      performance.mark("stroke-totals");
      record.optimisticMs = performance.measure("stroke-to-totals", "stroke-end", "stroke-totals").duration;
      window.plannerState.strokes = S.strokes;
    });
    const endMark = performance.now();
    if (skipped) this.h.say(t("skipped_locked", { n: skipped }), "warn");
    const body = building ? { to_grid: target, buildings: [building] } : { to_grid: target, units };
    this.enqueue(async () => {
      try {
        const plan = await this.api.change(S.plan.id, "move", S.version, body);
        const agree = this.agrees(plan);
        this.h.adopt(plan, { touched: [...touched] });
        for (const i of units) setUnitState(S.map, i, { pend: 0 });
        if (!agree) this.h.recolour(await this.reloadUnits());
        record.ok = true;
        afterPaint(() => {
          record.confirmedMs = performance.now() - endMark;
          performance.mark("stroke-confirmed");
          window.plannerState.strokes = S.strokes;
        });
        if (building) this.h.say(t("moved_building", { b: building, grid: target }));
        else if (!skipped) this.h.say(t("moved", { n: fmt(units.length), hh: fmt(record.households), grid: target }));
      } catch (err) {
        record.ok = false;
        for (const [i, g] of old) S.units.grid[i] = g;
        await this.recover(err);
      }
    });
  }

  /** Whether the answer's totals are what the page counted (else the units are reloaded). */
  agrees(plan) {
    for (const r of plan.totals) {
      const mine = this.S.byId.get(r.grid_id);
      if (!mine || mine.households !== r.households || mine.units !== r.units) return false;
    }
    return plan.totals.length === this.S.byId.size;
  }

  // -- running changes one after another ----------------------------------------------------------
  enqueue(work) {
    const S = this.S;
    S.busy += 1;
    this.h.renderAll();
    this.queue = this.queue.then(work).catch((err) => this.h.sayError(err)).finally(() => {
      S.busy -= 1;
      this.h.renderAll();
    });
    return this.queue;
  }

  /** After a refusal: say why, and reload the plan as it is (units and totals). */
  async recover(err) {
    const S = this.S;
    if (err.stale) {
      await this.reload();
      this.h.say(t("stale", { v: S.version }), "warn");
      window.plannerState.stale = (window.plannerState.stale || 0) + 1;
      return;
    }
    if (err.status === 403) window.plannerState.refused = (window.plannerState.refused || 0) + 1;
    try { await this.reload(); } catch (e) { /* the refusal is what to tell */ }
    this.h.sayError(err);
  }

  /** The units' grids as the service has them: the units whose grid changed. */
  async reloadUnits() {
    const S = this.S;
    const c = await this.api.units(S.plan.id, { grids: true });
    const changed = [];
    for (let i = 0; i < c.n; i++) {
      const g = c.grid[i] === undefined ? null : c.grid[i];
      if (S.units.grid[i] !== g) { S.units.grid[i] = g; changed.push(i); }
    }
    return changed;
  }

  /** The plan and its units' grids as the service has them, everything redrawn. */
  async reload() {
    const S = this.S;
    const [plan, changedUnits] = await Promise.all([this.api.plan(S.plan.id), this.reloadUnits()]);
    this.h.adopt(plan, { full: true, changedUnits: null });
    return changedUnits;
  }

  /** A change that may move any unit: ask, then reload the units' grids and redraw. */
  whole(what, run, message) {
    if (!this.h.view.canEdit) return Promise.resolve();
    return this.enqueue(async () => {
      try {
        const plan = await run();
        const changedUnits = await this.reloadUnits();
        this.h.adopt(plan, { full: true, changedUnits });
        if (message) this.h.say(message(plan));
      } catch (err) { await this.recover(err); }
    });
  }

  /** A change that moves no unit (lock, add a grid). */
  small(run, message) {
    if (!this.h.view.canEdit) return Promise.resolve();
    return this.enqueue(async () => {
      try {
        const plan = await run();
        this.h.adopt(plan, {});
        if (message) this.h.say(message(plan));
      } catch (err) { await this.recover(err); }
    });
  }

  // -- the plan's steps ------------------------------------------------------------------------------
  undo() {
    const p = this.S.plan;
    if (!p || p.step <= 1) return Promise.resolve();
    return this.whole("undo", () => this.api.change(p.id, "undo", this.S.version), (x) => t("undone", { step: x.step }));
  }

  redo() {
    const p = this.S.plan;
    if (!p || p.step >= p.last_step) return Promise.resolve();
    return this.whole("redo", () => this.api.change(p.id, "redo", this.S.version), (x) => t("redone", { step: x.step }));
  }

  goTo(step) {
    const p = this.S.plan;
    if (!p || step === p.step) return Promise.resolve();
    const what = step < p.step ? "undo" : "redo";
    return this.whole(what, () => this.api.change(p.id, what, this.S.version, { to_step: step }),
      (x) => t(what === "undo" ? "undone" : "redone", { step: x.step }));
  }

  async loadHistory() {
    const p = this.S.plan;
    if (!p) return;
    try {
      const steps = await this.api.steps(p.id);
      const { renderHistory } = await import("./planner-panels.js");
      renderHistory(document.getElementById("history"), steps, p.step);
    } catch (err) { this.h.sayError(err); }
  }

  toggleLock(g) {
    const row = this.S.byId.get(g);
    if (!row) return Promise.resolve();
    const locked = !row.locked;
    return this.small(() => this.api.change(this.S.plan.id, "lock", this.S.version, { grid_id: g, locked }),
      () => t(locked ? "locked_msg" : "unlocked_msg", { grid: g }));
  }

  addGrid() {
    const before = new Set(this.S.byId.keys());
    return this.small(() => this.api.change(this.S.plan.id, "grids", this.S.version, {}), (plan) => {
      const added = plan.totals.map((r) => r.grid_id).find((g) => !before.has(g));
      if (added) this.h.selectGrid(added);
      return t("grid_added", { grid: added || "" });
    });
  }

  removeGrid(g) {
    if (!window.confirm(t("confirm_remove", { grid: g }))) return Promise.resolve();
    return this.whole("remove", () => this.api.removeGrid(this.S.plan.id, g, this.S.version),
      () => t("grid_removed", { grid: g }));
  }

  rebalance() {
    if (!window.confirm(t("confirm_rebalance"))) return Promise.resolve();
    return this.whole("rebalance", () => this.api.change(this.S.plan.id, "rebalance", this.S.version),
      () => t("rebalanced"));
  }

  publish() {
    const p = this.S.plan;
    if (!p || !window.confirm(t("confirm_publish", { id: p.id, c: p.community_id }))) return Promise.resolve();
    return this.small(() => this.api.change(p.id, "publish", this.S.version), (plan) => {
      const text = t("published_msg", { id: plan.id });
      this.h.loadPlans(plan.id).then(() => this.h.say(text)).catch(this.h.sayError);
      return text;
    });
  }

  async newDraft(source) {
    const S = this.S;
    if (!S.community) return;
    try {
      this.h.say(t("loading"));
      const plan = await this.api.create(S.community, source);
      await this.h.loadPlans(plan.id);
      this.h.say(t("created", { id: plan.id }));
    } catch (err) { this.h.sayError(err); }
  }

  async importCsv(file) {
    const S = this.S;
    try {
      const text = await file.text();
      const plan = await this.api.importCsv(S.community, text, file.name.replace(/\.csv$/i, ""));
      await this.h.loadPlans(plan.id);
      this.h.say(t("imported", { id: plan.id }));
    } catch (err) { this.h.sayError(err); }
  }

  // -- what tests and benchmarks read ------------------------------------------------------------------
  testHooks() {
    const S = this.S;
    const inside = (i) => {
      // a point inside the unit's polygon, near its box centre (on the page, in px)
      const f = S.units.features[i];
      const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const b = S.units.bbox.subarray(4 * i, 4 * i + 4);
      let best = null;
      for (let a = 1; a < 8; a++) {
        for (let c = 1; c < 8; c++) {
          const x = b[0] + ((b[2] - b[0]) * a) / 8, y = b[1] + ((b[3] - b[1]) * c) / 8;
          if (!pointIn(x, y, ring)) continue;
          const d = Math.abs(a - 4) + Math.abs(c - 4);
          if (!best || d < best.d) best = { x, y, d };
        }
      }
      return best ? [best.x, best.y] : [S.units.cx[i], S.units.cy[i]];
    };
    return {
      unitPoint: (i) => {
        const p = S.map.project(inside(i));
        const r = S.map.getCanvasContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
      },
      gridOf: (i) => S.units.grid[i],
      unitsOf: (g) => (S.units.members().get(g) || []),
      households: (i) => S.units.hh[i],
      centre: (i) => [S.units.cx[i], S.units.cy[i]],
      total: (g) => { const r = S.byId.get(g); return r ? { ...r } : null; },
      palette: PALETTE,
      get map() { return S.map; },
      get cameras() { return S.cameras; },
      unitsCount: () => (S.units ? S.units.n : 0),
      select: (g) => this.h.selectGrid(g),
      idle: () => new Promise((resolve) => { this.queue.then(() => resolve(true)); }),
      zoomTo: (units, padding = 40) => {
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (const i of units) {
          const b = S.units.bbox;
          x0 = Math.min(x0, b[4 * i]); y0 = Math.min(y0, b[4 * i + 1]);
          x1 = Math.max(x1, b[4 * i + 2]); y1 = Math.max(y1, b[4 * i + 3]);
        }
        S.map.fitBounds([[x0, y0], [x1, y1]], { padding, duration: 0 });
        return new Promise((resolve) => S.map.once("idle", resolve));
      },
    };
  }
}

/** Call ``fn`` once the next frame has been drawn: an animation frame callback runs
 *  before the frame's rendering (MapLibre draws in its own, earlier one), a message
 *  posted from it is handled after the frame's style, layout and paint. */
function afterPaint(fn) {
  requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => fn();
    channel.port2.postMessage(0);
  });
}

function pointIn(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
