"""Multi-grid alignment (gis/alignment.py) on fixtures with known shares.

Beats (metres, EPSG:32651): A = [0,100] x [0,100], B = [100,200] x [0,100].
Governance grids: G1 = A exactly; G2 = [100,200] x [0,50] inside B;
G3 = [50,150] x [50,100], half in A and half in B (by area).
Households: 100 in G1 (in A), 50 in G2 (in B), 30 in G3's A half, 70 in G3's B half.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from beatgrid.gis.policing.alignment import (BEAT_COLUMNS, GRID_COLUMNS, align_project,
                                    governance_alignment, overlay_pieces)
from beatgrid.gis.errors import InputError
from beatgrid.gis.policing.settings import load_policing_settings

CRS = 32651


@pytest.fixture
def beats():
    return gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[shapely.box(0, 0, 100, 100),
                                                         shapely.box(100, 0, 200, 100)], crs=CRS)


@pytest.fixture
def gov():
    return gpd.GeoDataFrame(
        {"id": ["G1", "G2", "G3"], "department": ["comprehensive_governance"] * 2
         + ["city_operations"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 50),
                  shapely.box(50, 50, 150, 100)], crs=CRS)


@pytest.fixture
def buildings():
    def b(x, y):
        return shapely.box(x, y, x + 4, y + 4)
    # G1 and G3 overlap on [50,100] x [50,100]: keep G1's building out of G3
    return gpd.GeoDataFrame({"households": [100, 50, 30, 70]},
                            geometry=[b(20, 20), b(150, 20), b(60, 70), b(140, 70)], crs=CRS)


def test_shares_main_beat_and_households_affected(beats, gov, buildings):
    res = governance_alignment(gov, beats, buildings=buildings)
    g = res.grids.set_index("grid_id")
    assert list(res.grids.columns) == GRID_COLUMNS
    assert g.loc["G1", "main_beat"] == "A" and g.loc["G1", "area_share"] == 1.0
    assert bool(g.loc["G1", "aligned"]) and bool(g.loc["G2", "aligned"])
    # G1 overlaps G3's A half too, so the building at (60, 70) counts in G3 (located first?)
    g3 = g.loc["G3"]
    assert g3.main_beat == "B"                       # 70 of its 100 households
    assert g3.households == 100
    assert g3.households_share == pytest.approx(0.7)
    assert g3.area_share == pytest.approx(0.5)      # 2,500 of 5,000 m²
    assert not g3.aligned                            # 0.7 < 0.9
    assert g3.households_affected == 30
    assert g3.area_outside_m2 == pytest.approx(2500)
    assert g3.beats_touched == 2


def test_reassignment_moves_the_minor_part(beats, gov, buildings):
    res = governance_alignment(gov, beats, buildings=buildings)
    moves = res.reassignments
    assert moves[["grid_id", "from_beat", "to_beat", "households"]].values.tolist() == \
        [["G3", "A", "B", 30]]
    assert moves["area_m2"].iloc[0] == pytest.approx(2500)
    assert res.misaligned["grid_id"].tolist() == ["G3"]


def test_alignment_score_per_beat(beats, gov, buildings):
    b = governance_alignment(gov, beats, buildings=buildings).beats.set_index("beat_id")
    assert list(b.reset_index().columns) == BEAT_COLUMNS
    # A: covered households 100 (G1, own) + 30 (G3, main beat B) -> 100 / 130
    assert b.loc["A", "alignment_score"] == pytest.approx(100 / 130, abs=1e-6)
    assert b.loc["A", "misaligned_grids"] == 1 and b.loc["A", "main_of"] == 1
    # B: 50 (G2) + 70 (G3): both grids are B's -> 1.0
    assert b.loc["B", "alignment_score"] == pytest.approx(1.0)
    assert b.loc["B", "households"] == 120 and b.loc["A", "households"] == 130


def test_area_decides_without_households(beats, gov):
    res = governance_alignment(gov, beats)
    g3 = res.grids.set_index("grid_id").loc["G3"]
    assert g3.main_beat == "A"                      # area tie 2,500 / 2,500: first beat id
    assert g3.share == pytest.approx(0.5) and not g3.aligned
    b = res.beats.set_index("beat_id")
    # A's governance area: G1 10,000 (own) + G3 2,500 (own) -> 1.0; B: 5,000 own of 7,500
    assert b.loc["A", "alignment_score"] == pytest.approx(1.0)
    assert b.loc["B", "alignment_score"] == pytest.approx(5000 / 7500, abs=1e-6)


def test_threshold_is_a_setting(beats, gov, buildings):
    loose = load_policing_settings({"alignment": {"min_share": 0.7}})
    res = governance_alignment(gov, beats, buildings=buildings, settings=loose)
    assert res.grids["aligned"].all()               # G3: 0.7 >= 0.7
    assert len(res.reassignments) == 0
    res = governance_alignment(gov, beats, buildings=buildings, min_share=0.75)
    assert not res.grids.set_index("grid_id").loc["G3", "aligned"]


def test_basic_grid_match(beats, gov, buildings):
    grids = gpd.GeoDataFrame({"id": ["g1", "g2"]}, geometry=[shapely.box(0, 0, 100, 60),
                                                            shapely.box(0, 60, 100, 100)], crs=CRS)
    g = governance_alignment(gov, beats, buildings=buildings, grids=grids).grids \
        .set_index("grid_id")
    assert g.loc["G1", "basic_grid"] == "g1"
    assert g.loc["G1", "basic_grid_share"] == pytest.approx(0.6)
    assert g.loc["G2", "basic_grid"] is None


def test_overlay_pieces_in_geographic_crs():
    # a 2 x 1 km box at Ningbo split in two beats: areas computed in metres
    z = gpd.GeoDataFrame({"id": ["z"]}, geometry=[shapely.box(121.50, 29.80, 121.52, 29.81)],
                         crs=4490)
    b = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[shapely.box(121.50, 29.80, 121.51, 29.81),
                                                      shapely.box(121.51, 29.80, 121.52, 29.81)],
                         crs=4490)
    p = overlay_pieces(z, b)
    assert p["area_m2"].sum() == pytest.approx(0.02 * 96700 * 0.01 * 111000, rel=0.02)
    assert p["area_m2"].iloc[0] == pytest.approx(p["area_m2"].iloc[1], rel=1e-3)


def test_project_without_governance_grids_is_an_error(beats):
    with pytest.raises(InputError, match="governance_grids"):
        align_project({"beats": beats})
