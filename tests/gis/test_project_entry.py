"""``Project``: the one entry point — opening, configuration, layers and their cache."""

import pickle

import pytest

from beatgrid.gis import Config, NotFoundError, PolicyError, Project, default_config
from beatgrid.gis.config import Frozen, thaw
from beatgrid.gis.io.store import Store, open_store

SAMPLE = "sample-geodata/ningbo-jiangbei.gpkg"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch, request):
    monkeypatch.chdir(request.config.rootpath)


def test_open_reads_the_sample():
    project = Project.open(SAMPLE)
    assert isinstance(project.store, Store)
    assert len(project.layer("communities")) == 12
    assert int(project.layer("buildings")["households"].sum()) == 29_984
    assert project.layer("buildings").crs.to_epsg() == 4490


def test_missing_project_is_not_found_and_create_makes_one(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        Project.open(tmp_path / "none.gpkg")
    project = Project.open(tmp_path / "new.gpkg", create=True)
    assert len(project.layer("buildings")) == 0
    assert "buildings" in project.store.list_layers()


def test_layers_are_copies_and_the_cache_follows_writes(tmp_path):
    project = Project.sample(tmp_path / "p.gpkg")
    cams = project.layer("cameras")
    cams["range_m"] = 1.0                           # the caller's copy only
    assert (project.layer("cameras")["range_m"] != 1.0).any()
    before = project.store.state()
    project.write({"cameras": cams.iloc[:10]})
    assert project.store.state() != before
    assert len(project.layer("cameras")) == 10      # re-read after the write


def test_settings_load_once_frozen_and_overridable():
    project = Project.open(SAMPLE, grids={"band": {"max_households": 480}},
                           policy={"floating_managers": {"floating_per_manager": 800}})
    assert project.config.grids["band"]["max_households"] == 480
    assert project.config.policy["floating_managers"]["floating_per_manager"] == 800
    assert default_config().grids["band"]["max_households"] == 500   # shipped one unchanged
    with pytest.raises(TypeError):
        project.config.grids["band"]["max_households"] = 1            # frozen
    assert isinstance(project.config.grids, Frozen)
    again = pickle.loads(pickle.dumps(project.config))                # worker processes
    assert thaw(again.grids) == thaw(project.config.grids)


@pytest.mark.parametrize("kwargs, words", [
    ({"grids": {"band": {"min": 320}}}, "unknown key 'band.min'"),
    ({"grids": {"band": {"min_households": "many"}}}, "band.min_households"),
    ({"settings": {"gridz": {}}}, "unknown section 'gridz'"),
    ({"policy": "no-such-policy.toml"}, "does not exist"),
])
def test_bad_settings_name_key_value_and_fix(kwargs, words):
    with pytest.raises(PolicyError) as err:
        Project.open(SAMPLE, **kwargs)
    assert words in str(err.value) and err.value.fix


def test_settings_file_with_sections(tmp_path):
    path = tmp_path / "city.toml"
    path.write_text("[grids.band]\nmin_households = 280\n\n[policy.officers]\n"
                    "two_officer_population = 8000\n", encoding="utf-8")
    config = Config.load(path)
    assert config.grids["band"]["min_households"] == 280
    assert config.policy["officers"]["two_officer_population"] == 8000


def test_with_config_keeps_the_store():
    project = Project.open(SAMPLE)
    other = project.with_config(grids={"band": {"min_households": 320}})
    assert other.store is project.store and other.config.grids["band"]["min_households"] == 320
    assert project.config.grids["band"]["min_households"] == 300


def test_open_store_picks_by_target():
    assert type(open_store(SAMPLE)).__name__ == "GeoPackageStore"
    assert type(open_store("postgresql://u@localhost/db")).__name__ == "PostGISStore"
