"""Speeds by road class and OSM tag rules (geo/speeds.py)."""

from __future__ import annotations

import pytest

from geo import SpeedProfile, parse_maxspeed_kmh
from geo.speeds import is_routable, oneway_direction


@pytest.mark.parametrize(
    ("raw", "kmh"),
    [
        ("30 mph", 30 * 1.609344),
        ("50", 50.0),
        ("48 km/h", 48.0),
        ("20 mph;30 mph", 20 * 1.609344),
        ("GB:nsl_single", 60 * 1.609344),
        ("GB:nsl_dual", 70 * 1.609344),
        (["40 mph", "30 mph"], 30 * 1.609344),
    ],
)
def test_parse_maxspeed_units(raw, kmh) -> None:
    """Bare numbers are km/h, mph converted, UK named limits mapped, lowest kept."""
    assert parse_maxspeed_kmh(raw) == pytest.approx(kmh)


@pytest.mark.parametrize("raw", [None, "", "signals", "none", "variable", "0", float("nan")])
def test_parse_maxspeed_unusable(raw) -> None:
    """Absent or non-numeric limits give None so the class default applies."""
    assert parse_maxspeed_kmh(raw) is None


def test_class_default_when_untagged() -> None:
    """An untagged residential street runs at the residential default."""
    profile = SpeedProfile()
    assert profile.way_speed_m_per_s({"highway": "residential"}, "drive") == pytest.approx(30 / 3.6)


def test_tagged_limit_is_scaled_and_capped() -> None:
    """A tagged limit is multiplied by maxspeed_factor but never exceeds the class cap."""
    profile = SpeedProfile()
    trunk = profile.way_speed_m_per_s({"highway": "trunk", "maxspeed": "40 mph"}, "drive")
    lane = profile.way_speed_m_per_s({"highway": "unclassified", "maxspeed": "60 mph"}, "drive")
    assert trunk == pytest.approx(40 * 1.609344 * 0.8 / 3.6)
    assert lane == pytest.approx(55 / 3.6)


def test_merged_edge_takes_slowest_class() -> None:
    """A list-valued (osmnx-simplified) edge runs at its slowest class, whatever the order."""
    profile = SpeedProfile()
    a = profile.way_speed_m_per_s({"highway": ["tertiary", "unclassified"]}, "drive")
    b = profile.way_speed_m_per_s({"highway": ["unclassified", "tertiary"]}, "drive")
    assert a == b == pytest.approx(40 / 3.6)


def test_walk_speed_ignores_class() -> None:
    """On foot every way is walked at the walking speed."""
    profile = SpeedProfile(walk_speed_m_per_s=1.2)
    assert profile.way_speed_m_per_s({"highway": "trunk", "maxspeed": "70 mph"}, "walk") == 1.2


@pytest.mark.parametrize(
    ("tags", "drive", "walk"),
    [
        ({"highway": "residential"}, True, True),
        ({"highway": "footway"}, False, True),
        ({"highway": "motorway"}, True, False),
        ({"highway": "service", "service": "parking_aisle"}, False, True),
        ({"highway": "service", "service": "driveway"}, False, True),
        ({"highway": "service"}, True, True),
        ({"highway": "residential", "access": "private"}, False, False),
        ({"highway": "track", "foot": "no"}, False, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False, True),
        ({"highway": "pedestrian", "area": "yes"}, False, False),
        ({"building": "yes"}, False, False),
    ],
)
def test_routable_by_mode(tags, drive, walk) -> None:
    """Ways are kept per mode according to highway class and access tags."""
    assert is_routable(tags, "drive") is drive
    assert is_routable(tags, "walk") is walk


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, 0),
        ({"highway": "residential", "oneway": "yes"}, 1),
        ({"highway": "residential", "oneway": "-1"}, -1),
        ({"highway": "primary", "junction": "roundabout"}, 1),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
        ({"highway": "residential", "oneway": True}, 1),
    ],
)
def test_oneway_direction(tags, expected) -> None:
    """oneway, reversed oneway, roundabouts and motorways set the travel direction."""
    assert oneway_direction(tags, "drive") == expected
    assert oneway_direction(tags, "walk") == 0


def test_profile_validates() -> None:
    """Nonsense speeds are refused with a message naming the field."""
    with pytest.raises(ValueError, match="maxspeed_factor"):
        SpeedProfile(maxspeed_factor=0)
    with pytest.raises(ValueError, match="cap_kmh"):
        SpeedProfile(drive_kmh=(("residential", 40.0, 30.0),))
    with pytest.raises(ValueError, match="junction_delay_s"):
        SpeedProfile(junction_delay_s=-1)
