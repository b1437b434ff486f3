"""Maps of service users by provider: interactive HTML (folium) and static PNG (matplotlib)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import GeoError

POINT_COLUMNS = ("service_user_id", "provider_id", "lat", "lon")
_MARGIN_DEG = 0.05


def _check_points(points: pd.DataFrame) -> pd.DataFrame:
    """Validate the points frame and return it sorted for a stable layer order."""
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise ValueError(
            f"points needs columns {', '.join(missing)}; found "
            f"{', '.join(map(str, points.columns))}."
        )
    lat = pd.to_numeric(points["lat"], errors="coerce")
    lon = pd.to_numeric(points["lon"], errors="coerce")
    bad = lat.isna() | lon.isna() | (lat.abs() > 90) | (lon.abs() > 180)
    if bad.any():
        rows = ", ".join(str(i) for i in points.index[bad.to_numpy()][:10])
        raise ValueError(
            f"{int(bad.sum())} points lack a valid lat/lon (rows {rows}); geocode them first."
        )
    out = points.assign(
        lat=lat.astype(float), lon=lon.astype(float), provider_id=points["provider_id"].astype(str)
    )
    return out


def _colours(providers: list[str]) -> dict[str, str]:
    """One distinct hex colour per provider (tab10 up to ten, else tab20, then cycling)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if len(providers) <= 10 else "tab20"]
    return {p: to_hex(cmap(i % cmap.N)) for i, p in enumerate(providers)}


def _boundaries(path: str | Path, bounds: tuple[float, float, float, float]):  # -> GeoDataFrame
    """LAD boundaries overlapping ``(min_lon, min_lat, max_lon, max_lat)``, WGS84."""
    import geopandas as gpd

    path = Path(path)
    if not path.is_file():
        raise GeoError(f"Boundaries file not found: {path}")
    try:
        frame = gpd.read_file(path, bbox=bounds)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise GeoError(f"{path}: not a readable boundaries file ({exc})") from exc
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame


def _label_column(frame: pd.DataFrame) -> str | None:
    for col in frame.columns:
        if str(col).lower().endswith("nm"):
            return str(col)
    return None


def _extent(points: pd.DataFrame) -> tuple[float, float, float, float]:
    return (
        float(points["lon"].min()) - _MARGIN_DEG,
        float(points["lat"].min()) - _MARGIN_DEG,
        float(points["lon"].max()) + _MARGIN_DEG,
        float(points["lat"].max()) + _MARGIN_DEG,
    )


def service_users_map_html(
    points: pd.DataFrame,
    path: str | Path,
    *,
    boundaries_path: str | Path | None = None,
    tiles: str | None = None,
    title: str = "Service users by provider",
) -> Path:
    """Write an interactive map with one toggleable layer per provider.

    Parameters
    ----------
    points
        Columns ``service_user_id`` (pseudonymous), ``provider_id``, ``lat``, ``lon``
        (degrees). Only the id and provider appear in tooltips.
    path
        Output ``.html`` file.
    boundaries_path
        Optional GeoJSON of local authority boundaries drawn for context (only those
        overlapping the points).
    tiles
        Basemap passed to folium (e.g. ``"OpenStreetMap"``); ``None`` (default) draws no
        basemap, so nothing is fetched and the map works offline.
    title
        Shown at the top of the map.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        Missing columns or points without a valid position.
    GeoError
        Unreadable boundaries file.
    """
    import folium

    pts = _check_points(points)
    providers = sorted(pts["provider_id"].unique())
    colours = _colours(providers)
    fmap = folium.Map(
        location=[pts["lat"].mean(), pts["lon"].mean()] if len(pts) else [54, -2],
        zoom_start=11,
        tiles=tiles,
        control_scale=True,
    )
    fmap.get_root().html.add_child(  # type: ignore[attr-defined]
        folium.Element(
            f'<h3 style="position:absolute;z-index:1000;left:60px;top:5px;margin:0;'
            f'background:white;padding:2px 6px">{html.escape(title)}</h3>'
        )
    )
    if boundaries_path is not None and len(pts):
        frame = _boundaries(boundaries_path, _extent(pts))
        label = _label_column(frame)
        folium.GeoJson(
            frame.to_json(),
            name="Local authority boundaries",
            style_function=lambda _: {"color": "#555555", "weight": 1.5, "fill": False},
            tooltip=folium.GeoJsonTooltip(fields=[label]) if label else None,
        ).add_to(fmap)
    for provider in providers:
        group = pts[pts["provider_id"] == provider]
        layer = folium.FeatureGroup(name=f"{provider} ({len(group)})")
        for uid, lat, lon in zip(group["service_user_id"], group["lat"], group["lon"], strict=True):
            folium.CircleMarker(
                location=[lat, lon],
                radius=5,
                color=colours[provider],
                weight=1,
                fill=True,
                fill_color=colours[provider],
                fill_opacity=0.8,
                tooltip=html.escape(f"{uid} · {provider}"),
            ).add_to(layer)
        layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if len(pts):
        fmap.fit_bounds(
            [[pts["lat"].min(), pts["lon"].min()], [pts["lat"].max(), pts["lon"].max()]]
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(path))
    return path


def service_users_map_png(
    points: pd.DataFrame,
    path: str | Path,
    *,
    boundaries_path: str | Path | None = None,
    title: str = "Service users by provider",
    dpi: int = 150,
) -> Path:
    """Write a static map of service users coloured by provider.

    Parameters
    ----------
    points
        Columns ``service_user_id``, ``provider_id``, ``lat``, ``lon`` (degrees).
    path
        Output ``.png`` file.
    boundaries_path
        Optional GeoJSON of local authority boundaries drawn for context.
    title
        Figure title.
    dpi
        Resolution, dots per inch.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        Missing columns or points without a valid position.
    GeoError
        Unreadable boundaries file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pts = _check_points(points)
    providers = sorted(pts["provider_id"].unique())
    colours = _colours(providers)
    fig = Figure(figsize=(8, 8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if boundaries_path is not None and len(pts):
        min_lon, min_lat, max_lon, max_lat = _extent(pts)
        frame = _boundaries(boundaries_path, (min_lon, min_lat, max_lon, max_lat))
        if len(frame):
            frame.boundary.plot(ax=ax, color="#777777", linewidth=0.8, zorder=1)
        ax.set_xlim(min_lon, max_lon)
        ax.set_ylim(min_lat, max_lat)
    for provider in providers:
        group = pts[pts["provider_id"] == provider]
        ax.scatter(
            group["lon"],
            group["lat"],
            s=14,
            color=colours[provider],
            zorder=2,
            label=f"{provider} ({len(group)})",
            edgecolors="black",
            linewidths=0.3,
        )
    if len(pts):
        ax.set_aspect(1.0 / np.cos(np.radians(float(pts["lat"].mean()))))
    if providers:
        ax.legend(
            loc="upper left",
            fontsize=7,
            title="Provider",
            title_fontsize=8,
            ncols=1 + len(providers) // 20,
        )
    ax.set_title(title)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
