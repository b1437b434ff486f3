"""Where several providers serve the same street or small area: the re-allocation hotspots."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.fallback import FallbackTravelModel, fallback_travel_matrix
from geo.maps import _check_points
from geo.matrix import travel_matrix
from geo.network import RoadNetwork

HOTSPOT_COLUMNS = (
    "level",
    "rank",
    "area_id",
    "name",
    "people",
    "providers",
    "provider_ids",
    "travel_min",
    "lat",
    "lon",
)


def _travel_min(
    points: pd.DataFrame, network: RoadNetwork | None, model: FallbackTravelModel | None
) -> npt.NDArray[np.float64]:
    """Carer-minutes of travel each person attracts.

    The ``travel_min`` column when given (e.g. from reconstructed rounds); otherwise an
    estimate: minutes from the provider's nearest other service user to this one, times
    ``calls_per_week`` (1 when absent). A provider's only service user gets NaN (no
    neighbour to estimate from), counted as 0 in sums.
    """
    if "travel_min" in points.columns:
        return pd.to_numeric(points["travel_min"], errors="coerce").to_numpy(dtype=float)
    lat, lon = points["lat"].to_numpy(float), points["lon"].to_numpy(float)
    if network is not None:
        travel = travel_matrix(network, lat, lon).travel_s.astype(np.float64)
    else:
        travel = fallback_travel_matrix(lat, lon, model=model).travel_s.astype(np.float64)
    provider = points["provider_id"].to_numpy()
    same = provider[:, None] == provider[None, :]
    np.fill_diagonal(same, False)
    incoming = np.where(same, travel, np.inf).min(axis=0)  # from nearest same-provider person
    incoming[~np.isfinite(incoming)] = np.nan
    calls = (
        pd.to_numeric(points["calls_per_week"], errors="coerce").to_numpy(float)
        if "calls_per_week" in points.columns
        else np.ones(len(points))
    )
    return incoming / 60.0 * calls


def nearest_streets(
    network: RoadNetwork, lat: npt.ArrayLike, lon: npt.ArrayLike, *, max_distance_m: float = 150.0
) -> pd.DataFrame:
    """The nearest named road to each point.

    Parameters
    ----------
    network
        Road network with street names.
    lat, lon
        Points, degrees.
    max_distance_m
        Points farther than this from any named road get no street, metres.

    Returns
    -------
    pandas.DataFrame
        Per point: ``street_id`` (-1 when none; same-named segments joined end to end share
        an id, so two towns' "High Street"s differ), ``street`` (name or ""), ``distance_m``.
    """
    import shapely

    lat_a = np.asarray(lat, dtype=float)
    lon_a = np.asarray(lon, dtype=float)
    named = np.flatnonzero(network.seg_street >= 0)
    street = np.full(lat_a.size, -1, dtype=np.int64)
    name = np.full(lat_a.size, "", dtype=object)
    dist = np.full(lat_a.size, np.inf)
    if named.size and lat_a.size:
        proj = network.projection
        x, y = proj.to_xy(network.lat, network.lon)
        a, b = network.seg_u[named], network.seg_v[named]
        lines = shapely.linestrings(
            np.stack([np.column_stack([x[a], y[a]]), np.column_stack([x[b], y[b]])], axis=1)
        )
        px, py = proj.to_xy(lat_a, lon_a)
        (qi, si), d = shapely.STRtree(lines).query_nearest(
            shapely.points(px, py), return_distance=True, all_matches=False
        )
        dist[qi] = d
        close = qi[d <= max_distance_m]
        seg = named[si[d <= max_distance_m]]
        street[close] = network.seg_street[seg]
        name[close] = network.seg_name[seg]
    return pd.DataFrame({"street_id": street, "street": name, "distance_m": dist})


def _grid_cells(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], cell_m: float
) -> npt.NDArray[np.object_]:
    """British National Grid cell id (south-west corner, metres) of each point."""
    from pyproj import Transformer

    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    east, north = to_bng.transform(lon, lat)
    e0 = (np.floor(np.asarray(east) / cell_m) * cell_m).astype(np.int64)
    n0 = (np.floor(np.asarray(north) / cell_m) * cell_m).astype(np.int64)
    return np.array([f"E{e}N{n}" for e, n in zip(e0, n0, strict=True)], dtype=object)


def _rank(
    frame: pd.DataFrame, key: str, level: str, names: pd.Series | None, min_providers: int
) -> pd.DataFrame:
    grouped = frame.groupby(key, sort=False)
    table = pd.DataFrame(
        {
            "people": grouped["service_user_id"].nunique(),
            "providers": grouped["provider_id"].nunique(),
            "provider_ids": grouped["provider_id"].agg(lambda s: ",".join(sorted(set(s)))),
            "travel_min": grouped["travel_min"].sum(min_count=0),
            "lat": grouped["lat"].mean(),
            "lon": grouped["lon"].mean(),
        }
    )
    table = table[table["providers"] >= min_providers]
    table.index.name = "area_id"
    table = table.reset_index()
    table["name"] = table["area_id"].map(names) if names is not None else table["area_id"]
    table["area_id"] = table["area_id"].astype(str)
    table["level"] = level
    table = table.sort_values(
        ["providers", "travel_min", "people", "area_id"],
        ascending=[False, False, False, True],
        kind="stable",
    )
    table["rank"] = np.arange(1, len(table) + 1)
    return table[list(HOTSPOT_COLUMNS)]


def overlap_hotspots(
    points: pd.DataFrame,
    *,
    network: RoadNetwork | None = None,
    cell_m: float = 500.0,
    min_providers: int = 2,
    street_max_m: float = 150.0,
    model: FallbackTravelModel | None = None,
) -> pd.DataFrame:
    """Rank streets and grid cells served by two or more providers.

    Parameters
    ----------
    points
        One row per service user: ``service_user_id``, ``provider_id``, ``lat``, ``lon``
        (degrees); optional ``travel_min`` (carer-minutes of travel the person attracts over
        the period, e.g. from reconstructed rounds) or ``calls_per_week`` (used to estimate
        it; see below).
    network
        Road network: enables street ranking (nearest named road within ``street_max_m``)
        and road travel times for the estimate. Without it only cells are ranked and the
        estimate uses the fallback model.
    cell_m
        Grid cell side on the British National Grid, metres.
    min_providers
        Keep areas served by at least this many providers.
    street_max_m
        Farthest a person may be from a named road to count on it, metres.
    model
        Fallback model for the estimate when ``network`` is None.

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` (``"street"`` then ``"cell"``), ``rank`` (1 = best re-allocation
        prospect within the level), ``area_id``, ``name`` (street name or cell id),
        ``people``, ``providers``, ``provider_ids`` (comma-joined), ``travel_min`` (sum of
        carer-minutes), ``lat``/``lon`` (mean of the people). Ranked by providers, then
        travel minutes, then people.

        Without a ``travel_min`` column, a person's minutes are estimated as the travel
        from their provider's nearest other service user times ``calls_per_week`` (1 when
        absent); a provider's only service user counts 0.

    Raises
    ------
    ValueError
        Missing columns, bad positions or ``cell_m <= 0``.
    """
    if cell_m <= 0:
        raise ValueError("Expected cell_m > 0.")
    pts = _check_points(points).reset_index(drop=True)
    pts["service_user_id"] = pts["service_user_id"].astype(str)
    pts["travel_min"] = _travel_min(pts, network, model) if len(pts) else np.zeros(0)
    parts = []
    if network is not None and len(pts):
        streets = nearest_streets(network, pts["lat"], pts["lon"], max_distance_m=street_max_m)
        on_street = pts.assign(street_id=streets["street_id"])[streets["street_id"] >= 0]
        names = pd.Series(streets["street"].to_numpy(), index=streets["street_id"].to_numpy())
        names = names[~names.index.duplicated()]
        parts.append(_rank(on_street, "street_id", "street", names, min_providers))
    cells = pts.assign(
        cell=_grid_cells(pts["lat"].to_numpy(), pts["lon"].to_numpy(), cell_m)
        if len(pts)
        else np.zeros(0, dtype=object)
    )
    parts.append(_rank(cells, "cell", "cell", None, min_providers))
    return pd.concat(parts, ignore_index=True)
