"""Shared fixtures of the BeatGrid test suite.

PostGIS
    ``pg_url`` (session) is the SQLAlchemy URL of a PostGIS database, from
    ``BEATGRID_TEST_PG_URL`` (``bash scripts/test.sh`` starts a throwaway server and
    sets it). Without it the PostGIS tests are skipped on a developer machine, but
    FAIL when ``CI=true`` or ``BEATGRID_REQUIRE_PG=1``: in CI a missing database is a
    broken set-up, not a reason to skip. ``pg_schema`` gives each test its own empty
    PostgreSQL schema (dropped afterwards), so tests run in parallel (pytest -n 2).

Browser
    ``chromium_path`` is Debian's Chromium (``BEATGRID_CHROMIUM``, default
    ``/usr/bin/chromium``); Playwright must launch it with ``executable_path`` and
    never download a browser. Skipped when absent, failing under CI like PostGIS.
"""

from __future__ import annotations

import os
import uuid

import pytest


def _required(var: str) -> bool:
    return (os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
            or os.environ.get(var, "").strip() == "1")


def _unavailable(message: str, *, var: str):
    if _required(var):
        pytest.fail(f"{message} (required because CI=true or {var}=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url():
    """URL of a PostGIS test database (``BEATGRID_TEST_PG_URL``), checked to answer."""
    url = os.environ.get("BEATGRID_TEST_PG_URL", "").strip()
    if not url:
        _unavailable("no PostGIS database: set BEATGRID_TEST_PG_URL or run "
                     "`bash scripts/test.sh`", var="BEATGRID_REQUIRE_PG")
    from beatgrid.gis.errors import BeatGridError
    from beatgrid.gis.io import postgis

    try:
        postgis.list_layers_pg(url, schema="public")  # connects and checks PostGIS
    except BeatGridError as e:
        _unavailable(f"PostGIS test database unusable: {e}", var="BEATGRID_REQUIRE_PG")
    yield url
    postgis.dispose_engines()


@pytest.fixture
def pg_schema(pg_url):
    """A fresh, unique PostgreSQL schema name for one test; dropped afterwards."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
                              if pg_url.startswith("postgresql://") else pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def chromium_path():
    """Debian's Chromium for browser tests (``BEATGRID_CHROMIUM``)."""
    path = os.environ.get("BEATGRID_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _unavailable(f"no Chromium at {path}: apt-get install chromium or set "
                     "BEATGRID_CHROMIUM", var="BEATGRID_REQUIRE_BROWSER")
    return path


@pytest.fixture(scope="session")
def qgis_python():
    """A Python that imports PyQGIS (``BEATGRID_QGIS_PYTHON``, default Debian's
    ``/usr/bin/python3`` with ``python3-qgis``)."""
    import subprocess

    path = os.environ.get("BEATGRID_QGIS_PYTHON", "/usr/bin/python3")
    ok = os.path.isfile(path) and subprocess.run(
        [path, "-c", "import qgis.core"], capture_output=True, timeout=120).returncode == 0
    if not ok:
        _unavailable(f"no PyQGIS for {path}: apt-get install python3-qgis qgis-providers "
                     "or set BEATGRID_QGIS_PYTHON", var="BEATGRID_REQUIRE_QGIS")
    return path


@pytest.fixture(params=["gpkg", pytest.param("postgis", marks=pytest.mark.postgis)])
def sample_target(request, tmp_path):
    """The sample project, writable, on each store: ``(kind, target, schema)``.

    ``target`` is a GeoPackage path or a PostgreSQL URL (with ``schema``, else None);
    ``Project.open(target, schema=schema)`` opens it.
    """
    import shutil

    from beatgrid.gis.project import SAMPLE_PATH

    path = tmp_path / "project.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    if request.param == "gpkg":
        return "gpkg", str(path), None
    from beatgrid.gis.io.postgis import copy_project_to_postgis

    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    copy_project_to_postgis(path, url, schema=schema)
    return "postgis", url, schema
