#!/usr/bin/env bash
# Type-check BeatGrid's core with mypy (the settings are in pyproject.toml [tool.mypy]).
#
#   bash scripts/mypy.sh                    # the whole core: beatgrid.gis
#   bash scripts/mypy.sh beatgrid.gis.grids # one package
#
# The repository keeps gis/ at the top while the installed name is beatgrid.gis
# (setuptools package-dir); mypy cannot follow the editable install's import hook, so
# this script gives it a temporary beatgrid/ folder whose gis is a link to gis/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${BEATGRID_VENV:-$ROOT/.venv}/bin/python"
[ -x "$PY" ] || PY=python3
SHIM="$(mktemp -d)"
trap 'rm -rf "$SHIM"' EXIT
mkdir -p "$SHIM/beatgrid"
: > "$SHIM/beatgrid/__init__.py"
ln -s "$ROOT/gis" "$SHIM/beatgrid/gis"
cd "$SHIM"
# One package: errors in the modules it imports are not reported (silent follow).
extra=()
[ $# -gt 0 ] && extra=(--follow-imports=silent)
exec "$PY" -m mypy --config-file "$ROOT/pyproject.toml" --cache-dir "$ROOT/.mypy_cache" \
    "${extra[@]}" -p "${1:-beatgrid.gis}"
