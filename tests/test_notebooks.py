"""The notebooks in ``notebooks/`` run top to bottom on the sample district, and are checked.

Every ``notebooks/*.ipynb`` is executed with nbclient on an ipykernel kernel started
from *this* interpreter (``sys.executable``: never a kernelspec installed elsewhere),
with the notebook's folder as working directory (as Jupyter does), its maps written to
a temporary folder (``BEATGRID_NOTEBOOK_OUT``) and matplotlib on its non-interactive
inline backend (``MPLBACKEND``: figures become PNG outputs). The test fails on any cell
error, showing the cell and its traceback.

Every notebook starts with the same set-up cell: it opens ``project`` with
``beatgrid.gis.Project`` (``Project.sample()``, or ``BEATGRID_PROJECT``) and defines
``OUT``; the notebooks then go through ``project`` (layers, settings,
``project.grids`` / ``.coverage`` / ``.policing``), never the path-based helpers of
before the restructuring (:data:`OLD_HELPERS`).

The notebooks show; the tests check. The checks of notebook ``NN_name.ipynb`` are in
``tests/notebook_NN_name.py``: the test appends that file to the notebook as a last cell,
so it runs in the notebook's namespace on the variables the notebook computed (the
sample's patterns: ``docs/sample.md``; the rules recomputed by hand; totals). Each of its
sections ends with ``passed("section")``, which prints ``checks passed: section (with the
sample's patterns)``; the test counts those lines. It also checks that every chart was
drawn (a PNG per ``plt.subplots(``), that every map saved is offline (no external URL),
and that the notebooks are committed clean (no outputs, no execution counts).

When no kernel can be started in the environment (ipykernel or nbclient missing,
sockets refused), the code cells are run in-process with ``exec()`` instead (matplotlib
on Agg, figures counted and closed at the end of each cell), the last expression of a
cell rendered as Jupyter would (``_repr_html_``), with a warning that says why;
``BEATGRID_NOTEBOOK_INPROCESS=1`` forces that mode. A kernel that starts but then dies
or fails a cell is a failure, never a reason to fall back.

Dependencies: ``nbclient``, ``nbformat``, ``ipykernel``, ``matplotlib`` (the ``test``
extra).
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import io
import json
import os
import re
import sys
import types
import warnings
from pathlib import Path

import pytest

from beatgrid.layers.base import external_resources

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Seconds one cell may take (the slowest, the HiGHS placement, takes a few seconds).
CELL_TIMEOUT = 180
#: What the check cells' ``passed(section)`` prints.
CHECK_LINE = re.compile(r"^checks passed: .+ \(with the sample's patterns\)$", re.M)
#: Path-based helpers the notebooks used before ``Project`` (issue 8); none may come back.
OLD_HELPERS = ("find_repo_root", "read_project", "read_meta", "project_info", "load_settings",
               "band_from_settings", "coverage_settings", "beatgrid.gis.io.project")
#: matplotlib backend of the kernel: Jupyter's inline one (non-interactive, PNG outputs).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
PROBE = ("import json as _j, sys as _s\n"
         "_mpl = _s.modules.get('matplotlib')\n"
         "print('BEATGRID-PROBE ' + _j.dumps({'executable': _s.executable, "
         "'backend': _mpl.get_backend() if _mpl else None}))")


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _code(nb: dict) -> list[str]:
    """The sources of the notebook's code cells."""
    return [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]


def checks_of(path: Path) -> Path:
    """The check module of a notebook: ``tests/notebook_<stem>.py``."""
    return Path(__file__).with_name(f"notebook_{path.stem}.py")


def _expected_checks(path: Path) -> int:
    """How many ``passed("...")`` calls (one per checked section) the check module makes."""
    return len(re.findall(r"^passed\(", checks_of(path).read_text(encoding="utf-8"), re.M))


def _expected_figures(nb: dict) -> int:
    """Charts the notebook draws: one per ``plt.subplots(`` in its code."""
    return sum(len(re.findall(r"\bplt\.subplots\(", src)) for src in _code(nb))


@pytest.fixture
def notebook_env(monkeypatch, tmp_path):
    """The sample project, maps into a temporary folder, the inline matplotlib backend."""
    monkeypatch.delenv("BEATGRID_PROJECT", raising=False)
    out = tmp_path / "maps"
    monkeypatch.setenv("BEATGRID_NOTEBOOK_OUT", str(out))
    monkeypatch.setenv("MPLBACKEND", INLINE_BACKEND)
    return out


def test_notebooks_are_listed_in_the_readme():
    assert len(NOTEBOOKS) >= 6, "notebooks/*.ipynb missing"
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    docs = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"notebooks/README.md does not describe {path.name}"
        assert path.name in docs, f"docs/notebooks.md does not list {path.name}"


def test_notebooks_start_with_the_same_project_cell():
    first = {path.name: _code(_read(path))[0] for path in NOTEBOOKS}
    model, setup = NOTEBOOKS[0].name, first[NOTEBOOKS[0].name]
    assert "Project.sample()" in setup and "BEATGRID_PROJECT" in setup and "OUT =" in setup
    assert len(setup.splitlines()) <= 25, "the set-up cell is boilerplate: keep it short"
    for name, source in first.items():
        assert source == setup, f"{name}: the first code cell is not that of {model} (copy it)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_goes_through_project_and_leaves_the_checks_to_the_tests(path):
    nb = _read(path)
    code = "\n".join(_code(nb)[1:])
    old = [name for name in OLD_HELPERS if re.search(rf"\b{re.escape(name)}\b", code)]
    assert not old, f"{path.name} uses {old}: open the project once (the set-up cell) and " \
        "use project.layer / project.read / project.config / project.<capability>"
    reopened = [line for line in code.splitlines()
                if "Project.open(" in line and "create=True" not in line]
    assert not reopened, f"{path.name} opens the project again (use `project`; only a new " \
        f"project, create=True, is opened): {reopened}"
    assert not re.search(r"^\s*assert\b", code, re.M), \
        f"{path.name} checks its own results: move the asserts to {checks_of(path).name}"
    assert "passed(" not in code and "IS_SAMPLE" not in code, \
        f"{path.name}: checks belong in {checks_of(path).name}"
    assert checks_of(path).exists(), f"{path.name} has no {checks_of(path).name}"
    assert _expected_checks(path) >= 1, f"{checks_of(path).name} checks nothing"
    assert _expected_figures(nb) >= 1, f"{path.name} draws no chart"
    assert "█" not in code, f"{path.name}: draw a chart, not a text histogram"


@pytest.mark.parametrize("chosen", [None, "relative", "copy"])
def test_setup_cell_opens_the_chosen_project(chosen, monkeypatch, tmp_path):
    """``BEATGRID_PROJECT``: a path relative to the repository or absolute; by default a
    writable copy of the sample (the committed file is never written)."""
    pytest.importorskip("IPython")
    committed = ROOT / "sample-geodata" / "ningbo-jiangbei.gpkg"
    if chosen == "copy":
        target = tmp_path / "mine.gpkg"
        target.write_bytes(committed.read_bytes())
        monkeypatch.setenv("BEATGRID_PROJECT", str(target))
    elif chosen == "relative":
        monkeypatch.setenv("BEATGRID_PROJECT", "sample-geodata/ningbo-jiangbei.gpkg")
    else:
        monkeypatch.delenv("BEATGRID_PROJECT", raising=False)
    monkeypatch.setenv("BEATGRID_NOTEBOOK_OUT", str(tmp_path / "maps"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)                       # any working directory
    namespace: dict = {"__name__": "__main__"}
    import matplotlib

    with contextlib.redirect_stdout(io.StringIO()), \
            matplotlib.rc_context():                  # the cell sets rcParams: restore them
        exec(compile(_code(_read(NOTEBOOKS[0]))[0], "set-up cell", "exec"), namespace)
    where = Path(namespace["project"].location).resolve()
    if chosen is None:
        assert where != committed.resolve() and where.name == committed.name
        assert where.read_bytes() == committed.read_bytes()
    else:
        assert where == (committed if chosen == "relative" else target).resolve()
    assert namespace["OUT"] == tmp_path / "maps"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path):
    nb = _read(path)
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb["cells"]):
        where = f"{path.name} cell {i}"
        assert "execution" not in cell.get("metadata", {}), f"{where}: timing metadata"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"{where} has outputs: clear them before committing (Kernel > Restart and " \
                "Clear Outputs, or `jupyter nbconvert --clear-output --inplace`)"
    assert path.stat().st_size < 100_000
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.read(path, as_version=4))


# --------------------------------------------------------------------------------------
# Running a notebook
# --------------------------------------------------------------------------------------

class KernelUnavailable(Exception):
    """No kernel could be started (not: a cell failed)."""


def _run_with_kernel(path: Path) -> tuple[str, dict, int]:
    """Execute the notebook and its checks in a kernel of this interpreter.

    Returns the text output, the probe and the number of PNG images shown.
    """
    try:
        import nbclient
        import nbformat
        from jupyter_client.kernelspec import KernelSpec
        from jupyter_client.manager import AsyncKernelManager
        import ipykernel  # noqa: F401  (the kernel runs it)
    except ImportError as exc:
        raise KernelUnavailable(f"{exc.name or exc} is not installed") from exc

    class ThisInterpreter(AsyncKernelManager):
        """A kernel running sys.executable, whatever kernelspecs are installed."""

        @property
        def kernel_spec(self):
            return KernelSpec(name="python3", display_name="BeatGrid test kernel",
                              language="python", metadata={},
                              argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                    "{connection_file}"])

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(checks_of(path).read_text(encoding="utf-8")))
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, startup_timeout=90, kernel_name="python3",
        kernel_manager_class=ThisInterpreter, allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except (nbclient.exceptions.CellExecutionError, nbclient.exceptions.CellTimeoutError) as exc:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))     # no terminal colours
        pytest.fail(f"{path.name}: a cell failed\n{plain}", pytrace=False)
    except Exception as exc:
        if any(c.get("execution_count") for c in nb.cells if c.cell_type == "code"):
            raise   # the kernel ran and then died: a real failure
        atexit.unregister(client._cleanup_kernel)   # nbclient leaves it behind on a failed start
        raise KernelUnavailable(f"{type(exc).__name__}: {exc}") from exc
    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            elif out.get("output_type") == "error":   # allow_errors=False: not expected
                pytest.fail(f"{path.name}: {out['ename']}: {out['evalue']}", pytrace=False)
            elif "image/png" in out.get("data", {}):
                images += 1
    output = "".join(text)
    probe = json.loads(re.search(r"^BEATGRID-PROBE (.*)$", output, re.M).group(1))
    return output, probe, images


def _render(value, stream) -> None:
    """What Jupyter shows for a value: its HTML (rendering Stylers and maps), else repr."""
    if value is None:
        return
    html = getattr(value, "_repr_html_", None)
    print(html() if callable(html) else repr(value), file=stream)


def _run_in_process(path: Path, monkeypatch) -> tuple[str, dict, int]:
    """Run the code cells and the checks with exec() in a fresh namespace, cwd = the
    notebook's folder; matplotlib on Agg, the figures of each cell counted and closed."""
    nb = _read(path)
    stream = io.StringIO()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    shown = [0]

    def flush(*_, **__):
        shown[0] += len(plt.get_fignums())
        plt.close("all")

    monkeypatch.setattr(plt, "show", flush)

    def display(*objs, **_):
        for obj in objs:
            _render(obj, stream)

    try:
        import IPython.display
        monkeypatch.setattr(IPython.display, "display", display)
    except ImportError:
        ipython = types.ModuleType("IPython")
        ipython.display = types.ModuleType("IPython.display")
        ipython.display.display = display
        monkeypatch.setitem(sys.modules, "IPython", ipython)
        monkeypatch.setitem(sys.modules, "IPython.display", ipython.display)
    monkeypatch.chdir(path.parent)
    namespace = {"__name__": "__main__"}
    sources = [(f"{path.name} cell {i}", _source(c)) for i, c in enumerate(nb["cells"])
               if c["cell_type"] == "code"]
    sources.append((checks_of(path).name, checks_of(path).read_text(encoding="utf-8")))
    for where, source in sources:
        tree = ast.parse(source, filename=where)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        try:
            with contextlib.redirect_stdout(stream), matplotlib.rc_context():
                exec(compile(tree, where, "exec"), namespace)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), where, "eval"), namespace)
                    _render(value, stream)
                flush()
        except Exception as exc:
            pytest.fail(f"{where} failed: {type(exc).__name__}: {exc}\n--- cell ---\n{source}",
                        pytrace=False)
    probe = {"executable": sys.executable, "backend": matplotlib.get_backend()}
    return stream.getvalue(), probe, shown[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_its_checks_pass(path, notebook_env, monkeypatch):
    if os.environ.get("BEATGRID_NOTEBOOK_INPROCESS", "").strip() == "1":
        output, probe, images = _run_in_process(path, monkeypatch)
    else:
        try:
            output, probe, images = _run_with_kernel(path)
        except KernelUnavailable as exc:
            warnings.warn(f"no Jupyter kernel ({exc}): {path.name} was run in-process "
                          "with exec() instead", stacklevel=1)
            output, probe, images = _run_in_process(path, monkeypatch)

    assert Path(probe["executable"]).resolve() == Path(sys.executable).resolve()
    assert str(probe["backend"]).lower() in (INLINE_BACKEND, "agg"), \
        f"{path.name} ran matplotlib on an interactive backend: {probe['backend']}"
    expected = _expected_checks(path)
    passed = CHECK_LINE.findall(output)
    assert len(passed) == expected, \
        f"{path.name}: {len(passed)} of {expected} check sections passed: {passed}"
    charts = _expected_figures(_read(path))
    assert images >= charts, f"{path.name} drew {images} of its {charts} charts"
    maps = sorted(notebook_env.glob("*.html"))
    assert maps, f"{path.name} saved no map into BEATGRID_NOTEBOOK_OUT"
    for m in maps:
        html = m.read_text(encoding="utf-8")
        assert "L.map(" in html, f"{m.name} is not a Leaflet map"
        assert external_resources(html) == [], f"{m.name} loads from the internet"
