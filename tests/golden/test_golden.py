"""Golden-output test: the current code against the recorded behaviour of commit 68e39c3.

Each scenario group of ``record.py`` (command line and HTTP, on a copy of the sample
district) runs in ``tmp_path`` and every step is compared with
``tests/golden/data/<group>/<NN>-<step>.json.gz``. A difference fails with the step,
the key and the first differing lines or rows. Re-record only when behaviour changes
on purpose: see ``tests/golden/README.md``.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _load_record():
    name = "beatgrid_golden_record"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "record.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


record = _load_record()

#: Differences shown at most per step, rows shown at most per layer.
MAX_DIFFS = 12
MAX_ROWS = 5
MAX_TEXT_LINES = 40


# --------------------------------------------------------------------------------------
# Readable differences
# --------------------------------------------------------------------------------------

def _short(value, width: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _is_frame(v) -> bool:
    return (isinstance(v, dict) and {"rows", "n_rows"} <= set(v)
            and ("columns" in v or "header" in v))


def _text_diff(path: str, exp: str, act: str) -> list[str]:
    lines = list(difflib.unified_diff(exp.splitlines(), act.splitlines(), "recorded",
                                      "current", n=1, lineterm=""))
    if len(lines) > MAX_TEXT_LINES:
        lines = lines[:MAX_TEXT_LINES] + [f"... ({len(lines) - MAX_TEXT_LINES} more lines)"]
    return [f"{path}: text differs:\n" + "\n".join("      " + line for line in lines)]


def _frame_diff(path: str, exp: dict, act: dict) -> list[str]:
    out = []
    for key in ("crs", "columns", "dtypes", "n_rows", "geometry_hashed", "header", "bom"):
        if exp.get(key) != act.get(key):
            out.append(f"{path}.{key}: recorded {_short(exp.get(key))}, "
                       f"current {_short(act.get(key))}")
    cols_e = exp.get("columns") or exp.get("header") or []
    cols_a = act.get("columns") or act.get("header") or []
    key_col = "id" if "id" in cols_e and "id" in cols_a else None

    def keyed(rows, cols):
        if key_col is None:
            return dict(enumerate(rows))
        i = cols.index(key_col)
        return {r[i]: r for r in rows}

    def where(k, row):
        if key_col is not None:
            return f"row {key_col}={k}"
        return f"row {k} ({', '.join(str(c) for c in row[:2])}...)"

    rows_e = keyed(exp["rows"], cols_e)
    rows_a = keyed(act["rows"], cols_a)
    shown = 0
    missing = [k for k in rows_e if k not in rows_a]
    extra = [k for k in rows_a if k not in rows_e]
    if missing:
        out.append(f"{path}: {len(missing)} recorded row(s) missing, e.g. "
                   f"{_short(missing[:MAX_ROWS])}")
    if extra:
        out.append(f"{path}: {len(extra)} new row(s), e.g. {_short(extra[:MAX_ROWS])}")
    differing = [k for k in rows_e if k in rows_a and rows_e[k] != rows_a[k]]
    for k in differing:
        if shown >= MAX_ROWS:
            out.append(f"{path}: ... {len(differing) - shown} more differing row(s)")
            break
        re_, ra = rows_e[k], rows_a[k]
        if cols_e == cols_a and len(re_) == len(ra):
            cells = [f"{c}: {_short(x, 100)} -> {_short(y, 100)}"
                     for c, x, y in zip(cols_e, re_, ra) if x != y]
            out.append(f"{path} {where(k, re_)}: " + "; ".join(cells))
        else:
            out.append(f"{path} {where(k, re_)}: recorded {_short(re_)}, current {_short(ra)}")
        shown += 1
    if not out and exp != act:
        out.append(f"{path}: frames differ (row order?)")
    return out


def diff(exp, act, path: str = "") -> list[str]:
    """Human-readable differences between a recorded and a current value."""
    if exp == act:
        return []
    if _is_frame(exp) and _is_frame(act):
        return _frame_diff(path, exp, act)
    if isinstance(exp, dict) and isinstance(act, dict):
        out = []
        for k in exp:
            if k not in act:
                out.append(f"{path}.{k}: missing now (recorded {_short(exp[k])})")
            elif exp[k] != act[k]:
                out.extend(diff(exp[k], act[k], f"{path}.{k}" if path else str(k)))
        for k in act:
            if k not in exp:
                out.append(f"{path}.{k}: new (current {_short(act[k])})")
        return out
    if isinstance(exp, list) and isinstance(act, list):
        out = []
        if len(exp) != len(act):
            out.append(f"{path}: {len(exp)} items recorded, {len(act)} now")
        for i, (x, y) in enumerate(zip(exp, act)):
            if x != y:
                out.extend(diff(x, y, f"{path}[{i}]"))
                if len(out) >= MAX_DIFFS:
                    break
        return out
    if isinstance(exp, str) and isinstance(act, str) and ("\n" in exp or "\n" in act):
        return _text_diff(path, exp, act)
    return [f"{path}: recorded {_short(exp)}, current {_short(act)}"]


def compare_steps(group: str, expected: list[tuple[str, dict]],
                  actual: list[tuple[str, dict]]) -> list[str]:
    """Every difference, per step, between the recorded and the current run of a group."""
    problems = []
    if [n for n, _ in expected] != [n for n, _ in actual]:
        problems.append(f"{group}: steps differ:\n    recorded {[n for n, _ in expected]}"
                        f"\n    current  {[n for n, _ in actual]}")
    for (name_e, exp), (name_a, act) in zip(expected, actual):
        if exp == act:
            continue
        lines = diff(exp, act)
        if len(lines) > MAX_DIFFS:
            lines = lines[:MAX_DIFFS] + [f"... ({len(lines) - MAX_DIFFS} more differences)"]
        where = name_e if name_e == name_a else f"{name_e} (current: {name_a})"
        what = exp.get("argv") or [exp.get("method"), exp.get("url"), exp.get("params"),
                                   exp.get("body")]
        problems.append(f"step {group}/{where} {_short(what, 200)}:\n  " + "\n  ".join(lines))
    return problems


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------

def test_recorded_groups_match_the_scenario():
    """Every group of the scenario has recorded data and nothing stale is left."""
    recorded = {p.name for p in record.DATA.iterdir() if p.is_dir()}
    assert recorded == set(record.GROUPS), (
        f"recorded {sorted(recorded)} but the scenario has {sorted(record.GROUPS)}: "
        "re-record (tests/golden/README.md)")


@pytest.mark.parametrize("group", list(record.GROUPS))
def test_golden(group, tmp_path):
    folder = record.DATA / group
    files = sorted(folder.glob("*.json.gz")) if folder.is_dir() else []
    if not files:
        pytest.fail(f"no recorded data in {folder}: run tests/golden/record.py", pytrace=False)
    if group == "cli_osm" and record.osm_test_pbf() is None:
        pytest.skip("pyrosm's test extract (pyrosm.get_data('test_pbf')) is not available")
    expected = [(p.name, record.load(p)) for p in files]
    actual = record.run_group(group, tmp_path / "work")
    problems = compare_steps(group, expected, actual)
    if problems:
        pytest.fail(f"{len(problems)} step(s) of {group} differ from the golden record "
                    f"(tests/golden/data/{group}):\n\n" + "\n\n".join(problems), pytrace=False)
