"""Bad input at the command line and in files: one line, exit 2, the project unchanged.

Issue 9, the part of the command line, the project file and the settings/policy files:

* a project that is not a readable GeoPackage (empty, truncated at several sizes, a text
  file, a zip renamed ``.gpkg``, a damaged header, damaged pages, a plain SQLite
  database, a folder) refused by every command with "project P is not a readable
  GeoPackage (...). Fix: ..." and exit 2 (``validate`` too: its exit 1 means "problems
  found"); the service answers 503 with the one error body;
* a ``--policy`` / ``--settings`` file that is binary, nested deeply, holds a 400- or
  5,000-digit number, ``inf``, ``nan``, is huge or a folder: one line naming the file and
  the key, exit 2;
* every numeric option refuses an out-of-range value in argparse (exit 2) naming the
  option, the value and what to give;
* a killed write's hidden copy is removed by the next write, a live writer's copy is
  not; the copy is flushed to disk before it replaces the project.

The broken files are made from the committed sample (copied, then truncated, overwritten
or zeroed at pages found with SQLite's ``dbstat``).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from beatgrid.api.cli import main
from beatgrid.gis.io import gpkg_files
from beatgrid.gis.io.gpkg import GeoPackageStore

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-geodata" / "ningbo-jiangbei.gpkg"
DATA = SAMPLE.read_bytes()
PAGE = int.from_bytes(DATA[16:18], "big")
FIX = "Fix: restore it from a backup"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``beatgrid ARGV`` in this process: exit status, stdout, stderr."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def pages_of(table: str) -> list[int]:
    """The pages (1-based) holding ``table`` in the sample (SQLite's dbstat)."""
    con = sqlite3.connect(f"{SAMPLE.as_uri()}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE name = ?",
                                          (table,))]
    finally:
        con.close()


def overwrite_pages(pages: list[int], fill: Callable[[int], bytes]) -> bytes:
    data = bytearray(DATA)
    for page in pages:
        data[(page - 1) * PAGE: page * PAGE] = fill(PAGE)
    return bytes(data)


def zip_bytes(tmp: Path) -> bytes:
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr("ningbo-jiangbei.gpkg", DATA[:20000])
    return tmp.read_bytes()


def plain_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE cameras (id TEXT, lon REAL, lat REAL)")
    con.execute("INSERT INTO cameras VALUES ('c1', 121.55, 29.88)")
    con.commit()
    con.close()


RNG = random.Random(9)
BUILDING_PAGES = pages_of("buildings")
#: Garbage over ten pages in the middle of the buildings table (a bad disk sector, a
#: partial overwrite): GDAL fails while reading that layer.
CORRUPT_BUILDINGS = overwrite_pages(BUILDING_PAGES[len(BUILDING_PAGES) // 2:][:10],
                                    RNG.randbytes)
#: The page of the GeoPackage table of contents zeroed (a hole after a crash).
ZEROED_CONTENTS = overwrite_pages(pages_of("gpkg_contents"), bytes)

# id -> (write the broken project at path, words the reason must contain)
BROKEN: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    "zero bytes": (lambda p: p.write_bytes(b""), ["the file is empty, 0 bytes"]),
    "truncated to 50 bytes": (lambda p: p.write_bytes(DATA[:50]),
                              ["truncated: 50 bytes, shorter than the SQLite header"]),
    "truncated to the header": (lambda p: p.write_bytes(DATA[:100]),
                                ["truncated: 100 bytes is not a whole number of 4,096-byte "
                                 "pages"]),
    "truncated to one page": (lambda p: p.write_bytes(DATA[:PAGE]),
                              [f"truncated: {PAGE:,} of {len(DATA):,} bytes"]),
    "truncated to half": (lambda p: p.write_bytes(DATA[:len(DATA) // 2 // PAGE * PAGE]),
                          [f"truncated: {len(DATA) // 2 // PAGE * PAGE:,} of "
                           f"{len(DATA):,} bytes"]),
    "last byte missing": (lambda p: p.write_bytes(DATA[:-1]),
                          [f"truncated: {len(DATA) - 1:,} bytes is not a whole number"]),
    "a text file": (lambda p: p.write_text("id,lon,lat\nc1,121.55,29.88\n", "utf-8"),
                    ["a text file, not an SQLite database"]),
    "a zip renamed .gpkg": (lambda p: p.write_bytes(zip_bytes(p.with_suffix(".zip"))),
                            ["a ZIP archive, not an SQLite database"]),
    "header magic flipped": (lambda p: p.write_bytes(b"SQLite formax 3\x00" + DATA[16:]),
                             ["a damaged SQLite header, not an SQLite database"]),
    "header page size damaged": (lambda p: p.write_bytes(DATA[:16] + b"\x00\x07" + DATA[18:]),
                                 ["damaged SQLite header"]),
    "gpkg_contents page zeroed": (lambda p: p.write_bytes(ZEROED_CONTENTS),
                                  ["malformed"]),
    "plain SQLite database": (plain_sqlite,
                              ["an SQLite database without the GeoPackage tables"]),
    "a folder": (lambda p: p.mkdir(), ["it is a folder"]),
}

COMMANDS: dict[str, list[str]] = {
    "validate": ["validate"],
    "info": ["info"],
    "grids generate": ["grids", "generate"],
    "coverage": ["coverage", "--no-levels"],
    "staffing": ["staffing"],
    "import": ["import", "cameras", "{csv}"],
}


def _csv(tmp_path: Path) -> Path:
    csv = tmp_path / "cams.csv"
    csv.write_text("id,lon,lat,kind\nc1,121.55,29.88,road\n", "utf-8")
    return csv


def _assert_refused(status: int, err: str, out: str, project: Path, words: list[str],
                    before: str) -> None:
    assert status == 2, (status, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"beatgrid: error: project {str(project)!r} is not a readable "
                          "GeoPackage ("), err
    for word in words:
        assert word in err, (word, err)
    assert FIX in err and "beatgrid sample --out" in err
    assert sha256(project) == before
    leftovers = [p.name for p in project.parent.iterdir() if p.name.endswith(
        (".tmp.gpkg", ".tmp.gpkg-journal"))]
    assert leftovers == []


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("broken", list(BROKEN))
def test_unreadable_project_one_line_exit_2(broken, command, tmp_path, capsys):
    project = tmp_path / "p.gpkg"
    make, words = BROKEN[broken]
    if broken == "gpkg_contents page zeroed" and command == "validate":
        words = ["SQLite integrity check: Page 3"]  # validate checks the pages first
    make(project)
    before = sha256(project)
    argv = [a.format(csv=_csv(tmp_path)) for a in COMMANDS[command]]
    status, out, err = run([*argv, "--project", str(project)], capsys)
    _assert_refused(status, err, out, project, words, before)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_damaged_pages_of_a_layer(command, tmp_path, capsys):
    """Garbage over pages of the buildings table: every command that reads buildings is
    refused naming the layer; ``validate`` checks every page (SQLite's quick check);
    ``info`` reads only the table of contents and still answers."""
    project = tmp_path / "p.gpkg"
    project.write_bytes(CORRUPT_BUILDINGS)
    before = sha256(project)
    argv = [a.format(csv=_csv(tmp_path)) for a in COMMANDS[command]]
    status, out, err = run([*argv, "--project", str(project)], capsys)
    if command == "info":
        assert status == 0 and "buildings" in out and err == ""
        assert sha256(project) == before
        return
    words = (["SQLite integrity check"] if command == "validate"
             else ["layer 'buildings'", "malformed"])
    _assert_refused(status, err, out, project, words, before)


def test_service_answers_503_for_an_unreadable_project(tmp_path):
    from fastapi.testclient import TestClient

    from beatgrid.api.service import create_app
    from beatgrid.gis import Project

    project = tmp_path / "p.gpkg"
    project.write_bytes(CORRUPT_BUILDINGS)
    client = TestClient(create_app(Project.open(project)), raise_server_exceptions=False)
    r = client.get("/layers/buildings")
    assert r.status_code == 503
    body = r.json()
    assert body["type"] == "StoreUnavailableError"
    assert "is not a readable GeoPackage (layer 'buildings'" in body["error"]
    assert body["fix"].startswith("restore it from a backup")
    project.write_bytes(DATA[:PAGE])  # truncated behind the running service
    r = client.get("/layers")
    assert r.status_code == 503 and "truncated" in r.json()["error"]


@pytest.mark.parametrize("kwargs,words", [
    ({"layer": "staff", "bbox": (121.5, 29.9, 121.6, 30.0)}, ["layer 'staff'", "no geometry"]),
    ({"layer": "cameras", "bbox": (121.5, 29.9, float("nan"), 30.0)}, ["is not a box"]),
    ({"layer": "cameras", "bbox": (121.6, 29.9, 121.5, 30.0)}, ["xmin <= xmax"]),
    ({"layer": "cameras", "where": "kind = = 'dome'"},
     ["where \"kind = = 'dome'\" is not a valid filter on layer 'cameras'"]),
])
def test_bad_filter_at_the_store_is_an_input_error_not_a_damaged_file(kwargs, words):
    from beatgrid.gis.errors import InputError

    layer = kwargs.pop("layer")
    with pytest.raises(InputError) as info:
        GeoPackageStore(SAMPLE).read_layer(layer, **kwargs)
    for word in words:
        assert word in str(info.value)
    assert "Fix: " in str(info.value) and "readable" not in str(info.value)


# --------------------------------------------------------------------------------------
# Settings and policy files
# --------------------------------------------------------------------------------------

def _nested(depth: int) -> str:
    return "[officers]\nx = " + "{a = " * depth + "1" + "}" * depth + "\n"


# id -> (file text or bytes, command, words: the key or what, and the fix)
SETTINGS_FILES: dict[str, tuple[str | bytes | None, list[str], list[str]]] = {
    "binary policy": (b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(3000), ["staffing"],
                      ["is not UTF-8 text", "Fix: give a TOML text file saved as UTF-8"]),
    "policy nested 3,000 deep": (_nested(3000), ["staffing"],
                                 ["is nested too deeply", "Fix: write the keys"]),
    "policy nested 40 deep": (_nested(40), ["staffing"],
                              ["nested more than 16 deep", "Fix: write the keys"]),
    "policy list nested 3,000 deep": ("[officers]\nper_beat = " + "[" * 3000 + "]" * 3000,
                                      ["staffing"], ["is nested too deeply"]),
    "policy 400-digit integer": ("[officers]\nper_beat = 1" + "0" * 400 + "\n", ["staffing"],
                                 ["'officers.per_beat' has value <a 401-digit number>",
                                  "too large", "Fix: give a number like the default 1"]),
    "policy 400-digit number for a ratio": (
        "[auxiliaries]\nper_officer = 9" + "9" * 400 + "\n", ["staffing"],
        ["'auxiliaries.per_officer' has value <a 401-digit number>",
         "Fix: give a number like the default 1.5"]),
    "policy 5,000-digit number": ("[auxiliaries]\nper_officer = 1" + "0" * 5000 + "\n",
                                  ["staffing"],
                                  ["line 2 (key 'auxiliaries.per_officer')",
                                   "more than 4,300 digits", "Fix: give a plain number"]),
    "policy inf": ("[auxiliaries]\nper_officer = inf\n", ["staffing"],
                   ["'auxiliaries.per_officer' has value inf: it must be a finite number",
                    "Fix: give a number like the default 1.5"]),
    "policy nan": ("[officers]\ntwo_officer_population = nan\n", ["staffing"],
                   ["'officers.two_officer_population' has value nan", "Fix: give a"]),
    "policy -1e400 (overflows to -inf)": ("[workload]\nrelief_factor = -1e400\n",
                                          ["staffing"],
                                          ["'workload.relief_factor' has value -inf"]),
    "policy larger than 1 MB": ("# padding\n" * 120_000, ["staffing"],
                                ["is larger than 1,000,000 bytes",
                                 "Fix: give the TOML file with your settings"]),
    "policy is a folder": (None, ["staffing"], ["is a directory", "Fix: give the path"]),
    "grid settings 400-digit number": ("[units]\nsnap_tolerance_m = 1" + "0" * 400 + "\n",
                                       ["grids", "generate"],
                                       ["'units.snap_tolerance_m' has value <a 401-digit "
                                        "number>", "Fix: give a number like the default 2.0"]),
    "grid settings nan": ("[units]\nsnap_tolerance_m = nan\n", ["grids", "generate"],
                          ["'units.snap_tolerance_m' has value nan"]),
    "coverage settings binary": (bytes(range(256)) * 8, ["coverage", "--no-levels"],
                                 ["is not UTF-8 text"]),
}


@pytest.mark.parametrize("case", list(SETTINGS_FILES))
def test_bad_settings_file_one_line_exit_2(case, tmp_path, capsys):
    content, argv, words = SETTINGS_FILES[case]
    project = tmp_path / "p.gpkg"
    project.write_bytes(DATA)
    before = sha256(project)
    path = tmp_path / "bad.toml"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    option = "--policy" if argv == ["staffing"] else "--settings"
    status, out, err = run([*argv, "--project", str(project), option, str(path)], capsys)
    assert status == 2, (status, out[-500:], err[-2000:])
    assert err.count("\n") == 1 and err.startswith("beatgrid: error: "), err[:2000]
    assert "bad.toml" in err and "Fix: " in err
    for word in words:
        assert word in err, (word, err)
    assert len(err) < 600
    assert sha256(project) == before


# --------------------------------------------------------------------------------------
# Numeric options
# --------------------------------------------------------------------------------------

# (argv after --project P, option, value, what to give)
NUMERIC: list[tuple[list[str], str, str, str]] = [
    (["grids", "generate", "--seed", "-1"], "--seed", "-1",
     "is not a seed: give a whole number from 0 to 4294967295"),
    (["grids", "generate", "--seed", "4294967296"], "--seed", "4294967296",
     "is not a seed: give a whole number from 0 to 4294967295"),
    (["grids", "generate", "--seed", "3.5"], "--seed", "3.5", "is not a seed"),
    (["grids", "generate", "--workers", "-1"], "--workers", "-1",
     "give a whole number from 0 up"),
    (["grids", "generate", "--min", "0"], "--min", "0", "give a whole number from 1 up"),
    (["grids", "check", "--max", "-5"], "--max", "-5", "give a whole number from 1 up"),
    (["grids", "generate", "--target", "0"], "--target", "0", "give a number above 0"),
    (["grids", "generate", "--target", "nan"], "--target", "nan", "give a number above 0"),
    (["grids", "rebalance", "--seed", "-1"], "--seed", "-1", "is not a seed"),
    (["grids", "metrics", "--min", "abc"], "--min", "abc", "give a whole number from 1 up"),
    (["coverage", "--top", "-1"], "--top", "-1", "give a whole number from 0 up"),
    (["cameras", "recommend", "--budget", "0"], "--budget", "0",
     "give a whole number from 1 up"),
    (["cameras", "recommend", "--budget", "3", "--time-limit", "-10"], "--time-limit", "-10",
     "give a number above 0"),
    (["cameras", "recommend", "--budget", "3", "--time-limit", "inf"], "--time-limit", "inf",
     "give a number above 0"),
    (["validate", "--limit", "-1"], "--limit", "-1", "give a whole number from 0 up"),
    (["serve", "--port", "70000"], "--port", "70000", "give a whole number from 1 to 65535"),
]


@pytest.mark.parametrize("argv,option,value,rule", NUMERIC,
                         ids=[" ".join(row[0]) for row in NUMERIC])
def test_numeric_option_out_of_range_is_refused_by_argparse(argv, option, value, rule,
                                                            tmp_path, capsys):
    project = tmp_path / "p.gpkg"
    project.write_bytes(DATA)
    before = sha256(project)
    status, out, err = run([*argv, "--project", str(project)], capsys)
    assert status == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert f"error: argument {option}: {value!r} is not" in last and rule in last, last
    assert sha256(project) == before


@pytest.mark.parametrize("argv", [
    ["sample", "--out", "x.gpkg", "--seed", "-1"],
    ["sample", "--out", "x.gpkg", "--households", "0"],
])
def test_sample_options_refused_nothing_written(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(argv, capsys)
    assert status == 2 and "is not" in err and "give a whole number" in err
    assert not (tmp_path / "x.gpkg").exists()


def test_numeric_bounds_themselves_are_accepted():
    from beatgrid.api.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["grids", "generate", "-p", "p.gpkg", "--seed", "4294967295",
                              "--workers", "0", "--min", "1", "--target", "0.5"])
    assert (args.seed, args.workers, args.min_households, args.target_households) == \
        (4294967295, 0, 1, 0.5)
    args = parser.parse_args(["coverage", "-p", "p.gpkg", "--top", "0"])
    assert args.top == 0


# --------------------------------------------------------------------------------------
# Temporary copies of killed writes
# --------------------------------------------------------------------------------------

CHILD = """
import os, signal, sys
from pathlib import Path
from beatgrid.gis.io.gpkg_files import atomic_replace
with atomic_replace(Path(sys.argv[1]), copy=True) as tmp:
    print(tmp, flush=True)
    if sys.argv[2] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.read()
"""


def _child(project: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(project), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    assert proc.stdout is not None
    tmp = Path(proc.stdout.readline().strip())
    return proc, tmp


def _write_staff(project: Path) -> None:
    store = GeoPackageStore(project)
    store.write_layers({"staff": store.read_layer("staff")}, validate=False)


def test_killed_write_copy_is_removed_by_the_next_write_a_live_one_is_kept(tmp_path):
    project = tmp_path / "p.gpkg"
    project.write_bytes(DATA)
    killed, killed_tmp = _child(project, "kill")  # both children start together
    live, live_tmp = _child(project, "wait")
    try:
        assert killed.wait(timeout=60) == -signal.SIGKILL
        assert killed_tmp.stat().st_size == len(DATA)  # a full-size hidden copy
        assert killed_tmp.name.startswith(".p-")
        assert killed_tmp.name.endswith(f".{gpkg_files.host_tag()}-{killed.pid}.tmp.gpkg")
        _write_staff(project)  # the next write, while the other writer still runs
        assert not killed_tmp.exists()
        assert live_tmp.exists()
    finally:
        live.kill()
        live.wait(timeout=60)
    _write_staff(project)  # now its process is gone too
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != ".p.gpkg.lock")  # the lock
    assert left == ["p.gpkg"]                                                     # file stays


def test_only_our_own_stale_copies_are_removed(tmp_path):
    project = tmp_path / "p.gpkg"
    project.write_bytes(DATA)
    other_host = "0" * 8 if gpkg_files.host_tag() != "0" * 8 else "1" * 8
    week_ago = time.time() - 7 * 24 * 3600
    old = {  # removed: BeatGrid's own pattern, untouched for longer than the setting (6 h)
        ".p-k3y8xq2m.tmp.gpkg",                     # an older BeatGrid's copy (no pid)
        ".p-k3y8xq2m.tmp.gpkg-journal",             # with SQLite's journal
        f".p-a1b2c3d4.{other_host}-4242.tmp.gpkg",  # another machine's copy
    }
    kept = {
        ".p-fresh123.tmp.gpkg",                     # recent, owner unknown
        f".p-fresh456.{other_host}-4242.tmp.gpkg",  # recent, another machine
        ".q-k3y8xq2m.tmp.gpkg",                     # another project's copy
        ".p-notes.tmp.gpkg.bak",                    # not our pattern
        "p-backup.gpkg", ".p-k3y8xq2m.gpkg",        # the user's files
    }
    for name in old | kept:
        (tmp_path / name).write_bytes(b"x")
        if "fresh" not in name:
            os.utime(tmp_path / name, (week_ago, week_ago))
    _write_staff(project)
    left = {p.name for p in tmp_path.iterdir()} - {".p.gpkg.lock"}  # the project's lock file
    assert left == kept | {"p.gpkg"}


def test_copy_is_flushed_before_it_replaces_the_project(tmp_path, monkeypatch):
    project = tmp_path / "p.gpkg"
    project.write_bytes(DATA)
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def record_replace(src: object, dst: object) -> None:
        events.append(("replace", str(src)))
        replace(src, dst)

    monkeypatch.setattr(gpkg_files.os, "fsync", record_fsync)
    monkeypatch.setattr(gpkg_files.os, "replace", record_replace)
    _write_staff(project)
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"]
    assert os.path.realpath(events[0][1]) == os.path.realpath(events[1][1])  # the copy
    assert os.path.realpath(events[2][1]) == os.path.realpath(tmp_path)  # then the folder
