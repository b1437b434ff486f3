"""The web page: server-rendered HTML with Leaflet and Chart.js served from this package.

The page carries no data of its own: after the user signs in with a token, its script calls
the same API (with the same roles and access log) as any other client. No map tiles or CDN
are fetched unless a tile URL is configured, so it works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

STATIC_DIR = Path(__file__).resolve().parent / "static"

_templates = Environment(
    loader=PackageLoader("app.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The single-page console for brokers and contract managers."""
    settings = request.app.state.settings
    html = _templates.get_template("index.html").render(
        tile_url=settings.api.map_tile_url, environment=settings.environment
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": (
                "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def mount_static(app: FastAPI) -> None:
    """Serve the page's scripts, styles and vendored libraries under /static."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
