"""OGC API - Features Part 1: the Core and GeoJSON conformance classes, on the sample.

Written from the standard's abstract test suite (OGC 17-069r4, Annex A): the landing page
and its links, the conformance declaration, the collections and their extents, items with
``limit``, ``bbox``, ``datetime`` and paging through ``next``/``prev`` links, an item by
id and 404 for an unknown one, the GeoJSON media type and members. Deviations from the
suite, on purpose: a bad parameter answers 422 (the service's one status for bad input)
where the suite expects 400. Expected answers are computed from the GeoPackage with
pyogrio and shapely, never with BeatGrid. Also: ``GET /layers/{name}`` keeps its answers
(the features of the old path, in the stored order) and reads each layer once per state.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from beatgrid.api.rendering import geojson_text
from beatgrid.api.service import create_app
from beatgrid.gis.io.gpkg import GeoPackageStore
from beatgrid.gis.project import SAMPLE_PATH, Project

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
BOX = (121.5451, 29.9147, 121.5551, 29.9247)


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ogc") / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    Project.open(path).coverage.analyse(levels=False, save=True)  # derived layers too
    return path


@pytest.fixture(scope="module")
def client(project_path) -> TestClient:
    return TestClient(create_app(project_path))


def raw(path: Path, layer: str) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, layer=layer, fid_as_index=False)


def ids_in(path: Path, layer: str, box) -> list[str]:
    """Ids of the features of ``layer`` touching ``box``, in the stored order (shapely)."""
    df = raw(path, layer)
    hit = shapely.intersects(np.asarray(df.geometry.array), shapely.box(*box))
    return df.loc[hit, "id"].astype(str).tolist()


# -- landing page, conformance, collections ------------------------------------------

def test_landing_page_links_resolve(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    links = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    for rel in ("service-desc", "conformance", "data"):
        href = links[rel]["href"].replace("http://testserver", "")
        assert client.get(href).status_code == 200, rel


def test_conformance_declares_core_and_geojson(client):
    classes = client.get("/conformance").json()["conformsTo"]
    assert CORE in classes and GEOJSON_CLASS in classes


def test_collections_are_the_spatial_layers_with_extents(client, project_path):
    body = client.get("/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert "staff" not in ids  # a table without geometry
    assert ids[:3] == ["stations", "responsibility_areas", "beats"]
    assert {"blind_spots", "coverage_stats", "estate_risk", "camera_views"} <= set(ids)
    by_id = {c["id"]: c for c in body["collections"]}
    buildings = by_id["buildings"]
    assert buildings["itemType"] == "feature"
    assert "http://www.opengis.net/def/crs/OGC/1.3/CRS84" in buildings["crs"]
    (box,) = buildings["extent"]["spatial"]["bbox"]
    expected = raw(project_path, "buildings").total_bounds
    assert np.allclose(box, expected, atol=1e-9)
    assert any(link["rel"] == "items" for link in buildings["links"])
    assert "temporal" in by_id["incidents"]["extent"]
    assert by_id["grids"].get("extent") is None  # empty layer: no extent
    assert client.get("/collections/buildings").json() == buildings


def test_unknown_collection_and_table_are_404(client):
    for path in ("/collections/nosuch", "/collections/nosuch/items", "/collections/staff"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert set(r.json()) == {"error", "fix", "type"}


# -- items ---------------------------------------------------------------------------

def test_items_are_geojson_with_counts_and_limit(client, project_path):
    r = client.get("/collections/buildings/items", params={"limit": 7})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 7
    assert body["numberMatched"] == len(raw(project_path, "buildings"))
    for f in body["features"]:
        assert f["type"] == "Feature" and {"id", "geometry", "properties"} <= set(f)
        assert f["id"] == f["properties"]["id"]
    # the default page size
    assert client.get("/collections/cameras/items").json()["numberReturned"] == 100


def test_bbox_selects_exactly_the_touching_features(client, project_path):
    for layer in ("buildings", "streets", "estates", "cameras"):
        body = client.get(f"/collections/{layer}/items",
                          params={"bbox": ",".join(map(str, BOX)), "limit": 10000}).json()
        expected = ids_in(project_path, layer, BOX)
        assert [f["id"] for f in body["features"]] == expected, layer
        assert body["numberMatched"] == len(expected)


def test_paging_with_next_and_prev_links_visits_every_feature_once(client, project_path):
    expected = raw(project_path, "estates")["id"].tolist()
    url, seen, pages = "/collections/estates/items?limit=20", [], []
    while url:
        body = client.get(url).json()
        pages.append(body)
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else ""
    assert seen == expected and len(pages) == -(-len(expected) // 20)
    assert not any(link["rel"] == "prev" for link in pages[0]["links"])
    prev = [link["href"] for link in pages[1]["links"] if link["rel"] == "prev"][0]
    back = client.get(prev.replace("http://testserver", "")).json()
    assert [f["id"] for f in back["features"]] == expected[:20]
    beyond = client.get("/collections/estates/items", params={"offset": 10_000}).json()
    assert beyond["numberReturned"] == 0 and beyond["numberMatched"] == len(expected)


def test_datetime_filters_incidents(client, project_path):
    inc = raw(project_path, "incidents")
    times = pd.to_datetime(inc["occurred_at"])
    start, end = pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-31 23:59:59.999999")
    expected = inc.loc[(times >= start) & (times <= end), "id"].tolist()
    assert 0 < len(expected) < len(inc)
    body = client.get("/collections/incidents/items",
                      params={"datetime": "2025-03-01/2025-03-31", "limit": 5000}).json()
    assert [f["id"] for f in body["features"]] == expected
    after = client.get("/collections/incidents/items",
                       params={"datetime": "2025-12-01T00:00:00Z/..", "limit": 1}).json()
    assert after["numberMatched"] == int((times >= pd.Timestamp("2025-12-01")).sum())
    # a layer without time ignores it
    assert client.get("/collections/beats/items", params={"datetime": "2025-03-01"}
                      ).json()["numberMatched"] == 12


def test_property_filters_and_selection(client, project_path):
    beats = raw(project_path, "beats")
    body = client.get("/collections/beats/items",
                      params={"station_id": "S01", "properties": "id,name"}).json()
    assert [f["id"] for f in body["features"]] == \
        beats.loc[beats["station_id"] == "S01", "id"].tolist()
    assert all(set(f["properties"]) == {"id", "name"} for f in body["features"])
    estates = raw(project_path, "estates")
    old = client.get("/collections/estates/items", params={"is_old": "true", "limit": 1000})
    assert old.json()["numberMatched"] == int(estates["is_old"].astype(bool).sum()) > 0
    hh = client.get("/collections/buildings/items", params={"households": "120", "limit": 1000})
    bld = raw(project_path, "buildings")
    assert hh.json()["numberMatched"] == int((bld["households"] == 120).sum()) > 0


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 10_001}, {"offset": -1}, {"bbox": "1,2,3"},
    {"bbox": "121.6,29.9,121.5,29.95"}, {"datetime": "yesterday"},
    {"datetime": "2025-03-02/2025-03-01"}, {"properties": "id,nosuch"}, {"nosuch": "1"},
    {"households": "many"}, {"is_old": "maybe"}, {"f": "html"},
])
def test_bad_parameters_are_422_with_one_error_body(client, params):
    layer = "estates" if "is_old" in params else "buildings"
    r = client.get(f"/collections/{layer}/items", params=params)
    assert r.status_code == 422, params
    body = r.json()
    assert set(body) == {"error", "fix", "type"} and body["type"] == "InputError"


def test_item_by_id_and_unknown_item(client, project_path):
    r = client.get("/collections/buildings/items/BLD0005")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["id"] == "BLD0005" and feature["type"] == "Feature"
    in_page = client.get("/collections/buildings/items", params={"limit": 5}).json()
    assert in_page["features"][4]["geometry"] == feature["geometry"]
    assert any(link["rel"] == "collection" for link in feature["links"])
    missing = client.get("/collections/buildings/items/NOPE")
    assert missing.status_code == 404 and missing.json()["type"] == "NotFoundError"
    # derived layers: their own id column, or the row number
    risk = client.get("/collections/estate_risk/items", params={"limit": 1}).json()
    first = risk["features"][0]
    assert first["id"] == first["properties"]["estate_id"]
    views = client.get("/collections/camera_views/items", params={"limit": 2}).json()
    assert [f["id"] for f in views["features"]] == ["1", "2"]
    assert client.get("/collections/camera_views/items/2").json()["id"] == "2"


# -- /layers keeps its answers; reads are cached per state ----------------------------

def test_layers_answers_are_the_old_features_in_the_stored_order(client, project_path):
    store = GeoPackageStore(project_path)
    rng = np.random.default_rng(3)
    for layer in ("buildings", "streets", "estates", "incidents", "communities"):
        stored = raw(project_path, layer)["id"].tolist()
        for _ in range(4):
            x0, y0 = rng.uniform(121.533, 121.562), rng.uniform(29.907, 29.928)
            box = (x0, y0, x0 + rng.uniform(0.001, 0.01), y0 + rng.uniform(0.001, 0.01))
            old = json.loads(geojson_text(store.read_layer(layer, bbox=box)))["features"]
            new = client.get(f"/layers/{layer}",
                             params={"bbox": ",".join(map(str, box))}).json()["features"]
            old_by_id = {f["properties"]["id"]: f for f in old}
            assert sorted(old_by_id) == sorted(f["properties"]["id"] for f in new)
            assert all(old_by_id[f["properties"]["id"]] == f for f in new)
            order = [stored.index(f["properties"]["id"]) for f in new]
            assert order == sorted(order)
        whole = client.get(f"/layers/{layer}")
        assert whole.text == geojson_text(store.read_layer(layer))  # byte for byte


class CountingStore(GeoPackageStore):
    """A GeoPackage store counting whole-layer reads."""

    reads = 0

    def read_layer(self, name, *, bbox=None, where=None):
        type(self).reads += 1
        return super().read_layer(name, bbox=bbox, where=where)


def test_bbox_requests_read_the_layer_once_per_state(tmp_path):
    path = tmp_path / "p.gpkg"
    shutil.copyfile(SAMPLE_PATH, path)
    store = CountingStore(path)
    client = TestClient(create_app(Project(store)))
    for i in range(10):
        box = f"{121.54 + i * 0.001},29.91,{121.55 + i * 0.001},29.92"
        assert client.get("/layers/key_places", params={"bbox": box}).status_code == 200
        assert client.get("/collections/key_places/items", params={"bbox": box}).status_code \
            == 200
    assert CountingStore.reads == 1
    kept = store.read_layer("key_places").iloc[:10]
    CountingStore.reads = 0
    store.write_layers({"key_places": kept})
    body = client.get("/collections/key_places/items").json()
    assert body["numberMatched"] == 10  # the write is seen at once
    assert CountingStore.reads == 1


@pytest.mark.postgis
def test_items_are_the_same_on_postgis(project_path, pg_url, pg_schema):
    from beatgrid.gis.io.postgis import copy_project_to_postgis

    copy_project_to_postgis(project_path, pg_url, schema=pg_schema)
    pg = TestClient(create_app(Project.open(pg_url, schema=pg_schema), public_read=True))
    gp = TestClient(create_app(project_path))
    for url in ("/collections/buildings/items?bbox=" + ",".join(map(str, BOX)) + "&limit=500",
                "/collections/beats/items?station_id=S02",
                "/collections/estates/items?limit=10&offset=20",
                "/collections/incidents/items?datetime=2025-03-01/2025-03-31&limit=1000"):
        a, b = pg.get(url).json(), gp.get(url).json()
        assert [f["id"] for f in a["features"]] == [f["id"] for f in b["features"]], url
        assert a["numberMatched"] == b["numberMatched"]
        assert [f["properties"] for f in a["features"]] == \
            [f["properties"] for f in b["features"]], url
