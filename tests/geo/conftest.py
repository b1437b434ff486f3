"""Shared geo fixtures: the Rutland extract (loaded once per session) and a hand-built town."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo import RoadNetwork, load_network

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
RUTLAND_PBF = SHARED_DATA / "osm" / "rutland-latest.osm.pbf"
LAD_GEOJSON = SHARED_DATA / "boundaries" / "lad_2017_uk_super_generalised.geojson"
TINY_TOWN_OSM = Path(__file__).resolve().parent / "data" / "tiny_town.osm"

# Market places of Rutland's two towns (lat, lon).
OAKHAM = (52.6707, -0.7275)
UPPINGHAM = (52.5886, -0.7235)


@pytest.fixture(scope="session")
def rutland_drive() -> RoadNetwork:
    """Rutland car network, parsed once."""
    return load_network(RUTLAND_PBF, mode="drive")


@pytest.fixture(scope="session")
def rutland_walk() -> RoadNetwork:
    """Rutland walking network, parsed once."""
    return load_network(RUTLAND_PBF, mode="walk")


@pytest.fixture(scope="session")
def tiny_town_drive() -> RoadNetwork:
    """Six-node hand-built town (see data/tiny_town.osm) by car."""
    return load_network(TINY_TOWN_OSM, mode="drive")


@pytest.fixture(scope="session")
def tiny_town_walk() -> RoadNetwork:
    """The hand-built town on foot."""
    return load_network(TINY_TOWN_OSM, mode="walk")


@pytest.fixture(scope="session")
def rutland_pbf() -> Path:
    """Path of the shared Rutland OSM extract."""
    return RUTLAND_PBF


@pytest.fixture(scope="session")
def tiny_town_osm() -> Path:
    """Path of the hand-built town XML."""
    return TINY_TOWN_OSM


@pytest.fixture(scope="session")
def lad_geojson() -> Path:
    """Path of the shared local authority boundaries."""
    return LAD_GEOJSON
