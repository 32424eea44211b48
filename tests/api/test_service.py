"""The HTTP service: layers as GeoJSON, validation, domain errors as 4xx."""

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient

from beatgrid.api.service import create_app
from beatgrid.gis.io import project as store

LON, LAT = 121.55, 29.88


@pytest.fixture
def client(tmp_path):
    path = tmp_path / "p.gpkg"
    b = gpd.GeoDataFrame({"id": ["b1", "b2"], "households": [12, 30]},
                         geometry=[shapely.box(LON, LAT, LON + 2e-4, LAT + 2e-4),
                                   shapely.box(LON + 0.01, LAT, LON + 0.0102, LAT + 2e-4)],
                         crs=4490)
    store.write_layers(path, {"buildings": b})
    return TestClient(create_app(path))


def test_layer_as_geojson_with_bbox(client):
    r = client.get("/layers/buildings")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert [f["properties"]["households"] for f in r.json()["features"]] == [12, 30]
    r = client.get("/layers/buildings", params={"bbox": f"{LON - 1e-3},{LAT - 1e-3},{LON + 1e-3},{LAT + 1e-3}"})
    assert [f["properties"]["id"] for f in r.json()["features"]] == ["b1"]


def test_layers_and_validate(client):
    layers = {row["layer"]: row["features"] for row in client.get("/layers").json()}
    assert layers["buildings"] == 2 and layers["cameras"] == 0
    body = client.get("/validate").json()
    assert body["ok"] is True and body["errors"] == 0


@pytest.mark.parametrize("url,status,text", [
    ("/layers/nope", 422, "unknown layer 'nope'"),
    ("/layers/buildings?bbox=1,2,3", 422, "is not minlon,minlat,maxlon,maxlat"),
    ("/layers/buildings?limit=0", 422, None),
])
def test_bad_input_is_4xx_never_500(client, url, status, text):
    r = client.get(url)
    assert r.status_code == status
    if text:
        assert text in r.json()["error"] and r.json()["fix"]


def test_missing_project_is_404(tmp_path):
    r = TestClient(create_app(tmp_path / "missing.gpkg")).get("/layers")
    assert r.status_code == 404 and "does not exist" in r.json()["error"]
