"""Overlap hotspots: streets and cells served by several providers (geo/overlap.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from pyproj import Transformer

from geo import RoadNetwork, nearest_streets, overlap_hotspots

_FROM_BNG = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def _at_bng(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    """Service users placed by British National Grid metres (so cells are known exactly)."""
    ids, providers, easts, norths, minutes = zip(*rows, strict=True)
    lon, lat = _FROM_BNG.transform(easts, norths)
    return pd.DataFrame(
        {
            "service_user_id": ids,
            "provider_id": providers,
            "lat": lat,
            "lon": lon,
            "travel_min": minutes,
        }
    )


@pytest.fixture
def three_cells() -> pd.DataFrame:
    """Cell A: 3 providers, 4 people; cell B: 2 providers, 3 people; cell C: 1 provider."""
    return _at_bng(
        [
            ("a1", "P1", 486_100, 308_100, 10),
            ("a2", "P2", 486_200, 308_300, 20),
            ("a3", "P3", 486_400, 308_400, 5),
            ("a4", "P1", 486_300, 308_200, 5),
            ("b1", "P1", 486_600, 308_100, 50),
            ("b2", "P2", 486_700, 308_200, 30),
            ("b3", "P2", 486_800, 308_300, 30),
            ("c1", "P3", 487_100, 308_100, 99),
            ("c2", "P3", 487_200, 308_200, 99),
        ]
    )


def test_cells_ranked_by_providers_then_minutes(three_cells: pd.DataFrame) -> None:
    """Cell A (3 providers) outranks B (2 providers, more minutes); single-provider C is left out."""
    out = overlap_hotspots(three_cells, cell_m=500)
    assert (out["level"] == "cell").all()
    assert out["area_id"].tolist() == ["E486000N308000", "E486500N308000"]
    assert out["rank"].tolist() == [1, 2]
    assert out["people"].tolist() == [4, 3]
    assert out["providers"].tolist() == [3, 2]
    assert out["provider_ids"].tolist() == ["P1,P2,P3", "P1,P2"]
    assert out["travel_min"].tolist() == [40, 110]


def test_equal_providers_ranked_by_minutes(three_cells: pd.DataFrame) -> None:
    """Among areas with as many providers, more carer-minutes of travel ranks first."""
    two = three_cells[three_cells["provider_id"] != "P3"]
    out = overlap_hotspots(two, cell_m=500)
    assert out["area_id"].tolist() == ["E486500N308000", "E486000N308000"]


def test_larger_cells_merge_areas(three_cells: pd.DataFrame) -> None:
    """With 2 km cells all nine people share one cell served by three providers."""
    out = overlap_hotspots(three_cells, cell_m=2_000)
    assert out["people"].tolist() == [9] and out["providers"].tolist() == [3]


@pytest.fixture
def tiny_town_people() -> pd.DataFrame:
    """Two providers on High Street, one on Mill Lane, one on Church Street."""
    return pd.DataFrame(
        {
            "service_user_id": ["h1", "h2", "h3", "m1", "m2", "c1"],
            "provider_id": ["P1", "P2", "P2", "P1", "P1", "P2"],
            "lat": [52.67005, 52.66995, 52.67003, 52.67150, 52.67170, 52.67050],
            "lon": [-0.72950, -0.72850, -0.72700, -0.72805, -0.72795, -0.72595],
            "travel_min": [12.0, 8.0, 8.0, 3.0, 3.0, 4.0],
        }
    )


def test_nearest_named_street(tiny_town_drive: RoadNetwork, tiny_town_people) -> None:
    """Each person is put on the named road nearest to them."""
    streets = nearest_streets(tiny_town_drive, tiny_town_people["lat"], tiny_town_people["lon"])
    assert streets["street"].tolist() == ["High Street"] * 3 + ["Mill Lane"] * 2 + ["Church Street"]
    far = nearest_streets(tiny_town_drive, [52.6800], [-0.7280], max_distance_m=150)
    assert far["street_id"].tolist() == [-1] and far["street"].tolist() == [""]


def test_streets_ranked_with_network(tiny_town_drive: RoadNetwork, tiny_town_people) -> None:
    """Only High Street has two providers; it is the one street ranked."""
    out = overlap_hotspots(tiny_town_people, network=tiny_town_drive)
    streets = out[out["level"] == "street"]
    assert streets["name"].tolist() == ["High Street"]
    assert streets["people"].tolist() == [3] and streets["travel_min"].tolist() == [28.0]


def test_travel_estimated_when_not_given(tiny_town_drive: RoadNetwork, tiny_town_people) -> None:
    """Without travel_min, minutes come from each person's nearest same-provider neighbour."""
    people = tiny_town_people.drop(columns="travel_min").assign(
        calls_per_week=[28, 14, 14, 7, 7, 7]
    )
    out = overlap_hotspots(people, network=tiny_town_drive)
    high = out[(out["level"] == "street") & (out["name"] == "High Street")]
    assert len(high) == 1 and high["travel_min"].iloc[0] > 0


def test_bad_input_is_refused(three_cells: pd.DataFrame) -> None:
    """Missing columns and a non-positive cell size raise ValueError."""
    with pytest.raises(ValueError, match="service_user_id"):
        overlap_hotspots(three_cells.drop(columns="service_user_id"))
    with pytest.raises(ValueError, match="cell_m"):
        overlap_hotspots(three_cells, cell_m=0)


def test_without_network_uses_fallback_estimate(three_cells: pd.DataFrame) -> None:
    """With no network and no travel_min, minutes come from the fallback model and only cells rank."""
    out = overlap_hotspots(three_cells.drop(columns="travel_min"))
    assert set(out["level"]) == {"cell"}
    assert (out["travel_min"] > 0).all()
