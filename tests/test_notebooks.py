"""The notebooks in ``notebooks/`` run top to bottom on the sample district.

Every ``notebooks/*.ipynb`` is executed with nbclient on an ipykernel kernel started
from *this* interpreter (``sys.executable``: never a kernelspec installed elsewhere),
with the notebook's folder as working directory (as Jupyter does) and its maps written
to a temporary folder (``BEATGRID_NOTEBOOK_OUT``). The test fails on any cell error,
showing the cell and its traceback.

Every notebook starts with the same set-up cell: it opens the project with
``beatgrid.gis.Project`` (the sample, or ``BEATGRID_PROJECT``) and defines ``IS_SAMPLE``,
``OUT`` and ``passed``; the notebooks then go through ``project`` (layers, settings,
``project.grids`` / ``.coverage`` / ``.policing``), never the path-based helpers of
before the restructuring (:data:`OLD_HELPERS`).

The notebooks check their own numbers: each section ends with ``assert`` lines on the
sample's documented patterns (households, cameras inside estates, the understaffed
beats, ...) and checks that hold on any project (the staffing rules recomputed by hand,
roll-ups adding up, ...), followed by ``passed("section")``, which prints
``checks passed: section (with the sample's patterns)``. The test counts those lines in
the output, so a section whose sample checks were skipped (e.g. because the notebook did
not recognise the sample project) fails too. It also checks that every map saved is offline (no external URL),
that the kernel never imported matplotlib (not a dependency of BeatGrid), and that the
notebooks are committed clean (no outputs, no execution counts).

When no kernel can be started in the environment (ipykernel or nbclient missing,
sockets refused), the code cells are run in-process with ``exec()`` instead, the last
expression of a cell rendered as Jupyter would (``_repr_html_``), with a warning that
says why; ``BEATGRID_NOTEBOOK_INPROCESS=1`` forces that mode. A kernel that starts but
then dies or fails a cell is a failure, never a reason to fall back.

Dependencies: ``nbclient``, ``nbformat``, ``ipykernel`` (the ``test`` extra).
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
#: Seconds one cell may take (the slowest, Gi* with 999 permutations, takes about 3 s).
CELL_TIMEOUT = 180
#: What the notebooks' ``passed(section)`` prints on the sample project.
CHECK_LINE = re.compile(r"^checks passed: .+ \(with the sample's patterns\)$", re.M)
#: Path-based helpers the notebooks used before ``Project`` (issue 8); none may come back.
OLD_HELPERS = ("find_repo_root", "read_project", "read_meta", "project_info", "load_settings",
               "band_from_settings", "coverage_settings", "beatgrid.gis.io.project")
PROBE = ("import json as _j, sys as _s\n"
         "print('BEATGRID-PROBE ' + _j.dumps({'executable': _s.executable, "
         "'matplotlib': 'matplotlib' in _s.modules}))")


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _code(nb: dict) -> list[str]:
    """The sources of the notebook's code cells."""
    return [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]


def _expected_checks(nb: dict) -> int:
    """How many ``passed("...")`` calls (one per checked section) the notebook makes."""
    return sum(len(re.findall(r"^passed\(", _source(c), re.M)) for c in nb["cells"]
               if c["cell_type"] == "code")


@pytest.fixture
def notebook_env(monkeypatch, tmp_path):
    """The sample project, maps into a temporary folder."""
    monkeypatch.delenv("BEATGRID_PROJECT", raising=False)
    out = tmp_path / "maps"
    monkeypatch.setenv("BEATGRID_NOTEBOOK_OUT", str(out))
    return out


def test_notebooks_are_listed_in_the_readme():
    assert len(NOTEBOOKS) >= 2, "notebooks/*.ipynb missing"
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"notebooks/README.md does not describe {path.name}"


def test_notebooks_start_with_the_same_project_cell():
    first = {path.name: _code(_read(path))[0] for path in NOTEBOOKS}
    model, setup = NOTEBOOKS[0].name, first[NOTEBOOKS[0].name]
    assert "Project.open(" in setup and "BEATGRID_PROJECT" in setup and "IS_SAMPLE" in setup
    for name, source in first.items():
        assert source == setup, f"{name}: the first code cell is not that of {model} (copy it)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_goes_through_project(path):
    code = "\n".join(_code(_read(path))[1:])
    old = [name for name in OLD_HELPERS if re.search(rf"\b{re.escape(name)}\b", code)]
    assert not old, f"{path.name} uses {old}: open the project once (the set-up cell) and " \
        "use project.layer / project.read / project.config / project.<capability>"
    assert "Project.open(" not in code, f"{path.name} opens the project again: use `project`"


@pytest.mark.parametrize(("chosen", "sample"), [(None, True), ("relative", True),
                                                ("copy", False)])
def test_setup_cell_opens_the_chosen_project(chosen, sample, monkeypatch, tmp_path):
    """``BEATGRID_PROJECT``: a path relative to the repository or absolute; IS_SAMPLE only
    on the committed sample (a copy of it elsewhere is another project)."""
    pytest.importorskip("IPython")
    committed = ROOT / "sample-geodata" / "ningbo-jiangbei.gpkg"
    target = {None: committed, "relative": committed, "copy": tmp_path / "mine.gpkg"}[chosen]
    if chosen == "copy":
        target.write_bytes(committed.read_bytes())
    if chosen is None:
        monkeypatch.delenv("BEATGRID_PROJECT", raising=False)
    else:
        monkeypatch.setenv("BEATGRID_PROJECT", "sample-geodata/ningbo-jiangbei.gpkg"
                           if chosen == "relative" else str(target))
    monkeypatch.setenv("BEATGRID_NOTEBOOK_OUT", str(tmp_path / "maps"))
    monkeypatch.chdir(tmp_path)                       # any working directory
    namespace: dict = {"__name__": "__main__"}
    import pandas as pd   # the cell sets display options: restore them afterwards

    with contextlib.redirect_stdout(io.StringIO()), \
            pd.option_context("display.max_columns", None, "display.width", None):
        exec(compile(_code(_read(NOTEBOOKS[0]))[0], "set-up cell", "exec"), namespace)
    assert namespace["IS_SAMPLE"] is sample
    assert Path(namespace["project"].location).resolve() == target.resolve()
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
    assert _expected_checks(nb) >= 1, f"{path.name} checks none of its results"
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.read(path, as_version=4))


# --------------------------------------------------------------------------------------
# Running a notebook
# --------------------------------------------------------------------------------------

class KernelUnavailable(Exception):
    """No kernel could be started (not: a cell failed)."""


def _run_with_kernel(path: Path) -> tuple[str, dict]:
    """Execute the notebook in a kernel of this interpreter; return (output text, probe)."""
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
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            elif out.get("output_type") == "error":   # allow_errors=False: not expected
                pytest.fail(f"{path.name}: {out['ename']}: {out['evalue']}", pytrace=False)
    output = "".join(text)
    probe = json.loads(re.search(r"^BEATGRID-PROBE (.*)$", output, re.M).group(1))
    return output, probe


def _render(value, stream) -> None:
    """What Jupyter shows for a value: its HTML (rendering Stylers and maps), else repr."""
    if value is None:
        return
    html = getattr(value, "_repr_html_", None)
    print(html() if callable(html) else repr(value), file=stream)


def _run_in_process(path: Path, monkeypatch) -> tuple[str, dict]:
    """Run the code cells with exec() in a fresh namespace, cwd = the notebook's folder."""
    nb = _read(path)
    stream = io.StringIO()

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
    had_matplotlib = "matplotlib" in sys.modules
    monkeypatch.chdir(path.parent)
    namespace = {"__name__": "__main__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = _source(cell)
        tree = ast.parse(source, filename=f"{path.name} cell {i}")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        try:
            with contextlib.redirect_stdout(stream):
                exec(compile(tree, f"{path.name} cell {i}", "exec"), namespace)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), f"{path.name} cell {i}",
                                         "eval"), namespace)
                    _render(value, stream)
        except Exception as exc:
            pytest.fail(f"{path.name} cell {i} failed: {type(exc).__name__}: {exc}\n"
                        f"--- cell ---\n{source}", pytrace=False)
    probe = {"executable": sys.executable,
             "matplotlib": "matplotlib" in sys.modules and not had_matplotlib}
    return stream.getvalue(), probe


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_checks_its_results(path, notebook_env, monkeypatch):
    if os.environ.get("BEATGRID_NOTEBOOK_INPROCESS", "").strip() == "1":
        output, probe = _run_in_process(path, monkeypatch)
    else:
        try:
            output, probe = _run_with_kernel(path)
        except KernelUnavailable as exc:
            warnings.warn(f"no Jupyter kernel ({exc}): {path.name} was run in-process "
                          "with exec() instead", stacklevel=1)
            output, probe = _run_in_process(path, monkeypatch)

    assert Path(probe["executable"]).resolve() == Path(sys.executable).resolve()
    assert not probe["matplotlib"], f"{path.name} imported matplotlib (not a dependency)"
    expected = _expected_checks(_read(path))
    passed = CHECK_LINE.findall(output)
    assert len(passed) == expected, \
        f"{path.name}: {len(passed)} of {expected} check cells passed: {passed}"
    maps = sorted(notebook_env.glob("*.html"))
    assert maps, f"{path.name} saved no map into BEATGRID_NOTEBOOK_OUT"
    for m in maps:
        html = m.read_text(encoding="utf-8")
        assert "L.map(" in html, f"{m.name} is not a Leaflet map"
        assert external_resources(html) == [], f"{m.name} loads from the internet"
