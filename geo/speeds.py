"""Travel speeds by road class (UK defaults) and the OSM tag rules that pick routable ways."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["drive", "walk"]
MODES: tuple[Mode, ...] = ("drive", "walk")

_MPH_TO_KMH = 1.609344

# Effective free-flow speeds (km/h) on UK roads by OSM highway class when no maxspeed is
# tagged, and the cap a tagged maxspeed may reach. They are below the legal limits: rural
# single carriageways are bendy, towns have junctions. Starting points are the OSRM car
# profile (speeds in km/h, tagged maxspeed × 0.8) adjusted to UK classes.
_UK_DRIVE_KMH: tuple[tuple[str, float, float], ...] = (
    # class, default_kmh, cap_kmh
    ("motorway", 96.0, 110.0),
    ("motorway_link", 56.0, 70.0),
    ("trunk", 80.0, 100.0),
    ("trunk_link", 48.0, 65.0),
    ("primary", 70.0, 85.0),
    ("primary_link", 40.0, 55.0),
    ("secondary", 62.0, 80.0),
    ("secondary_link", 40.0, 50.0),
    ("tertiary", 54.0, 70.0),
    ("tertiary_link", 32.0, 45.0),
    ("unclassified", 40.0, 55.0),
    ("road", 32.0, 45.0),
    ("residential", 30.0, 40.0),
    ("living_street", 15.0, 20.0),
    ("service", 15.0, 25.0),
)

_DRIVE_CLASSES = frozenset(c for c, _, _ in _UK_DRIVE_KMH)
_WALK_CLASSES = frozenset(
    {
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "road",
        "residential",
        "living_street",
        "service",
        "pedestrian",
        "footway",
        "path",
        "steps",
        "track",
        "bridleway",
        "cycleway",
        "corridor",
    }
)
_EXCLUDED_SERVICE = frozenset(
    {"parking_aisle", "parking", "driveway", "private", "emergency_access"}
)
_NO = frozenset({"no", "private"})
_YES = frozenset({"yes", "true", "1"})


@dataclass(frozen=True)
class SpeedProfile:
    """How fast each road class is travelled, per mode.

    Parameters
    ----------
    drive_kmh
        Tuples ``(highway class, default km/h, cap km/h)``. The default applies when a way has
        no ``maxspeed`` tag; a tagged maxspeed is multiplied by ``maxspeed_factor`` and
        capped at the class cap.
    maxspeed_factor
        Share of the posted limit actually driven (OSRM uses 0.8).
    unknown_class_kmh
        Speed for any drivable class missing from ``drive_kmh``.
    walk_speed_m_per_s
        Walking speed on every walkable way, m/s (1.33 m/s = 4.8 km/h).
    drive_offnet_speed_m_per_s
        Speed of the leg between a point and the road by car (drive/park/walk to the door),
        m/s.
    junction_delay_s
        Seconds added to every drive edge that ends at a junction (three or more roads meet):
        slowing, giving way, signals. Without it, rural trips come out faster than drivers
        report.
    """

    drive_kmh: tuple[tuple[str, float, float], ...] = _UK_DRIVE_KMH
    maxspeed_factor: float = 0.8
    unknown_class_kmh: float = 30.0
    walk_speed_m_per_s: float = 1.33
    drive_offnet_speed_m_per_s: float = 2.0
    junction_delay_s: float = 4.0
    _table: Mapping[str, tuple[float, float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {cls: (d, c) for cls, d, c in self.drive_kmh}
        if any(d <= 0 or c < d for d, c in table.values()):
            raise ValueError("Expected 0 < default_kmh <= cap_kmh for every road class.")
        if not 0 < self.maxspeed_factor <= 1.2:
            raise ValueError("Expected 0 < maxspeed_factor <= 1.2.")
        if self.unknown_class_kmh <= 0:
            raise ValueError("Expected unknown_class_kmh > 0.")
        if self.junction_delay_s < 0:
            raise ValueError("Expected junction_delay_s >= 0.")
        if self.walk_speed_m_per_s <= 0 or self.drive_offnet_speed_m_per_s <= 0:
            raise ValueError("Expected walk_speed_m_per_s > 0 and drive_offnet_speed_m_per_s > 0.")
        object.__setattr__(self, "_table", table)

    def offnet_speed_m_per_s(self, mode: Mode) -> float:
        """Speed of the off-network leg for ``mode``, m/s."""
        return self.walk_speed_m_per_s if mode == "walk" else self.drive_offnet_speed_m_per_s

    def way_speed_m_per_s(self, tags: Mapping[str, object], mode: Mode) -> float:
        """Travel speed on one way, m/s, from its ``highway`` and ``maxspeed`` tags."""
        if mode == "walk":
            return self.walk_speed_m_per_s
        # osmnx-simplified edges may merge several ways: list-valued tags. Take the slowest
        # combination so the result does not depend on list order.
        highways = _all(tags.get("highway")) or [""]
        limits = [parse_maxspeed_kmh(m) for m in _all(tags.get("maxspeed"))]
        tagged = min((m for m in limits if m is not None), default=None)
        speeds = []
        for highway in highways:
            default_kmh, cap_kmh = self._table.get(
                highway, (self.unknown_class_kmh, self.unknown_class_kmh)
            )
            speeds.append(
                default_kmh if tagged is None else min(tagged * self.maxspeed_factor, cap_kmh)
            )
        return min(speeds) / 3.6

    def fingerprint(self) -> str:
        """Stable text form, part of a network's cache key."""
        return repr(
            (
                self.drive_kmh,
                self.maxspeed_factor,
                self.unknown_class_kmh,
                self.walk_speed_m_per_s,
                self.drive_offnet_speed_m_per_s,
                self.junction_delay_s,
            )
        )


def _all(value: object) -> list[str]:
    """Every value of a possibly list-valued attribute, as text."""
    if isinstance(value, list | tuple | set):
        return sorted(str(v) for v in value)
    first = _first(value)
    return [] if first is None else [first]


def _first(value: object) -> str | None:
    """A list-valued osmnx attribute's alphabetically first item, or the value as text."""
    if value is None:
        return None
    if isinstance(value, list | tuple | set):
        return min(str(v) for v in value) if value else None
    if isinstance(value, float) and value != value:  # NaN from a DataFrame round-trip
        return None
    return str(value)


_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_NAMED_LIMITS_KMH = {
    "gb:nsl_single": 60 * _MPH_TO_KMH,
    "gb:nsl_dual": 70 * _MPH_TO_KMH,
    "gb:national": 60 * _MPH_TO_KMH,
    "gb:motorway": 70 * _MPH_TO_KMH,
    "uk:nsl_single": 60 * _MPH_TO_KMH,
    "uk:nsl_dual": 70 * _MPH_TO_KMH,
    "uk:motorway": 70 * _MPH_TO_KMH,
    "gb:zone20": 20 * _MPH_TO_KMH,
    "gb:zone30": 30 * _MPH_TO_KMH,
    "walk": 6.0,
}


def parse_maxspeed_kmh(value: object) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h; ``None`` when absent or not a number.

    Bare numbers are km/h (the OSM convention); ``"30 mph"`` is converted; ``"30;40"`` takes
    the first; UK named limits (``GB:nsl_single``) map to their mph values; a list (an
    osmnx-merged edge) gives its lowest limit.
    """
    if isinstance(value, list | tuple | set):
        parsed = [p for p in (parse_maxspeed_kmh(v) for v in value) if p is not None]
        return min(parsed, default=None)
    text = _first(value)
    if text is None:
        return None
    text = text.split(";")[0].strip()
    named = _NAMED_LIMITS_KMH.get(text.lower())
    if named is not None:
        return named
    match = _SPEED_RE.match(text)
    if match is None:
        return None
    number = float(match.group(1))
    if number <= 0:
        return None
    unit = (match.group(2) or "").lower()
    return number * _MPH_TO_KMH if unit == "mph" else number


def is_routable(tags: Mapping[str, object], mode: Mode) -> bool:
    """Whether a way with these OSM tags belongs to the ``mode`` network."""
    classes = _all(tags.get("highway"))
    if not classes or _first(tags.get("area")) == "yes":
        return False
    # A merged (list-valued) edge is routable when any of its ways is.
    highway = next((c for c in classes if c in _DRIVE_CLASSES), classes[0])
    if mode == "walk":
        highway = next((c for c in classes if c in _WALK_CLASSES), classes[0])
    access = _first(tags.get("access"))
    if mode == "walk":
        foot = _first(tags.get("foot"))
        if foot in _NO:
            return False
        if access in _NO and foot not in _YES and foot != "designated":
            return False
        return highway in _WALK_CLASSES
    if highway not in _DRIVE_CLASSES:
        return False
    if (
        access in _NO
        or _first(tags.get("motor_vehicle")) in _NO
        or _first(tags.get("motorcar")) in _NO
    ):
        return False
    return not (highway == "service" and _first(tags.get("service")) in _EXCLUDED_SERVICE)


def oneway_direction(tags: Mapping[str, object], mode: Mode) -> int:
    """+1 one way along the node order, -1 one way against it, 0 both ways."""
    if mode == "walk":
        return 0
    raw = tags.get("oneway")
    if isinstance(raw, bool):
        return 1 if raw else 0
    oneway = (_first(raw) or "").lower()
    if oneway in _YES:
        return 1
    if oneway == "-1":
        return -1
    if oneway == "no":
        return 0
    highway = _first(tags.get("highway"))
    if _first(tags.get("junction")) in {"roundabout", "circular"} or highway == "motorway":
        return 1
    return 0
