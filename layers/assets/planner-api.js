/* BeatGrid planner: talking to the service.
 *
 * Every request carries the signed-in user's token (Authorization: Bearer), writes are
 * JSON, and a change of a plan states the version it started from (If-Match: the ETag
 * of the last answer). Errors become ApiError with the service's words: error, fix,
 * type, and for a stale change the current version.
 */

const TOKEN_KEY = "beatgrid.planner.token";

export class ApiError extends Error {
  constructor(status, body) {
    const text = (body && body.error) || `HTTP ${status}`;
    super(text);
    this.status = status;
    this.fix = (body && body.fix) || "";
    this.type = (body && body.type) || "";
    this.currentVersion = body && body.current_version ? Number(body.current_version) : null;
  }

  /** A change refused because the plan changed since it was read (409 with a version). */
  get stale() { return this.status === 409 && (this.type === "StaleVersionError" || this.currentVersion !== null); }

  /** The error and its fix in one line. */
  get text() { return this.message + (this.fix ? " — " + this.fix : ""); }
}

export class Api {
  constructor() {
    this.token = sessionStorage.getItem(TOKEN_KEY) || "";
    this.onUnauthorized = null;
  }

  setToken(token) {
    this.token = token || "";
    window.plannerEarly = null;
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  }

  headers(extra) {
    const h = { Accept: "application/json", ...(extra || {}) };
    if (this.token) h.Authorization = "Bearer " + this.token;
    return h;
  }

  /** A request the map makes itself (its tiles): the token added when it goes to the
   *  service (MapLibre's ``transformRequest``). */
  authorise(url) {
    if (!this.token || new URL(url, location.href).origin !== location.origin) return { url };
    return { url, headers: { Authorization: "Bearer " + this.token } };
  }

  /** One request: ``{status, body, etag}``; throws ApiError for a refusal. */
  async request(method, url, { body, ifMatch, raw } = {}) {
    const headers = this.headers();
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (ifMatch !== undefined && ifMatch !== null) headers["If-Match"] = `"${ifMatch}"`;
    const r = await (this.early(method, url) || fetch(url, init));
    const etag = (r.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "");
    if (raw && r.ok) return { status: r.status, body: await r.blob(), etag };
    const text = await r.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = { error: text.slice(0, 200) }; }
    if (!r.ok) {
      const err = new ApiError(r.status, parsed);
      if (r.status === 401 && this.onUnauthorized) this.onUnauthorized(err);
      throw err;
    }
    return { status: r.status, body: parsed, etag };
  }

  /** The answer to ``GET url`` asked for by the page's first script (planner.html) with
   *  the same token, once; null when there is none. */
  early(method, url) {
    const e = window.plannerEarly;
    if (method !== "GET" || !e || e.token !== this.token || !(url in e.answers)) return null;
    const answer = e.answers[url];
    delete e.answers[url];
    return answer;
  }

  get(url) { return this.request("GET", url).then((r) => r.body); }

  // -- signing in ----------------------------------------------------------------------
  async me() { return this.get("/auth/me"); }

  async login(name, password) {
    const r = await this.request("POST", "/auth/login", { body: { name, password } });
    this.setToken(r.body.token);
    return r.body;
  }

  async logout() {
    try { await this.request("POST", "/auth/logout", { body: {} }); } catch (e) { /* already gone */ }
    this.setToken("");
  }

  // -- plans -----------------------------------------------------------------------------
  plans(communityId) { return this.get("/plans?community_id=" + encodeURIComponent(communityId)); }
  plan(id) { return this.request("GET", `/plans/${id}`).then((r) => r.body); }
  /** The plan's units, compact (GET /planner/plans/{id}/units); ``grids``: their grids only. */
  units(id, { grids = false } = {}) { return this.get(`/planner/plans/${id}/units` + (grids ? "?geometry=false" : "")); }
  steps(id) { return this.get(`/plans/${id}/steps`); }
  compare(a, b, geojson) { return this.get(`/plans/${a}/compare/${b}` + (geojson ? "?format=geojson" : "")); }

  create(communityId, source) {
    return this.request("POST", "/plans", { body: { community_id: communityId, source } }).then((r) => r.body);
  }

  importCsv(communityId, csv, name) {
    const body = { community_id: communityId, csv };
    if (name) body.name = name;
    return this.request("POST", "/plans/import", { body }).then((r) => r.body);
  }

  /** A change of plan ``id`` started from ``version``: POST /plans/{id}/{what}. */
  change(id, what, version, body) {
    return this.request("POST", `/plans/${id}/${what}`, { body: body || {}, ifMatch: version })
      .then((r) => r.body);
  }

  removeGrid(id, gridId, version) {
    return this.request("DELETE", `/plans/${id}/grids/${encodeURIComponent(gridId)}`, { ifMatch: version })
      .then((r) => r.body);
  }

  /** A file of the service as a Blob (for a download). */
  blob(url) { return this.request("GET", url, { raw: true }).then((r) => r.body); }
}
