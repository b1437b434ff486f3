"""Read OSM files into a flat list of directed road segments.

``.osm.pbf`` is read with pyosmium (osmnx cannot read it); ``.osm`` XML and GraphML go
through osmnx. Every reader returns the same ``RawSegments`` so one builder makes the graph.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import NetworkFileError
from geo.speeds import Mode, SpeedProfile, _first, is_routable, oneway_direction

# Tags the rules in geo.speeds read; osmnx keeps only "useful" tags, so these are added.
_TAGS_READ = (
    "highway",
    "maxspeed",
    "oneway",
    "junction",
    "name",
    "access",
    "service",
    "area",
    "foot",
    "motor_vehicle",
    "motorcar",
)


@dataclass(frozen=True)
class RawSegments:
    """Nodes and directed straight segments before graph building."""

    node_id: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    from_id: npt.NDArray[np.int64]
    to_id: npt.NDArray[np.int64]
    speed_m_per_s: npt.NDArray[np.float64]
    name: npt.NDArray[np.object_]


class _Collector:
    """Accumulates polylines (one per way or edge) into flat arrays."""

    def __init__(self, mode: Mode, profile: SpeedProfile) -> None:
        self.mode = mode
        self.profile = profile
        self.node_ids: list[int] = []
        self.lats: list[float] = []
        self.lons: list[float] = []
        self.from_ids: list[npt.NDArray[np.int64]] = []
        self.to_ids: list[npt.NDArray[np.int64]] = []
        self.speeds: list[float] = []
        self.names: list[str] = []
        self.counts: list[int] = []

    def add(
        self,
        tags: dict[str, Any],
        ids: list[int],
        lats: list[float],
        lons: list[float],
        direction: int | None = None,
    ) -> None:
        if len(ids) < 2:
            return
        self.node_ids.extend(ids)
        self.lats.extend(lats)
        self.lons.extend(lons)
        arr = np.asarray(ids, dtype=np.int64)
        a, b = arr[:-1], arr[1:]
        if direction is None:
            direction = oneway_direction(tags, self.mode)
        if direction == 1:
            f, t = a, b
        elif direction == -1:
            f, t = b, a
        else:
            f, t = np.concatenate([a, b]), np.concatenate([b, a])
        self.from_ids.append(f)
        self.to_ids.append(t)
        self.speeds.append(self.profile.way_speed_m_per_s(tags, self.mode))
        self.names.append(_first(tags.get("name")) or "")
        self.counts.append(len(f))

    def result(self, path: Path) -> RawSegments:
        if not self.counts:
            raise NetworkFileError(
                f"{path}: no {self.mode} roads found (is this an OpenStreetMap extract with "
                "highway ways?)"
            )
        node_id = np.asarray(self.node_ids, dtype=np.int64)
        uniq, first = np.unique(node_id, return_index=True)
        counts = np.asarray(self.counts)
        return RawSegments(
            node_id=uniq,
            lat=np.asarray(self.lats, dtype=np.float64)[first],
            lon=np.asarray(self.lons, dtype=np.float64)[first],
            from_id=np.concatenate(self.from_ids),
            to_id=np.concatenate(self.to_ids),
            speed_m_per_s=np.repeat(np.asarray(self.speeds, dtype=np.float64), counts),
            name=np.repeat(np.asarray(self.names, dtype=object), counts),
        )


def read_pbf(path: Path, mode: Mode, profile: SpeedProfile) -> RawSegments:
    """Read routable ways from an ``.osm.pbf`` file with pyosmium."""
    import osmium

    collector = _Collector(mode, profile)
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            way = obj
            tags = {k: way.tags.get(k) for k in _TAGS_READ if k in way.tags}
            if not is_routable(tags, mode):
                continue
            # Ways cut at the extract's edge reference nodes without a location: split there.
            ids: list[int] = []
            lats: list[float] = []
            lons: list[float] = []
            for node in way.nodes:
                loc = node.location
                if loc.valid():
                    ids.append(node.ref)
                    lats.append(loc.lat)
                    lons.append(loc.lon)
                else:
                    collector.add(tags, ids, lats, lons)
                    ids, lats, lons = [], [], []
            collector.add(tags, ids, lats, lons)
    except (RuntimeError, ValueError, OSError) as exc:  # libosmium: corrupt/truncated input
        raise NetworkFileError(f"{path}: not a readable OSM PBF file ({exc})") from exc
    return collector.result(path)


def read_osmnx_graph(
    path: Path, mode: Mode, profile: SpeedProfile, *, graphml: bool
) -> RawSegments:
    """Read ``.osm`` XML or osmnx GraphML through osmnx, never downloading anything."""
    import osmnx as ox

    ox.settings.use_cache = False
    saved_tags = list(ox.settings.useful_tags_way)
    try:
        ox.settings.useful_tags_way = sorted(set(saved_tags) | set(_TAGS_READ))
        if graphml:
            graph = ox.load_graphml(path)
        else:
            graph = ox.graph_from_xml(
                path, bidirectional=mode == "walk", simplify=False, retain_all=True
            )
    except Exception as exc:  # osmnx raises many types (ParseError, KeyError, ValueError...)
        kind = "GraphML" if graphml else "OSM XML"
        raise NetworkFileError(f"{path}: not a readable {kind} file ({exc})") from exc
    finally:
        ox.settings.useful_tags_way = saved_tags

    collector = _Collector(mode, profile)
    nodes = graph.nodes
    synthetic: dict[tuple[float, float], int] = {}
    for u, v, data in graph.edges(data=True):
        tags = {k: _literal(data.get(k)) for k in _TAGS_READ if k in data}
        if not is_routable(tags, mode):
            continue
        geometry = data.get("geometry")
        if geometry is None:
            ids = [int(u), int(v)]
            lats = [float(nodes[u]["y"]), float(nodes[v]["y"])]
            lons = [float(nodes[u]["x"]), float(nodes[v]["x"])]
        else:
            # Simplified edges carry their shape; interior vertices become synthetic nodes
            # (negative ids) shared by both directions of a two-way road.
            coords = list(geometry.coords)
            ids = [int(u)]
            for x, y in coords[1:-1]:
                key = (round(y, 7), round(x, 7))
                ids.append(synthetic.setdefault(key, -1 - len(synthetic)))
            ids.append(int(v))
            lats = [float(nodes[u]["y"])] + [c[1] for c in coords[1:-1]] + [float(nodes[v]["y"])]
            lons = [float(nodes[u]["x"])] + [c[0] for c in coords[1:-1]] + [float(nodes[v]["x"])]
        # osmnx already made one edge per travel direction.
        collector.add(tags, ids, lats, lons, direction=0 if mode == "walk" else 1)
    return collector.result(path)


def _literal(value: Any) -> Any:
    """Undo GraphML's stringified lists (``"['primary', 'secondary']"``)."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            return ast.literal_eval(value)
        except (SyntaxError, ValueError):
            return value
    return value
