"""Service-user maps (geo/maps.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo import service_users_map_html, service_users_map_png


@pytest.fixture
def three_providers_in_rutland() -> pd.DataFrame:
    """Five service users of three providers in Oakham and Uppingham."""
    return pd.DataFrame(
        {
            "service_user_id": ["su1", "su2", "su3", "su4", "su5"],
            "provider_id": ["P-Alpha", "P-Alpha", "P-Beta", "P-Gamma", "P-Beta"],
            "lat": [52.6707, 52.6712, 52.6700, 52.5886, 52.5890],
            "lon": [-0.7275, -0.7260, -0.7290, -0.7235, -0.7220],
        }
    )


def test_html_has_one_layer_per_provider_and_no_tiles(tmp_path, three_providers_in_rutland) -> None:
    """The HTML map names each provider layer with its count and references no tile server."""
    path = service_users_map_html(three_providers_in_rutland, tmp_path / "map.html")
    text = path.read_text()
    for layer in ("P-Alpha (2)", "P-Beta (2)", "P-Gamma (1)"):
        assert layer in text
    assert text.count("L.circleMarker") == 5
    assert "tile.openstreetmap" not in text and "{z}" not in text


def test_html_with_boundaries(tmp_path, three_providers_in_rutland, lad_geojson) -> None:
    """With the LAD file, Rutland's boundary is drawn for context."""
    path = service_users_map_html(
        three_providers_in_rutland, tmp_path / "map.html", boundaries_path=lad_geojson
    )
    text = path.read_text()
    assert "Rutland" in text and "Local authority boundaries" in text


def test_html_tiles_are_opt_in(tmp_path, three_providers_in_rutland) -> None:
    """A named basemap is referenced only when asked for (not fetched: nothing is opened)."""
    path = service_users_map_html(
        three_providers_in_rutland, tmp_path / "map.html", tiles="OpenStreetMap"
    )
    assert "tile.openstreetmap.org" in path.read_text()


def test_png_is_written(tmp_path, three_providers_in_rutland, lad_geojson) -> None:
    """The static map is a real PNG file."""
    path = service_users_map_png(
        three_providers_in_rutland, tmp_path / "out" / "map.png", boundaries_path=lad_geojson
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_bad_points_are_refused(tmp_path, three_providers_in_rutland) -> None:
    """Missing columns or positions raise ValueError naming them; a missing boundaries file too."""
    with pytest.raises(ValueError, match="provider_id"):
        service_users_map_html(
            three_providers_in_rutland.drop(columns="provider_id"), tmp_path / "m.html"
        )
    bad = three_providers_in_rutland.assign(lat=[52.67, None, 52.67, 52.58, 52.58])
    with pytest.raises(ValueError, match=r"rows 1"):
        service_users_map_png(bad, tmp_path / "m.png")
    from geo import GeoError

    with pytest.raises(GeoError, match=r"nowhere\.geojson"):
        service_users_map_png(
            three_providers_in_rutland,
            tmp_path / "m.png",
            boundaries_path=tmp_path / "nowhere.geojson",
        )
