"""The web page: served offline, carries no data, and loads only its own assets."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.settings import Settings
from app.web import STATIC_DIR


@pytest.fixture
def page_client(tmp_path):  # type: ignore[no-untyped-def]
    """A client on an app whose database is never touched by the page itself."""
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'x.sqlite'}")
    with TestClient(create_app(settings)) as client:
        yield client


def test_page_is_served_with_a_strict_policy(page_client):
    """The page is HTML with a same-origin content security policy and no framing."""
    response = page_client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_page_loads_only_local_assets(page_client):
    """Every script and stylesheet is served by the app itself: it works with no network."""
    html = page_client.get("/").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        assert page_client.get(asset).status_code == 200, asset


def test_no_tiles_unless_configured(page_client):
    """Without a configured tile server the map draws points only (no tile requests)."""
    assert 'data-tile-url=""' in page_client.get("/").text


def test_vendored_libraries_keep_their_licences():
    """Leaflet and Chart.js ship with their licence files."""
    assert "BSD" in (STATIC_DIR / "vendor/leaflet/LICENSE").read_text()
    assert "MIT" in (STATIC_DIR / "vendor/chartjs/LICENSE.md").read_text()


def test_script_never_uses_inner_html():
    """Records reach the page as text only, so no record can inject markup."""
    assert "innerHTML" not in (STATIC_DIR / "app.js").read_text().replace("never innerHTML", "")


def test_page_is_not_in_the_openapi(page_client):
    """The OpenAPI description lists the API only."""
    paths = page_client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert all(p.startswith("/api/") for p in paths)
