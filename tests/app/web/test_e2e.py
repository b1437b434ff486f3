"""End to end in headless Chromium: sign in, see the map by provider, place a package, audit."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from app.api import create_app
from tests.app.api.conftest import (  # noqa: F401  (fixtures)
    api_settings,
    tokens,
    two_providers_same_street,
)

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def database_url(tmp_path) -> str:
    """The browser test runs on SQLite only (the API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'e2e.sqlite'}"


@pytest.fixture
def live_server(engine, api_settings) -> Iterator[str]:  # noqa: F811
    """The app served by uvicorn on a free loopback port, for the browser."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(api_settings, engine=engine),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    """A Chromium page (Debian's chromium; skipped where it is not installed)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian's chromium is not installed (scripts/install-chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        yield page
        browser.close()


def _sign_in(page, url: str, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")


def test_broker_sees_map_and_places_a_package(
    live_server,
    browser_page,
    tokens,  # noqa: F811
    two_providers_same_street,  # noqa: F811
):
    """Log in, see both providers and their service users, submit a placement, see proposals."""
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _sign_in(page, live_server, tokens.by_role["broker"])
    page.wait_for_selector("#provider-legend li[data-provider=P2]")
    assert page.locator("#provider-legend li").count() == 2
    page.wait_for_selector("#map[data-service-users='4']", state="attached")
    assert "broker" in page.inner_text("#whoami")

    page.click("nav [data-tab=placement]")
    page.fill("#placement-form [name=area]", "Wisbech")
    page.fill("#placement-form [name=day]", "2026-10-05")
    page.fill("#placement-form [name=lat]", "52.6645")
    page.fill("#placement-form [name=lon]", "0.1605")
    page.fill("#placement-form [name=calls]", "1")
    page.click("#placement-form button[type=submit]")
    page.wait_for_selector("#proposals li.proposal")
    assert page.locator("#proposals li.proposal").count() == 2
    assert "P1" in page.inner_text("#proposals") and "P2" in page.inner_text("#proposals")
    assert all(u.startswith(live_server) for u in requests), "the page fetched off-site"


def test_contract_manager_drills_into_a_providers_flags(
    live_server,
    browser_page,
    tokens,  # noqa: F811
    two_providers_same_street,  # noqa: F811
):
    """The audit view lists money per provider; clicking one shows its flags with evidence."""
    page = browser_page
    _sign_in(page, live_server, tokens.by_role["contract_manager"])
    page.click("nav [data-tab=audit]")
    page.wait_for_selector("#provider-months tbody tr[data-provider=P1]")
    page.click("#provider-months tbody tr[data-provider=P1]")
    page.wait_for_selector("#flag-drilldown:not([hidden]) #flags tbody tr")
    assert "Verified 20 min of 30 planned" in page.inner_text("#flags")
    assert "SECRET-NOTE" not in page.content()


def test_bad_token_is_refused_on_the_page(live_server, browser_page):
    """A wrong token leaves the user on the sign-in form with the API's message."""
    page = browser_page
    page.goto(live_server)
    page.fill("#token", "crt_wrong")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-panel:not([hidden])")
    assert page.locator("#console").is_hidden()
