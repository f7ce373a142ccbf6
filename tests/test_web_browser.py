"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against
``critmin serve`` running as a subprocess. Screenshots go to ``tests/web/screenshots/``.

Every request the page makes must go to the app itself: plotly.js and the map geometry are
served locally, so a request to any other host fails the test.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from web.servers import PASSWORD, create_user, sqlite_url, start_server

CHROMIUM = Path(os.environ.get("CRITMIN_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(__file__).resolve().parent / "web" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    url = sqlite_url(folder)
    create_user(url, "analyst@a.gov", "Ministry A", "analyst", "USA")
    running = start_server(url, folder / "serve.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    """A fresh page whose every request must stay on the app's own origin."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    foreign: list[str] = []

    def guard(route):
        if route.request.url.startswith(server.base):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda err: errors.append(str(err)))
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
    assert foreign == [], f"requests left the app: {foreign}"
    assert errors == [], f"JavaScript errors: {errors}"


def login(page, base: str) -> None:
    page.goto(base + "/")
    page.fill("#login-email", "analyst@a.gov")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#nav:not([hidden])")


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a real picture, not a blank page
    return path


def test_wrong_password_says_so(page, server):
    page.goto(server.base + "/")
    page.fill("#login-email", "analyst@a.gov")
    page.fill("#login-password", "not the password")
    page.click("#login-submit")
    page.wait_for_selector("#login-message:has-text('not recognised')")
    assert page.is_hidden("#nav")


def test_map_of_production_shares(page, server):
    login(page, server.base)
    page.wait_for_selector("#map-message.ok")
    assert page.input_value("#map-commodity") == "rare-earths"
    paths = page.locator("#map-plot path.choroplethlocation")
    assert paths.count() >= 10  # one shape per producing country, drawn from local geometry
    assert "rare-earths — mine production" in page.text_content("#map-plot .gtitle")
    shot(page, "01-map")
    page.select_option("#map-commodity", "cobalt")
    page.click("#map-form button")
    page.wait_for_selector("#map-plot .gtitle:has-text('cobalt')")
    shot(page, "02-map-cobalt")


def test_chain_sankey_and_risk_table(page, server):
    login(page, server.base)
    page.click("nav a[data-view=chain]")
    page.wait_for_selector("#chain-message.ok")
    nodes = page.locator("#chain-plot .sankey-node")
    assert nodes.count() >= 10
    assert "use: United States" in page.text_content("#chain-plot")
    shot(page, "03-sankey")
    page.click("nav a[data-view=risk]")
    page.wait_for_selector("#risk-message.ok")
    rows = page.locator("#risk-table tr")
    assert rows.count() > 20
    assert page.inner_text("#risk-table tr:nth-child(1) th:nth-child(4)") == "HHI (0–10,000)"
    shot(page, "04-risk")


def test_narrow_window(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    login(tab, server.base)
    tab.wait_for_selector("#map-message.ok")
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing sticks out sideways
    box = tab.locator("#map-plot").bounding_box()
    assert box is not None and box["width"] <= 390
    shot(tab, "05-narrow-map")
    context.close()


def test_scenario_editor_validates_and_saves(page, server):
    login(page, server.base)
    page.click("nav a[data-view=editor]")
    playwright_api.expect(page.locator("#scenario-text")).to_have_value(
        re.compile("chains"), timeout=30_000)
    text = page.input_value("#scenario-text")
    page.fill("#scenario-text", text.replace("value: 0.5", "value: 1.5"))
    page.click("#validate")
    page.wait_for_selector("#editor-message.error")
    message = page.inner_text("#editor-message")
    assert "field 'shocks[0].value': 1.5 is out of range; allowed: <= 1" in message
    assert message.startswith("scenario:")  # the line to fix comes first
    shot(page, "06-editor-error")
    page.fill("#scenario-text", text)
    page.click("#validate")
    page.wait_for_selector("#editor-message.ok:has-text('valid')")
    page.fill("#scenario-name", "browser scenario")
    page.click("#save")
    page.wait_for_selector("#editor-message.ok:has-text('saved')")
    shot(page, "07-editor-valid")


def test_run_a_scenario_and_see_the_price_chart(page, server):
    login(page, server.base)
    page.click("nav a[data-view=editor]")
    playwright_api.expect(page.locator("#scenario-text")).to_have_value(
        re.compile("chains"), timeout=30_000)
    page.fill("#scenario-name", "browser run")
    page.click("#run")
    page.wait_for_selector("#runs-message:has-text('succeeded')", timeout=120_000)
    page.wait_for_selector("#run-figure-1 .scatterlayer .trace")
    title = page.text_content("#run-figure-1 .gtitle")
    assert title.startswith("rare-earths/separated: price by bloc")
    legend = page.text_content("#run-figure-1 .legend")
    for bloc in ("china", "club", "rest"):
        assert bloc in legend
    assert page.locator("#runs-table tr").count() >= 2
    assert "succeeded" in page.inner_text("#runs-table")
    shot(page, "08-run-results")


def test_menu_placeholder_says_what_is_missing(page, server):
    login(page, server.base)
    page.click("nav a[data-view=menu]")
    page.wait_for_selector("#menu-message:has-text('not part of this build')")
    shot(page, "09-menu")
