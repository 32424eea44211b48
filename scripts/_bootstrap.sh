# shellcheck shell=bash
# Shared set-up helpers for scripts/demo.sh and scripts/test.sh (sourced, not run).
#
# What it provides (all idempotent, safe to call again):
#   bg_apt_install PKG...   install the Debian packages that are missing (dpkg -s), with
#                           one `apt-get update` per run first; nothing when all are there
#   bg_python               set BG_PY to a Python >= 3.11 interpreter (installs python3
#                           via apt when there is none)
#   bg_venv EXTRAS          create/repair .venv and `pip install -e ".[EXTRAS]"` (skipped
#                           when pyproject.toml and the extras did not change since the
#                           last successful install: see .venv/.beatgrid-install-stamp)
#   bg_pg_major             print the major version of the installed PostgreSQL server
#   bg_log / bg_die         messages on stderr
#
# Environment knobs:
#   BEATGRID_VENV           where the virtualenv lives (default: <repo>/.venv)
#   BEATGRID_PYTHON         interpreter to build the venv from (default: newest python3.x >= 3.11)
#   BEATGRID_NO_APT=1       never call apt-get (fail with the package list instead)
#   BEATGRID_FORCE_PIP=1    always run pip install, ignoring the stamp
#
# Network: only the package registries (Debian mirrors through apt, PyPI through pip).

set -o pipefail

BG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BG_VENV="${BEATGRID_VENV:-$BG_ROOT/.venv}"
BG_APT_UPDATED=0
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Playwright's pip wheel must never fetch a browser: the tests use Debian's chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

bg_log() { printf '[beatgrid %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bg_die() { printf '[beatgrid] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
bg_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -E "$@"
    else
        bg_die "need root to run '$*' (run as root, or install sudo)"
    fi
}

# True when every named Debian package is installed.
bg_dpkg_installed() {
    local p status
    for p in "$@"; do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || return 1
        [ "$status" = "install ok installed" ] || return 1
    done
}

bg_apt_install() {
    local missing=() p
    for p in "$@"; do
        bg_dpkg_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 \
        || bg_die "missing packages ${missing[*]} and no apt-get: install them by hand"
    [ "${BEATGRID_NO_APT:-0}" = 1 ] \
        && bg_die "missing Debian packages: ${missing[*]} (BEATGRID_NO_APT=1 forbids apt-get)"
    local t0=$SECONDS
    if [ "$BG_APT_UPDATED" = 0 ]; then
        bg_log "apt-get update"
        bg_root apt-get update -q || bg_die "apt-get update failed"
        BG_APT_UPDATED=1
    fi
    bg_log "apt-get install ${missing[*]}"
    bg_root apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || bg_die "apt-get install ${missing[*]} failed"
    bg_log "apt done in $((SECONDS - t0)) s"
}

# Version check of an interpreter: true when it is Python >= 3.11.
bg_python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

# Set BG_PY to a Python >= 3.11 (installs Debian's python3 + python3-venv when there is none).
bg_python() {
    local c
    BG_PY=""
    if [ -n "${BEATGRID_PYTHON:-}" ]; then
        bg_python_ok "$BEATGRID_PYTHON" || bg_die "BEATGRID_PYTHON=$BEATGRID_PYTHON is not Python >= 3.11"
        BG_PY="$BEATGRID_PYTHON"; return 0
    fi
    for _ in 1 2; do
        for c in python3.13 python3.12 python3.11 python3; do
            if command -v "$c" >/dev/null 2>&1 && bg_python_ok "$c"; then
                BG_PY="$(command -v "$c")"; return 0
            fi
        done
        bg_apt_install python3 python3-venv
    done
    bg_die "BeatGrid needs Python >= 3.11; this system's python3 is older (Debian 12 and Ubuntu 24.04 have it). Set BEATGRID_PYTHON=/path/to/python3.11"
}

# Create the venv with $1 (python). Debian's python3 needs python3-venv (ensurepip) for it.
bg_make_venv() {
    local py="$1" ver
    if "$py" -m venv "$BG_VENV" 2>/tmp/beatgrid-venv.err.$$; then
        rm -f /tmp/beatgrid-venv.err.$$; return 0
    fi
    rm -rf "$BG_VENV"
    ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    case "$py" in
        /usr/bin/*) ;;
        *) cat /tmp/beatgrid-venv.err.$$ >&2; rm -f /tmp/beatgrid-venv.err.$$
           bg_die "could not create a virtualenv with $py" ;;
    esac
    rm -f /tmp/beatgrid-venv.err.$$
    bg_log "python venv support missing: installing python3-venv"
    bg_apt_install python3-venv "python${ver}-venv"
    "$py" -m venv "$BG_VENV" || bg_die "could not create a virtualenv with $py"
}

bg_venv() {
    local extras="$1" spec="." stamp hash py
    [ -n "$extras" ] && spec=".[$extras]"
    # A venv from another machine/interpreter (or a half-made one) is rebuilt.
    if [ -x "$BG_VENV/bin/python" ] && bg_python_ok "$BG_VENV/bin/python" \
            && "$BG_VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        :
    else
        bg_python; py="$BG_PY"
        [ -e "$BG_VENV" ] && { bg_log "rebuilding broken $BG_VENV"; rm -rf "$BG_VENV"; }
        bg_log "creating $BG_VENV with $py ($("$py" --version 2>&1))"
        bg_make_venv "$py"
    fi
    stamp="$BG_VENV/.beatgrid-install-stamp"
    hash="$(sha256sum < "$BG_ROOT/pyproject.toml" | cut -c1-16)"
    # The stamp lists every spec installed from this pyproject.toml ("." and ".[test,bench]");
    # "." is covered by any of them, so demo.sh after test.sh does not reinstall.
    if [ "${BEATGRID_FORCE_PIP:-0}" != 1 ] && [ -f "$stamp" ] \
            && { grep -qxF "$hash $spec" "$stamp" || { [ "$spec" = . ] && grep -q "^$hash " "$stamp"; }; } \
            && "$BG_VENV/bin/python" -c 'import beatgrid.gis, beatgrid.api' >/dev/null 2>&1; then
        bg_log "python packages up to date ($spec; BEATGRID_FORCE_PIP=1 to reinstall)"
        return 0
    fi
    local t0=$SECONDS
    bg_log "pip install -e '$spec' into $BG_VENV (a few minutes the first time)"
    local log="$BG_VENV/pip-install.log"
    if ! (cd "$BG_ROOT" && "$BG_VENV/bin/python" -m pip install -e "$spec") >"$log" 2>&1; then
        tail -40 "$log" >&2
        bg_die "pip install -e '$spec' failed (full log: $log)"
    fi
    { grep "^$hash " "$stamp" 2>/dev/null || true; echo "$hash $spec"; } | sort -u > "$stamp.new"
    mv "$stamp.new" "$stamp"
    bg_log "pip done in $((SECONDS - t0)) s"
}

# Major version of the installed PostgreSQL server (highest under /usr/lib/postgresql).
bg_pg_major() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin/postgres; do
        [ -x "$d" ] || continue
        d="${d#/usr/lib/postgresql/}"; d="${d%%/*}"
        if [ -z "$best" ] || [ "$d" -gt "$best" ]; then best="$d"; fi
    done
    [ -n "$best" ] || return 1
    echo "$best"
}

# ---- throwaway PostgreSQL/PostGIS cluster -----------------------------------------------
# bg_pg_start starts a private cluster in a temp dir on a free loopback port (trust auth,
# durability off: it is for tests), creates database beatgrid_test with PostGIS and exports
# BEATGRID_TEST_PG_URL. Root cannot run postgres: as root the server runs as the Debian
# user `postgres` (runuser), otherwise as the calling user. bg_pg_stop stops it and removes
# the directory; callers register it with trap.
BG_PG_DIR=""
BG_PG_BIN=""
BG_PG_RUN=()

bg_free_port() {
    local py="$BG_VENV/bin/python"
    [ -x "$py" ] || py=python3
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

bg_pg_start() {
    local v port try db="${1:-beatgrid_test}"
    v="$(bg_pg_major)" || bg_die "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)"
    BG_PG_BIN="/usr/lib/postgresql/$v/bin"
    [ -f "/usr/share/postgresql/$v/extension/postgis.control" ] \
        || bg_die "PostGIS for PostgreSQL $v is not installed (apt-get install postgresql-$v-postgis-3)"
    BG_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/beatgrid-pg.XXXXXX")"
    chmod 755 "$BG_PG_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || bg_die "user 'postgres' is missing (it comes with postgresql-common)"
        chown postgres: "$BG_PG_DIR"
        if command -v runuser >/dev/null 2>&1; then
            BG_PG_RUN=(runuser -u postgres --)
        else
            # shellcheck disable=SC2016  # expanded by the postgres shell
            BG_PG_RUN=(su postgres -s /bin/sh -c '"$0" "$@"' --)
        fi
    else
        BG_PG_RUN=()
    fi
    bg_log "initdb PostgreSQL $v in $BG_PG_DIR"
    (cd "$BG_PG_DIR" && "${BG_PG_RUN[@]}" "$BG_PG_BIN/initdb" -D "$BG_PG_DIR/data" -U beatgrid \
        -A trust -E UTF8 --no-locale >"$BG_PG_DIR/initdb.log" 2>&1) \
        || { cat "$BG_PG_DIR/initdb.log" >&2; bg_die "initdb failed"; }
    for try in 1 2 3 4 5; do
        port="$(bg_free_port)"
        if (cd "$BG_PG_DIR" && "${BG_PG_RUN[@]}" "$BG_PG_BIN/pg_ctl" -D "$BG_PG_DIR/data" \
                -l "$BG_PG_DIR/server.log" -w -t 60 -s \
                -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$BG_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60" \
                start); then
            break
        fi
        [ "$try" = 5 ] && { tail -20 "$BG_PG_DIR/server.log" >&2; bg_die "PostgreSQL did not start"; }
        bg_log "port $port was taken; retrying"
    done
    export BG_PG_PORT="$port"
    "$BG_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U beatgrid -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $db" >/dev/null || bg_die "CREATE DATABASE $db failed"
    "$BG_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U beatgrid -d "$db" -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null || bg_die "CREATE EXTENSION postgis failed"
    export BEATGRID_TEST_PG_URL="postgresql+psycopg://beatgrid@127.0.0.1:$port/$db"
    bg_log "PostGIS $("$BG_PG_BIN/psql" -X -tA -h 127.0.0.1 -p "$port" -U beatgrid -d "$db" \
        -c 'SELECT postgis_lib_version()') on PostgreSQL $v at 127.0.0.1:$port ($BEATGRID_TEST_PG_URL)"
}

bg_pg_stop() {
    [ -n "$BG_PG_DIR" ] && [ -d "$BG_PG_DIR" ] || return 0
    if [ -f "$BG_PG_DIR/data/postmaster.pid" ]; then
        (cd "$BG_PG_DIR" && "${BG_PG_RUN[@]}" "$BG_PG_BIN/pg_ctl" -D "$BG_PG_DIR/data" -m fast -w \
            -t 30 -s stop) || bg_log "pg_ctl stop failed (server log: $BG_PG_DIR/server.log)"
    fi
    rm -rf "$BG_PG_DIR"
    bg_log "PostgreSQL stopped and $BG_PG_DIR removed"
    BG_PG_DIR=""
}
