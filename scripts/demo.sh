#!/usr/bin/env bash
# Set BeatGrid up on a Debian/Ubuntu machine and run the main job on the sample data.
#
#   bash scripts/demo.sh
#
# 1. python3 + python3-venv via apt when missing (`apt-get update` once, only then);
#    as root, or through sudo otherwise.
# 2. .venv with `pip install -e .` (skipped when pyproject.toml did not change).
# 3. The DEMO STEPS below, each printed before it runs; the first failure stops the demo.
#
# Knobs: those of scripts/_bootstrap.sh (BEATGRID_VENV, BEATGRID_PYTHON, BEATGRID_FORCE_PIP).
# Network: Debian mirrors and PyPI only.
set -euo pipefail
# shellcheck source=scripts/_bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
cd "$BG_ROOT"

SAMPLE="sample-geodata/ningbo-jiangbei.gpkg"

# ======================================================================================
# DEMO STEPS: one shell command per entry, run in order from the repository root with
# .venv/bin first on PATH (so `beatgrid` is the installed command). Extend here.
# ======================================================================================
# The committed sample stays untouched: the demo works on a copy in out/.
PROJECT="out/jiangbei.gpkg"
DEMO_STEPS=(
    "mkdir -p out && cp $SAMPLE $PROJECT"
    "beatgrid validate --project $PROJECT"
    "beatgrid info --project $PROJECT"
    "beatgrid grids generate --project $PROJECT --map out/grids.html"
    "beatgrid grids check --project $PROJECT"
    "beatgrid staffing --project $PROJECT --out out/staffing.csv --map out/staffing.html"
    "beatgrid alignment --project $PROJECT --map out/alignment.html"
    "beatgrid hotspots --project $PROJECT --map out/hotspots.html"
    "beatgrid coverage --project $PROJECT --map out/coverage.html"
    "beatgrid cameras recommend --project $PROJECT --budget 20 --map out/camera-proposals.html"
)
# ======================================================================================

bg_venv ""
export PATH="$BG_VENV/bin:$PATH"
[ -f "$SAMPLE" ] || bg_die "sample project $SAMPLE is missing from the checkout (regenerate it: .venv/bin/beatgrid sample --out $SAMPLE)"

n=0
for step in "${DEMO_STEPS[@]}"; do
    n=$((n + 1))
    printf '\n==> [%d/%d] %s\n' "$n" "${#DEMO_STEPS[@]}" "$step"
    bash -c "$step" || bg_die "demo step $n failed: $step"
done
printf '\nDemo finished: %d step(s) ran. Results in out/: the project with its derived layers\n(%s, open it in QGIS), staffing.csv and offline HTML maps:\n' "${#DEMO_STEPS[@]}" "$PROJECT"
ls -1 out/*.html | sed 's/^/  /'
