"""Straight-line travel model for when no road network is given, fitted on a real one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo._geometry import haversine_m, pairwise_haversine_m
from geo.matrix import TravelMatrix, travel_matrix
from geo.network import RoadNetwork
from geo.snapping import as_coordinates


@dataclass(frozen=True)
class FallbackTravelModel:
    """Travel = great-circle metres × circuity ÷ a speed chosen by area type.

    The defaults were fitted on the Rutland drive network with ``fit_fallback_model``
    (see docs/travel-model.md for the fit and its error).

    Parameters
    ----------
    circuity
        Road metres per straight-line metre (>= 1).
    urban_speed_m_per_s
        Average door-to-door speed when both ends are urban, m/s.
    rural_speed_m_per_s
        Average speed when either end is rural, m/s.
    mixed_speed_m_per_s
        Average speed over all trips, used when area types are unknown, m/s.
    town_trip_max_m
        An urban trip is one between two urban points less than this straight-line distance
        apart (a trip within a town); town-to-town trips run on rural roads, m.
    """

    circuity: float = 1.32
    urban_speed_m_per_s: float = 6.15
    rural_speed_m_per_s: float = 12.61
    mixed_speed_m_per_s: float = 12.54
    town_trip_max_m: float = 3_000.0

    def __post_init__(self) -> None:
        if not self.circuity >= 1.0:
            raise ValueError("Expected circuity >= 1.")
        if min(self.urban_speed_m_per_s, self.rural_speed_m_per_s, self.mixed_speed_m_per_s) <= 0:
            raise ValueError("Expected every speed_m_per_s > 0.")

    def pair_speed_m_per_s(
        self,
        straight_m: npt.ArrayLike,
        urban_from: npt.ArrayLike | None,
        urban_to: npt.ArrayLike | None,
    ) -> npt.NDArray[np.float64]:
        """Speed for trips of ``straight_m`` metres between points of the given area types.

        ``None`` area types (unknown) give the mixed speed, m/s.
        """
        straight = np.asarray(straight_m, dtype=np.float64)
        if urban_from is None or urban_to is None:
            return np.full(straight.shape, self.mixed_speed_m_per_s)
        town = (
            np.asarray(urban_from, dtype=bool)
            & np.asarray(urban_to, dtype=bool)
            & (straight < self.town_trip_max_m)
        )
        return np.where(town, self.urban_speed_m_per_s, self.rural_speed_m_per_s)

    def travel_s(
        self,
        lat_from: npt.ArrayLike,
        lon_from: npt.ArrayLike,
        lat_to: npt.ArrayLike,
        lon_to: npt.ArrayLike,
        *,
        urban_from: npt.ArrayLike | None = None,
        urban_to: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.float64]:
        """Travel seconds, element-wise over arrays of degrees (the audit's estimate shape)."""
        straight = haversine_m(lat_from, lon_from, lat_to, lon_to)
        speed = self.pair_speed_m_per_s(straight, urban_from, urban_to)
        return np.asarray(straight * self.circuity / speed, dtype=np.float64)


def fallback_travel_matrix(
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    model: FallbackTravelModel | None = None,
    is_urban: npt.ArrayLike | None = None,
) -> TravelMatrix:
    """Travel time and distance between every pair of points without a road network.

    Parameters
    ----------
    lat, lon
        Point positions, degrees (WGS84).
    model
        Circuity and speeds; defaults to ``FallbackTravelModel()`` (fitted on Rutland).
    is_urban
        Area type per point (True = urban), e.g. from the ONS rural-urban classification in
        the postcode lookup; ``None`` uses the model's mixed speed for every trip.

    Returns
    -------
    TravelMatrix
        ``travel_s`` and ``distance_m`` (road metres = straight line × circuity), int32,
        symmetric, ``source="fallback"``.

    Raises
    ------
    ValueError
        Bad coordinates, or ``is_urban`` of the wrong length.
    """
    model = model or FallbackTravelModel()
    lat_a, lon_a = as_coordinates(lat, lon)
    straight = pairwise_haversine_m(lat_a, lon_a)
    road_m = straight * model.circuity
    if is_urban is None:
        speed = model.pair_speed_m_per_s(straight, None, None)
    else:
        urban = np.asarray(is_urban, dtype=bool).ravel()
        if urban.size != lat_a.size:
            raise ValueError(f"Expected is_urban of length {lat_a.size}, got {urban.size}.")
        speed = model.pair_speed_m_per_s(straight, urban[:, None], urban[None, :])
    travel = np.rint(road_m / speed).astype(np.int32)
    return TravelMatrix(
        travel_s=travel, distance_m=np.rint(road_m).astype(np.int32), source="fallback"
    )


@dataclass(frozen=True)
class FallbackFit:
    """A fitted model and its error against network travel times on held-out pairs.

    Errors are relative, ``|model - network| / network`` over ordered pairs at least
    ``min_pair_m`` apart, as fractions (0.1 = 10%), plus absolute seconds.
    """

    model: FallbackTravelModel
    n_fit_pairs: int
    n_test_pairs: int
    median_rel_error: float
    p90_rel_error: float
    median_abs_error_s: float
    p90_abs_error_s: float
    median_rel_error_mixed: float
    p90_rel_error_mixed: float
    urban_share: float


def urban_nodes(
    network: RoadNetwork, node: npt.ArrayLike, *, radius_m: float = 500.0, min_nodes: int = 150
) -> npt.NDArray[np.bool_]:
    """Whether each node is urban: at least ``min_nodes`` road nodes within ``radius_m`` metres."""
    from scipy.spatial import cKDTree

    x, y = network.projection.to_xy(network.lat, network.lon)
    idx = np.asarray(node, dtype=np.int64)
    counts = cKDTree(np.column_stack([x, y])).query_ball_point(
        np.column_stack([x[idx], y[idx]]), radius_m, return_length=True
    )
    return np.asarray(counts >= min_nodes, dtype=bool)


def fit_fallback_model(
    network: RoadNetwork,
    *,
    n_points: int = 800,
    seed: int = 0,
    min_pair_m: float = 500.0,
    urban_radius_m: float = 500.0,
    urban_min_nodes: int = 150,
    town_trip_max_m: float = 3_000.0,
) -> FallbackFit:
    """Fit circuity and speeds by area type on a road network, and measure the error.

    Two independent samples of ``n_points`` network nodes (drawn uniformly over nodes, so
    towns weigh as much as their road density) are routed with ``travel_matrix``; the first
    fits the model, the second measures its error.

    Parameters
    ----------
    network
        A drive (or walk) network to fit on.
    n_points
        Points per sample; pairs grow as its square.
    seed
        Random seed for the samples.
    min_pair_m
        Pairs closer than this straight-line distance (m) are left out: door-to-door legs
        dominate them.
    urban_radius_m, urban_min_nodes
        Area-type rule (see ``urban_nodes``).
    town_trip_max_m
        Longest straight line (m) of an urban trip (see ``FallbackTravelModel``).

    Returns
    -------
    FallbackFit
        The model and its held-out error.
    """
    rng = np.random.default_rng(seed)

    def sample() -> tuple[np.ndarray, ...]:
        node = rng.choice(network.n_nodes, size=min(n_points, network.n_nodes), replace=False)
        lat, lon = network.lat[node], network.lon[node]
        matrix = travel_matrix(network, lat, lon)
        urban = urban_nodes(network, node, radius_m=urban_radius_m, min_nodes=urban_min_nodes)
        straight = pairwise_haversine_m(lat, lon)
        keep = straight >= min_pair_m
        both_urban = (urban[:, None] & urban[None, :] & (straight < town_trip_max_m))[keep]
        return (
            straight[keep],
            matrix.distance_m[keep].astype(float),
            matrix.travel_s[keep].astype(float),
            both_urban,
            urban,
        )

    straight, road_m, travel, both_urban, _ = sample()
    circuity = max(1.0, float(np.median(road_m / straight)))
    crow = straight * circuity

    def speed(mask: np.ndarray) -> float:
        # The median of crow/travel minimises the median relative error of crow/speed.
        return (
            float(np.median(crow[mask] / travel[mask]))
            if mask.any()
            else float(np.median(crow / travel))
        )

    model = FallbackTravelModel(
        circuity=round(circuity, 3),
        urban_speed_m_per_s=round(speed(both_urban), 2),
        rural_speed_m_per_s=round(speed(~both_urban), 2),
        mixed_speed_m_per_s=round(speed(np.ones_like(both_urban)), 2),
        town_trip_max_m=town_trip_max_m,
    )
    t_straight, _, t_travel, t_both, t_urban = sample()
    # t_both already folds in the town-trip distance rule.
    town_speed = np.where(t_both, model.urban_speed_m_per_s, model.rural_speed_m_per_s)
    predicted = t_straight * model.circuity / town_speed
    mixed = t_straight * model.circuity / model.mixed_speed_m_per_s
    rel = np.abs(predicted - t_travel) / t_travel
    rel_mixed = np.abs(mixed - t_travel) / t_travel
    abs_s = np.abs(predicted - t_travel)
    return FallbackFit(
        model=model,
        n_fit_pairs=int(straight.size),
        n_test_pairs=int(t_straight.size),
        median_rel_error=float(np.median(rel)),
        p90_rel_error=float(np.percentile(rel, 90)),
        median_abs_error_s=float(np.median(abs_s)),
        p90_abs_error_s=float(np.percentile(abs_s, 90)),
        median_rel_error_mixed=float(np.median(rel_mixed)),
        p90_rel_error_mixed=float(np.percentile(rel_mixed, 90)),
        urban_share=float(np.mean(t_urban)),
    )
