"""Loading road networks from OSM files (geo/network.py)."""

from __future__ import annotations

import numpy as np
import osmium
import pytest
from scipy.sparse import csgraph

from geo import (
    NetworkFileError,
    NetworkFileNotFoundError,
    RoadNetwork,
    SpeedProfile,
    load_network,
)


def test_rutland_drive_is_one_strong_component(rutland_drive: RoadNetwork) -> None:
    """Every node of the loaded car network reaches every other."""
    n_comp, _ = csgraph.connected_components(rutland_drive.travel_s, connection="strong")
    assert n_comp == 1
    assert 5_000 < rutland_drive.n_nodes < 50_000


def test_rutland_node_positions_lie_in_rutland(rutland_drive: RoadNetwork) -> None:
    """Node coordinates fall in Rutland's box (about 52.5-52.8 N, 0.43-0.83 W)."""
    lo_lat, lo_lon, hi_lat, hi_lon = rutland_drive.bounds
    assert 52.4 < lo_lat < hi_lat < 52.9
    assert -0.9 < lo_lon < hi_lon < -0.3


def test_time_and_length_share_structure(rutland_drive: RoadNetwork) -> None:
    """The travel-time and length matrices have identical sparsity, positive weights."""
    t, m = rutland_drive.travel_s, rutland_drive.length_m
    assert np.array_equal(t.indptr, m.indptr) and np.array_equal(t.indices, m.indices)
    assert (t.data > 0).all() and (m.data > 0).all()
    speed = m.data / t.data
    assert speed.max() < 115 / 3.6  # nothing faster than the motorway cap


def test_walk_network_is_two_way_and_larger(
    rutland_walk: RoadNetwork, rutland_drive: RoadNetwork
) -> None:
    """Walking uses every edge both ways and includes footpaths the car network lacks."""
    t = rutland_walk.travel_s
    assert abs(t - t.T).max() < 1e-9
    assert rutland_walk.n_nodes > rutland_drive.n_nodes


def test_fingerprint_depends_on_mode_and_profile(
    rutland_drive: RoadNetwork, rutland_walk: RoadNetwork, tiny_town_osm
) -> None:
    """The cache fingerprint changes with mode and speeds, and is stable across loads."""
    again = load_network(tiny_town_osm)
    slower = load_network(tiny_town_osm, profile=SpeedProfile(maxspeed_factor=0.7))
    assert rutland_drive.fingerprint != rutland_walk.fingerprint
    assert again.fingerprint == load_network(tiny_town_osm).fingerprint
    assert slower.fingerprint != again.fingerprint


def test_tiny_town_drops_disconnected_and_non_drive_ways(tiny_town_drive: RoadNetwork) -> None:
    """Lonely Road (disconnected), the footway and the parking aisle are not in the car network."""
    assert sorted(tiny_town_drive.node_id.tolist()) == [1, 2, 3, 4, 5, 6]


def test_tiny_town_walk_keeps_footway(tiny_town_walk: RoadNetwork) -> None:
    """On foot the footway node 7 and the parking aisle node 12 join the network."""
    assert sorted(tiny_town_walk.node_id.tolist()) == [1, 2, 3, 4, 5, 6, 7, 12]


def test_tiny_town_oneway_has_one_direction(tiny_town_drive: RoadNetwork) -> None:
    """Church Street (3 -> 6) is one-way; High Street (2 <-> 3) is two-way."""
    index = {int(osm): i for i, osm in enumerate(tiny_town_drive.node_id)}
    t = tiny_town_drive.travel_s
    assert t[index[3], index[6]] > 0 and t[index[6], index[3]] == 0
    assert t[index[2], index[3]] > 0 and t[index[3], index[2]] > 0


def test_tagged_maxspeed_slows_high_street(tiny_town_drive: RoadNetwork) -> None:
    """High Street's 20 mph tag (x 0.8) gives 25.7 km/h instead of the residential default."""
    index = {int(osm): i for i, osm in enumerate(tiny_town_drive.node_id)}
    i, j = index[1], index[2]  # node 1 is a dead end, so no junction delay on 2 -> 1
    speed_kmh = tiny_town_drive.length_m[j, i] / tiny_town_drive.travel_s[j, i] * 3.6
    assert speed_kmh == pytest.approx(20 * 1.609344 * 0.8, rel=1e-6)


def test_streets_join_same_named_segments(tiny_town_drive: RoadNetwork) -> None:
    """Both High Street segments share one street id; different names differ; unnamed is -1."""
    by_name: dict[str, set[int]] = {}
    for name, street in zip(tiny_town_drive.seg_name, tiny_town_drive.seg_street, strict=True):
        by_name.setdefault(name, set()).add(int(street))
    assert len(by_name["High Street"]) == 1
    assert by_name[""] == {-1}
    assert len({next(iter(s)) for n, s in by_name.items() if n}) == 3


def test_graphml_matches_xml(tmp_path, tiny_town_drive: RoadNetwork, tiny_town_osm) -> None:
    """A simplified osmnx GraphML of the town routes like the XML it came from."""
    import osmnx as ox

    from geo import travel_matrix

    # As osmnx does for network_type="drive": filter ways first, then simplify.
    graph = ox.graph_from_xml(tiny_town_osm, simplify=False, retain_all=True)
    graph.remove_edges_from(
        [
            (u, v, k)
            for u, v, k, h in graph.edges(keys=True, data="highway")
            if h != "residential" and h not in ("tertiary", "unclassified")
        ]
    )
    graph = ox.simplify_graph(ox.truncate.largest_component(graph, strongly=True))
    path = tmp_path / "tiny.graphml"
    ox.save_graphml(graph, path)
    from_graphml = load_network(path)
    lat, lon = [52.6701, 52.6719, 52.6709], [-0.7299, -0.7281, -0.7262]
    expected = travel_matrix(tiny_town_drive, lat, lon).travel_s
    got = travel_matrix(from_graphml, lat, lon).travel_s
    # Simplification merges Church Street (tertiary) and Back Lane (unclassified) into one
    # edge driven at the slower speed, so trips over it may be a little slower, never faster.
    diff = got - expected.astype(int)
    assert (diff >= -1).all() and (diff <= np.maximum(1, 0.10 * expected)).all()


def test_missing_file_names_the_path(tmp_path) -> None:
    """A missing file raises NetworkFileNotFoundError (a FileNotFoundError) naming it."""
    missing = tmp_path / "nowhere.osm.pbf"
    with pytest.raises(NetworkFileNotFoundError, match=r"nowhere\.osm\.pbf"):
        load_network(missing)
    with pytest.raises(FileNotFoundError):
        load_network(missing)


def test_corrupt_pbf_names_the_file(tmp_path) -> None:
    """Random bytes with a .pbf name raise NetworkFileError naming the file."""
    bad = tmp_path / "garbage.osm.pbf"
    bad.write_bytes(np.random.default_rng(0).bytes(5_000))
    with pytest.raises(NetworkFileError, match=r"garbage\.osm\.pbf"):
        load_network(bad)


def test_truncated_pbf_is_rejected(tmp_path, rutland_pbf) -> None:
    """The Rutland extract cut in half is reported, not half-loaded."""
    cut = tmp_path / "cut.osm.pbf"
    data = rutland_pbf.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NetworkFileError, match=r"cut\.osm\.pbf"):
        load_network(cut)


def test_pbf_without_roads_is_rejected(tmp_path) -> None:
    """A valid PBF holding no highways raises NetworkFileError saying no roads were found."""
    path = tmp_path / "no_roads.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        writer.add_node(
            osmium.osm.mutable.Node(id=1, location=(-0.73, 52.67), tags={"amenity": "bench"})
        )
    with pytest.raises(NetworkFileError, match="no drive roads"):
        load_network(path)


def test_corrupt_xml_and_unknown_type(tmp_path) -> None:
    """Broken XML and an unknown extension raise NetworkFileError naming the file."""
    xml = tmp_path / "broken.osm"
    xml.write_text("<osm><node id='1'")
    with pytest.raises(NetworkFileError, match=r"broken\.osm"):
        load_network(xml)
    other = tmp_path / "roads.shp"
    other.write_text("x")
    with pytest.raises(NetworkFileError, match="unknown network file type"):
        load_network(other)


def test_unknown_mode_is_refused(tiny_town_osm) -> None:
    """Only drive and walk are modes."""
    with pytest.raises(ValueError, match="mode"):
        load_network(tiny_town_osm, mode="bike")  # type: ignore[arg-type]
