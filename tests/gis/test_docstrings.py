"""Run the examples in every module's docstrings (numpydoc "Examples" sections).

The examples run from the repository root so they can use the committed sample
project ``sample-geodata/ningbo-jiangbei.gpkg``.
"""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import beatgrid.api
import beatgrid.gis
import beatgrid.layers

ROOT = Path(__file__).resolve().parents[2]


#: Alembic's scripts run inside Alembic only (its environment and the migrations).
ALEMBIC_SCRIPTS = ("beatgrid.gis.io.migrations.env", "beatgrid.gis.io.migrations.versions")


def _modules():
    for package in (beatgrid.gis, beatgrid.layers, beatgrid.api):
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            if not info.name.startswith(ALEMBIC_SCRIPTS):
                yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
