#!/usr/bin/env bash
# Run BeatGrid's whole test suite on a Debian/Ubuntu machine, installing what it needs.
#
#   bash scripts/test.sh                 # everything (what CI runs through .ci/run)
#   bash scripts/test.sh -k postgis -x   # extra arguments go to pytest
#   bash scripts/test.sh tests/test_postgis.py   # named files/node ids replace tests/
#
# Steps (each skipped when already done, so a re-run is fast):
#   1. Debian packages: postgresql, postgresql-<major>-postgis-3, chromium, fonts (EXTRA_DEBS),
#      and python3/python3-venv when the system python needs them; `apt-get update` once, only when something is
#      missing. As root, or through sudo otherwise.
#   2. .venv with `pip install -e ".[test,bench,dask]"` (skipped when pyproject.toml did not change).
#   3. A throwaway PostgreSQL cluster (temp dir, free loopback port, run as user postgres),
#      database beatgrid_test with PostGIS; exports BEATGRID_TEST_PG_URL. Stopped and
#      removed on exit, whatever happens. A BEATGRID_TEST_PG_URL already set is used as is.
#   4. pytest -n 2 over tests/ with BEATGRID_CHROMIUM=/usr/bin/chromium and
#      BEATGRID_REQUIRE_PG=1 (a PostGIS test that cannot connect fails instead of skipping).
#      "No tests collected" (pytest exit 5) fails the script.
#
# Knobs: BEATGRID_TEST_WORKERS (default 2), BEATGRID_TEST_TIMEOUT (seconds, default 2400),
# BEATGRID_CHROMIUM, BEATGRID_TEST_PG_URL, plus those of scripts/_bootstrap.sh.
# Network: Debian mirrors and PyPI only; no browser is ever downloaded (Playwright drives
# Debian's chromium).
set -euo pipefail
# shellcheck source=scripts/_bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
cd "$BG_ROOT"

T_START=$SECONDS
cleanup() { bg_pg_stop; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. Debian packages --------------------------------------------------------------
t0=$SECONDS
# Extra Debian packages the tests need besides PostgreSQL/PostGIS and chromium. Extend here.
#   libatomic1: the node binary inside Playwright's pip wheel needs it (a minimal Debian
#               lacks it: "Connection closed while reading from the driver")
#   fonts-*:    headless Chromium renders Latin and Chinese map labels (screenshots)
#   poppler-utils: pdftoppm and pdftotext check the PDF of `beatgrid report`
#   python3-qgis, qgis-providers: QGIS (headless, PyQGIS on Debian's python3) opens the
#               project and draws its styled layers (tests/layers/test_qgis_styles.py)
EXTRA_DEBS=(libatomic1 fonts-liberation fonts-wqy-microhei poppler-utils python3-qgis
            qgis-providers)
export BEATGRID_CHROMIUM="${BEATGRID_CHROMIUM:-/usr/bin/chromium}"
pkgs=("${EXTRA_DEBS[@]}")
[ -x "$BEATGRID_CHROMIUM" ] || pkgs+=(chromium)
if [ -z "${BEATGRID_TEST_PG_URL:-}" ]; then
    pkgs+=(postgresql)
    if v="$(bg_pg_major)"; then pkgs+=("postgresql-$v-postgis-3"); fi
fi
bg_apt_install "${pkgs[@]}"
if [ -z "${BEATGRID_TEST_PG_URL:-}" ]; then
    # Fresh machine: PostGIS is picked to match the PostgreSQL the metapackage brought.
    v="$(bg_pg_major)" || bg_die "PostgreSQL server not found after installing postgresql"
    bg_apt_install "postgresql-$v-postgis-3"
fi
[ -x "$BEATGRID_CHROMIUM" ] || bg_die "no browser at BEATGRID_CHROMIUM=$BEATGRID_CHROMIUM (Debian: apt-get install chromium; Ubuntu's chromium is a snap: point BEATGRID_CHROMIUM at a real binary)"
T_APT=$((SECONDS - t0))

# ---- 2. Python environment -----------------------------------------------------------
t0=$SECONDS
bg_venv "test,bench,dask"
T_PIP=$((SECONDS - t0))

# ---- 3. PostgreSQL/PostGIS -----------------------------------------------------------
t0=$SECONDS
if [ -n "${BEATGRID_TEST_PG_URL:-}" ]; then
    bg_log "using the given BEATGRID_TEST_PG_URL (no private cluster started)"
else
    bg_pg_start beatgrid_test
fi
export BEATGRID_REQUIRE_PG=1
T_PG=$((SECONDS - t0))

# ---- 4. pytest -----------------------------------------------------------------------
t0=$SECONDS
export PYTHONDONTWRITEBYTECODE=1
# the browser, report and QGIS tests keep their screenshots here (test artefacts; out/ is
# not committed)
export BEATGRID_SCREENSHOT_DIR="${BEATGRID_SCREENSHOT_DIR:-$PWD/out/screenshots}"
# The whole tests/ folder unless the arguments name test files or node ids themselves.
targets=(tests/)
for a in "$@"; do
    case "$a" in -*) ;; *) [ -e "${a%%::*}" ] && targets=() ;; esac
done
bg_log "pytest -n ${BEATGRID_TEST_WORKERS:-2} ${targets[*]} $*"
set +e
timeout -k 30 "${BEATGRID_TEST_TIMEOUT:-2400}" \
    "$BG_VENV/bin/python" -m pytest -n "${BEATGRID_TEST_WORKERS:-2}" --durations=15 \
    "${targets[@]}" "$@"
rc=$?
set -e
T_PYTEST=$((SECONDS - t0))
bg_log "times: apt ${T_APT}s, pip ${T_PIP}s, postgres ${T_PG}s, pytest ${T_PYTEST}s, total $((SECONDS - T_START))s"
case "$rc" in
    0) bg_log "tests passed" ;;
    5) bg_log "FAILED: pytest collected no tests (exit 5)" ;;
    124|137) bg_log "FAILED: pytest exceeded BEATGRID_TEST_TIMEOUT=${BEATGRID_TEST_TIMEOUT:-2400}s" ;;
    *) bg_log "FAILED: pytest exit code $rc" ;;
esac
exit "$rc"
