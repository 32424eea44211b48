/* BeatGrid planner: the brush.
 *
 * A click (a press that hardly moves) takes only the unit under the pointer.
 *
 * In the paint and erase modes a drag on the map collects the units under a circle of
 * the brush size (queried from what MapLibre drew), interpolating between pointer
 * positions so a fast drag leaves no gap. Each unit collected is shown at once
 * (``onAdd``); releasing the button ends the stroke (``onEnd``: one change request for
 * the whole stroke). Holding Space, or the "move map" mode, pans instead.
 */

import { unitsUnder } from "./planner-map.js";

export const BRUSH_MIN = 4;
export const BRUSH_MAX = 160;
/** A press that moves less than this (px) is a click. */
const CLICK_PX = 4;

export class Brush {
  constructor(map, units, { onAdd, onEnd, onCancel, accepts }) {
    this.map = map;
    this.units = units;
    this.onAdd = onAdd;
    this.onEnd = onEnd;
    this.onCancel = onCancel;
    this.accepts = accepts || (() => true);
    this.mode = "paint";
    this.radius = 18;
    this.spaceHeld = false;
    this.stroke = null;
    this.enabled = true;
    const box = map.getCanvasContainer();
    this.circle = document.createElement("div");
    this.circle.className = "brush";
    this.circle.hidden = true;
    box.appendChild(this.circle);
    box.addEventListener("mousedown", (e) => this.down(e));
    box.addEventListener("mousemove", (e) => this.move(e));
    box.addEventListener("mouseleave", () => { this.circle.hidden = true; });
    window.addEventListener("mouseup", (e) => this.up(e));
    this.apply();
  }

  get painting() { return this.enabled && !this.spaceHeld && (this.mode === "paint" || this.mode === "erase"); }

  setMode(mode) { this.mode = mode; this.apply(); }
  setEnabled(on) { this.enabled = on; if (!on) this.cancel(); this.apply(); }
  setSpace(held) { this.spaceHeld = held; this.apply(); }

  setRadius(r) {
    this.radius = Math.max(BRUSH_MIN, Math.min(BRUSH_MAX, Math.round(r)));
    this.circle.style.width = this.circle.style.height = 2 * this.radius + "px";
    return this.radius;
  }

  /** Pan with the mouse only when not painting. */
  apply() {
    const pan = !this.painting;
    if (pan) this.map.dragPan.enable(); else this.map.dragPan.disable();
    this.map.getCanvas().style.cursor = pan ? "" : "crosshair";
    this.circle.hidden = pan;
    this.circle.classList.toggle("erase", this.mode === "erase");
    this.setRadius(this.radius);
  }

  point(e) {
    const rect = this.map.getCanvasContainer().getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  place(p) {
    this.circle.style.transform = `translate(${p.x - this.radius}px, ${p.y - this.radius}px)`;
  }

  collect(p) {
    const found = unitsUnder(this.map, this.units, p.x, p.y, this.radius);
    const fresh = [];
    for (const i of found) {
      if (!this.stroke.units.has(i) && this.accepts(i)) { this.stroke.units.add(i); fresh.push(i); }
    }
    if (fresh.length) this.onAdd(fresh, this.stroke);
  }

  down(e) {
    if (e.button !== 0 || !this.painting) return;
    e.preventDefault();
    const p = this.point(e);
    const under = this.map.queryRenderedFeatures([p.x, p.y], { layers: ["units-fill"] });
    this.stroke = { units: new Set(), start: p, last: p, moved: 0, mode: this.mode,
      pointUnit: under.length ? under[0].id : null, t0: performance.now() };
    performance.mark("stroke-start");
    this.collect(p);
  }

  move(e) {
    const p = this.point(e);
    if (this.painting) { this.circle.hidden = false; this.place(p); }
    if (!this.stroke) return;
    const last = this.stroke.last;
    const d = Math.hypot(p.x - last.x, p.y - last.y);
    this.stroke.moved += d;
    const steps = Math.max(1, Math.ceil(d / Math.max(2, this.radius / 2)));
    for (let k = 1; k <= steps; k++) {
      this.collect({ x: last.x + ((p.x - last.x) * k) / steps, y: last.y + ((p.y - last.y) * k) / steps });
    }
    this.stroke.last = p;
  }

  up(e) {
    if (!this.stroke || e.button !== 0) return;
    const stroke = this.stroke;
    this.stroke = null;
    stroke.click = stroke.moved < CLICK_PX;
    performance.mark("stroke-end");
    this.onEnd(stroke);
  }

  cancel() {
    if (!this.stroke) return;
    const stroke = this.stroke;
    this.stroke = null;
    if (this.onCancel) this.onCancel(stroke);
  }
}
