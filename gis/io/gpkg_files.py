"""GeoPackage files on disk: a cheap readability check, one clear read error, safe replacement.

A project file can be damaged outside BeatGrid: truncated by a full disk or an
interrupted copy, emptied, replaced by another file (a text file, a zip renamed
``.gpkg``), its header or pages overwritten. :func:`check_header` looks at the first
100 bytes (the SQLite header) before GDAL opens the file, and :func:`reading`
translates what GDAL or SQLite raise while reading into one
:class:`~beatgrid.gis.errors.StoreUnavailableError`: "project P is not a readable
GeoPackage (what the driver said). Fix: ...", which the command line prints on one
line (exit 2) and the service answers with 503.

Writes go to a hidden copy beside the project that replaces it atomically
(:func:`atomic_replace`); the copy is flushed to disk (``fsync``), then renamed, then
the folder is flushed. A copy left behind by a killed write is removed by the next
write (:func:`remove_stale_temps`): only files of BeatGrid's own temporary pattern for
that project, and only when the process that made them is gone (its id and host are
in the name) or, when that cannot be told, when untouched for longer than the
``core`` setting ``store.stale_temp_hours``.

Examples
--------
>>> from pathlib import Path
>>> check_header(Path("sample-geodata/ningbo-jiangbei.gpkg"))
>>> check_header(Path("README.md"))
Traceback (most recent call last):
...
beatgrid.gis.errors.StoreUnavailableError: project 'README.md' is not a readable GeoPackage (a text file, not an SQLite database) Fix: ...
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import re
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio.errors
import shapely.errors

from beatgrid.gis.config import default_config
from beatgrid.gis.errors import InputError, StoreUnavailableError

log = logging.getLogger(__name__)

#: The first 16 bytes of every SQLite database (a GeoPackage is one).
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Size of the SQLite database header.
HEADER_SIZE = 100
#: ``application_id`` values of a GeoPackage (1.2+, and 1.0 / 1.1).
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
#: What GDAL (through pyogrio) and SQLite raise when a file cannot be read.
READ_ERRORS: tuple[type[Exception], ...] = (
    pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError, pyogrio.errors.GeometryError, pyogrio.errors.CRSError,
    sqlite3.DatabaseError)
#: What a damaged value raises while pyogrio builds the frame: text that is not UTF-8
#: (GeoPackage text is), geometry bytes GEOS cannot make a geometry of.
VALUE_ERRORS: tuple[type[Exception], ...] = (UnicodeDecodeError, shapely.errors.GEOSException)
#: Longest driver message quoted in an error (the rest is cut).
MAX_REASON = 160
#: Suffix of the temporary copy a write goes through.
TEMP_SUFFIX = ".tmp.gpkg"
#: SQLite's side files of a database (a killed write can leave them beside its copy).
SIDE_FILES = ("", "-journal", "-wal", "-shm")

FIX_UNREADABLE = ("restore it from a backup, or re-create it (`beatgrid sample --out`, "
                  "`beatgrid import`); check that the path names your project")


def unreadable(path: str | Path, reason: str) -> StoreUnavailableError:
    """The one error for a project file that cannot be read as a GeoPackage.

    Examples
    --------
    >>> print(unreadable("p.gpkg", "the file is empty, 0 bytes"))  # doctest: +ELLIPSIS
    project 'p.gpkg' is not a readable GeoPackage (the file is empty, 0 bytes) Fix: restore it from a backup, ...
    """
    return StoreUnavailableError(
        f"project {str(path)!r} is not a readable GeoPackage ({reason})", fix=FIX_UNREADABLE)


def _kind_of(head: bytes) -> str:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "a ZIP archive"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    if head.startswith(b"SQLite"):
        return "a damaged SQLite header"
    for cut in range(4):  # the 100 bytes may end inside a UTF-8 character
        try:
            text = head[:len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if text and all(c.isprintable() or c in "\r\n\t" for c in text):
            return "a JSON file" if text.lstrip().startswith(("{", "[")) else "a text file"
        break
    return "no SQLite header"


def check_header(path: Path) -> None:
    """Refuse a file that cannot be a GeoPackage, from its size and 100-byte header only.

    Checks: the file can be opened and is not empty; it starts with the SQLite magic
    string; the page size and format bytes are valid; its size is a whole number of
    pages and not less than the header records (truncated); a file without
    GeoPackage's ``application_id`` has GeoPackage's tables.

    Raises
    ------
    StoreUnavailableError
        Naming the file and what is wrong with it, with the fix.

    Examples
    --------
    >>> check_header(Path("sample-geodata/ningbo-jiangbei.gpkg"))
    """
    try:
        with path.open("rb") as f:
            head = f.read(HEADER_SIZE)
            size = os.fstat(f.fileno()).st_size
    except IsADirectoryError:
        raise unreadable(path, "it is a folder") from None
    except OSError as exc:
        raise StoreUnavailableError(
            f"project {str(path)!r} cannot be read ({exc.strerror or exc})",
            fix="check the path and that you may read the file") from None
    if size == 0:
        raise unreadable(path, "the file is empty, 0 bytes")
    if not head.startswith(SQLITE_MAGIC):
        raise unreadable(path, f"{_kind_of(head)}, not an SQLite database")
    if len(head) < HEADER_SIZE:
        raise unreadable(path, f"truncated: {size} bytes, shorter than the SQLite header")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1) or head[18] not in (1, 2) or head[19] not in (1, 2) \
            or head[21:24] != b"\x40\x20\x20":
        raise unreadable(path, "damaged SQLite header")
    if size % page:
        raise unreadable(path, f"truncated: {size:,} bytes is not a whole number of "
                               f"{page:,}-byte pages")
    pages = int.from_bytes(head[28:32], "big")
    wal = path.with_name(path.name + "-wal")
    if pages and head[24:28] == head[92:96] and pages * page > size and not wal.exists():
        raise unreadable(path, f"truncated: {size:,} of {pages * page:,} bytes")
    if head[68:72] not in GPKG_APPLICATION_IDS and not _has_gpkg_tables(path):
        raise unreadable(path, "an SQLite database without the GeoPackage tables")


def _has_gpkg_tables(path: Path) -> bool:
    """Whether the database has GeoPackage's tables (True when that cannot be told now:
    GDAL then opens it and says what is wrong)."""
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return True
    return {"gpkg_contents", "gpkg_spatial_ref_sys"} <= names


def short_reason(exc: BaseException) -> str:
    """What the driver said, short: the first line, without the SQL statement or repeats.

    Examples
    --------
    >>> short_reason(RuntimeError("sqlite3_prepare_v2(SELECT 1) failed: database disk "
    ...                           "image is malformed; database disk image is malformed"))
    'database disk image is malformed'
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"\b\w+\(.*?\) failed: ", "", text)
    text = re.sub(r"^In \w+\(\): sqlite3_\w+\(\) : ", "", text)
    text = re.sub(r"; It might help to specify.*$", "", text)
    parts = [p.strip() for p in text.split(";") if p.strip()]
    text = "; ".join(dict.fromkeys(parts)) or type(exc).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def check_bbox(name: str, bbox: Any, *, spatial: bool) -> None:
    """Refuse a bbox that is not four finite numbers with min <= max, or on a table.

    Examples
    --------
    >>> check_bbox("cameras", (121.5, 29.9, 121.6, 30.0), spatial=True)
    >>> check_bbox("cameras", (121.6, 29.9, float("nan"), 30.0), spatial=True)
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.InputError: bbox (121.6, 29.9, nan, 30.0) on layer 'cameras' is not a box Fix: give four finite numbers (xmin, ymin, xmax, ymax) with xmin <= xmax and ymin <= ymax
    """
    if not spatial:
        raise InputError(f"bbox {tuple(bbox)} on layer {name!r}: the layer has no geometry",
                         fix="read the layer without bbox")
    try:
        xmin, ymin, xmax, ymax = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise InputError(f"bbox {bbox!r} on layer {name!r} is not four numbers",
                         fix="give (xmin, ymin, xmax, ymax) in the project CRS") from None
    if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)) \
            or xmin > xmax or ymin > ymax:
        raise InputError(f"bbox {tuple(bbox)} on layer {name!r} is not a box",
                         fix="give four finite numbers (xmin, ymin, xmax, ymax) with "
                             "xmin <= xmax and ymin <= ymax")


@contextlib.contextmanager
def reading(path: Path, *, layer: str | None = None, where: str | None = None
            ) -> Iterator[None]:
    """Translate what GDAL or SQLite raise while reading ``path`` into one clear error.

    Parameters
    ----------
    path
        The GeoPackage being read.
    layer
        The layer being read (named in the message).
    where
        The attribute filter given by the caller: an SQL error then names it as
        :class:`~beatgrid.gis.errors.InputError` instead.

    Examples
    --------
    >>> import pyogrio
    >>> with reading(Path("README.md")):
    ...     pyogrio.list_layers("README.md")
    Traceback (most recent call last):
    ...
    beatgrid.gis.errors.StoreUnavailableError: project 'README.md' is not a readable GeoPackage ('README.md' not recognized as being in a supported file format.) Fix: ...
    """
    try:
        yield
    except VALUE_ERRORS as exc:
        what = ("a text value is not UTF-8" if isinstance(exc, UnicodeDecodeError)
                else "a geometry cannot be read")
        reason = f"{what}: {short_reason(exc)}"
        raise unreadable(path, f"layer {layer!r}: {reason}" if layer else reason) from None
    except READ_ERRORS as exc:
        if where is not None and "Failed to prepare SQL" in str(exc):
            raise InputError(f"where {where!r} is not a valid filter on layer {layer!r}",
                             fix="give an SQL condition on the layer's columns, "
                                 "e.g. \"kind = 'dome'\"") from None
        reason = short_reason(exc)
        raise unreadable(path, f"layer {layer!r}: {reason}" if layer else reason) from None


def integrity_problem(path: Path) -> str | None:
    """SQLite's ``quick_check`` of ``path``: None when it is sound, else the first problem.

    It reads the whole file: used only after a write failed, to tell a damaged project
    from a bug.

    Examples
    --------
    >>> integrity_problem(Path("sample-geodata/ningbo-jiangbei.gpkg")) is None
    True
    """
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = con.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return short_reason(exc)
    if row is None or row[0] == "ok":
        return None
    lines = [line for line in str(row[0]).splitlines() if not line.startswith("***")]
    return short_reason(RuntimeError(lines[0] if lines else row[0]))


def check_file(path: Path) -> None:
    """The header check, then SQLite's ``quick_check`` of every page (reads the whole file).

    ``beatgrid validate`` runs it, so damage in pages no layer read touches (an index,
    a table BeatGrid does not read) is found too.

    Raises
    ------
    StoreUnavailableError
        The file is not a readable GeoPackage (see :func:`unreadable`).

    Examples
    --------
    >>> check_file(Path("sample-geodata/ningbo-jiangbei.gpkg"))
    """
    check_header(path)
    problem = integrity_problem(path)
    if problem is not None:
        raise unreadable(path, f"SQLite integrity check: {problem}")


# --------------------------------------------------------------------------------------
# Temporary copies
# --------------------------------------------------------------------------------------

def host_tag() -> str:
    """Eight hex digits naming this machine in temporary file names.

    Examples
    --------
    >>> len(host_tag())
    8
    """
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temp_pattern(path: Path) -> re.Pattern[str]:
    """The names of the temporary copies of ``path`` (and SQLite's side files).

    ``.<stem>-<8 random>.<host>-<pid>.tmp.gpkg``; the copies of BeatGrid before the
    process id was recorded have no ``.<host>-<pid>`` part.

    Examples
    --------
    >>> pat = temp_pattern(Path("p.gpkg"))
    >>> pat.match(".p-a1b2c3d4.0badf00d-123.tmp.gpkg").group("pid")
    '123'
    >>> bool(pat.match(".p-a1b2c3d4.tmp.gpkg-journal")), bool(pat.match(".pq-a1b2c3d4.tmp.gpkg"))
    (True, False)
    """
    return re.compile(rf"^\.{re.escape(path.stem)}-[a-z0-9_]{{8}}"
                      rf"(?:\.(?P<host>[0-9a-f]{{8}})-(?P<pid>[0-9]{{1,10}}))?"
                      rf"{re.escape(TEMP_SUFFIX)}(?:-journal|-wal|-shm)?$")


def _process_alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs on this machine (None: cannot be told here)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return None
    return True


def stale_temp_hours() -> float:
    """The shipped ``core`` setting ``store.stale_temp_hours``.

    Examples
    --------
    >>> stale_temp_hours() > 0
    True
    """
    return float(default_config().core["store"]["stale_temp_hours"])


def remove_stale_temps(path: Path, *, older_than_hours: float | None = None) -> list[Path]:
    """Remove the temporary copies of ``path`` that killed writes left behind.

    A copy is stale when the process named in it ran on this machine and is gone, or
    when it has not been touched for ``older_than_hours`` (default: the ``core`` setting
    ``store.stale_temp_hours``). Nothing else is touched; a file that cannot be removed
    is left (the write goes on).

    Returns
    -------
    list of Path
        The files removed.

    Examples
    --------
    >>> remove_stale_temps(Path("sample-geodata/ningbo-jiangbei.gpkg"))
    []
    """
    hours = stale_temp_hours() if older_than_hours is None else older_than_hours
    folder = path.parent if str(path.parent) else Path(".")
    pattern = temp_pattern(path)
    here = host_tag()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            idle = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        alive = (_process_alive(int(match["pid"]))
                 if match["pid"] is not None and match["host"] == here else None)
        if alive is False or (idle > hours * 3600.0 and int(match["pid"] or -1) != os.getpid()):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
                log.info("removed %s, left by an interrupted write", entry.path)
    return removed


def _fsync(path: Path, *, directory: bool = False) -> None:
    if directory and os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_replace(path: Path, *, copy: bool,
                   stale_hours: float | None = None) -> Iterator[Path]:
    """A temporary sibling of ``path`` (a copy of it with ``copy``) that replaces it on success.

    Stale copies of earlier, killed writes are removed first
    (:func:`remove_stale_temps`). On success the copy is flushed to disk, renamed over
    ``path`` and the folder flushed, so a crash leaves either the old or the new
    project, whole. On any error the copy is removed and ``path`` is unchanged; a
    driver error while writing into the copy of a damaged project (SQLite's
    ``quick_check`` finds a problem) becomes the error of :func:`unreadable`.

    Examples
    --------
    >>> import tempfile, os
    >>> target = Path(tempfile.mkdtemp()) / "p.gpkg"
    >>> with atomic_replace(target, copy=False) as tmp:
    ...     _ = tmp.write_bytes(b"new")
    >>> target.read_bytes(), os.listdir(target.parent)
    (b'new', ['p.gpkg'])
    """
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temps(path, older_than_hours=stale_hours)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-",
                                suffix=f".{host_tag()}-{os.getpid()}{TEMP_SUFFIX}", dir=folder)
    os.close(fd)
    os.unlink(name)
    tmp = Path(name)
    try:
        if copy:
            shutil.copyfile(path, tmp)  # not copy2: the copy's time says when it was made
            shutil.copymode(path, tmp)
        try:
            yield tmp
        except READ_ERRORS:  # a damaged project (pages the checks before could not see)?
            problem = integrity_problem(path) if copy else None
            if problem is None:
                raise
            raise unreadable(path, problem) from None
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(folder, directory=True)
    finally:
        for side in SIDE_FILES:
            leftover = Path(f"{tmp}{side}")
            if leftover.exists():
                with contextlib.suppress(OSError):
                    leftover.unlink()


__all__ = ["SQLITE_MAGIC", "HEADER_SIZE", "GPKG_APPLICATION_IDS", "READ_ERRORS",
           "VALUE_ERRORS", "TEMP_SUFFIX", "unreadable", "check_header", "check_bbox",
           "short_reason", "reading", "integrity_problem", "check_file", "host_tag",
           "temp_pattern", "stale_temp_hours", "remove_stale_temps", "atomic_replace"]
