"""The console's last 24 hours and its list of screens in a real headless Chromium, on a laptop
and a phone: spans drawn, hour ticks, a legend, the table as text alternative, no sideways scroll,
and both kept fresh by the console's polling."""

import pytest
import requests
from playwright.sync_api import expect

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .procs import Dashboard, Screen
from .util import wait_for

pytestmark = pytest.mark.browser

TOKEN = "timeline-operator-token"
STATES = [("HUGGING", "Someone is hugging me!"), ("SHAKING", "Easy there!"),
          ("SPINNING", "Wheee!")]


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    server = Dashboard(azurite, tmp_path_factory.mktemp("timeline") / "server.log",
                       OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5)
    try:
        server.start()
        storage = Storage(azurite, server.queue, "pillow-web")
        try:
            for state, text in STATES:
                storage.send(compose(state, text))
                wait_for(lambda text=text: server.state()["text"] == text, 10, f"{state} shown")
        finally:
            storage.close()
        screen = Screen(server.url, auth={"pillow": "default", "page": "/", "screen": "Lobby",
                                          "build": "an-old-build"})
        yield server
        screen.close()
    finally:
        server.stop()


def spans_of(site):
    return requests.get(f"{site.url}/api/history", timeout=5).json()["spans"]


def sign_in(open_page, site, width, height):
    page, _ = open_page(f"{site.url}/operator/", viewport={"width": width, "height": height})
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#timeline svg .timeline-span")
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_the_last_24_hours_are_drawn_and_fit(site, open_page, width, height):
    page = sign_in(open_page, site, width, height)
    spans = spans_of(site)
    assert [span["state"] for span in spans][-3:] == [state for state, _ in STATES]
    strip = page.locator("#timeline svg")
    expect(strip).to_have_attribute("role", "img")
    expect(strip).to_have_attribute("aria-label", f"States over the last 24 hours: {len(spans)} "
                                    "spans; showing SPINNING since " + page.evaluate(
                                        "iso => new Date(iso).toLocaleTimeString([], {hour: "
                                        "'2-digit', minute: '2-digit', second: '2-digit'})",
                                        spans[-1]["from"]) + ". The table below lists them.")
    drawn = page.eval_on_selector_all("#timeline .timeline-span", """rects => rects.map(r => ({
        state: r.dataset.state, fill: r.getAttribute('fill'),
        width: r.getBoundingClientRect().width}))""")
    assert [rect["state"] for rect in drawn] == [span["state"] for span in spans]
    assert drawn[-1]["fill"] == "#b39ddb" and drawn[-1]["width"] > 0.9  # SPINNING's colour
    # Hour ticks along the whole day, labelled as many as fit.
    assert page.locator("#timeline .timeline-tick").count() >= 23
    labels = page.locator("#timeline .timeline-hour").all_text_contents()
    assert 4 <= len(labels) <= 24 and all(label.endswith(":00") for label in labels)

    box = strip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    legend = page.locator("#timeline-legend li")
    expect(legend).to_have_count(7)
    expect(legend.filter(has_text="HUGGING").locator(".swatch")).to_have_count(1)
    assert page.evaluate("""() => getComputedStyle(document.querySelector(
        '#timeline-legend li:nth-child(2) .swatch')).backgroundColor""") == "rgb(255, 179, 199)"

    # The text alternative: every span as a row, newest first, the last one "now".
    rows = page.locator("#timeline-rows tr")
    expect(rows).to_have_count(len(spans))
    page.click("#timeline-summary")
    expect(rows.first).to_contain_text("now")
    expect(rows.first).to_contain_text("SPINNING")
    expect(rows.first).to_contain_text("Wheee!")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    screen = page.locator("#screen-list li", has_text="Lobby")
    expect(screen).to_have_count(1)
    expect(screen.locator(".screen-stale")).to_have_text("other build")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_a_new_state_reaches_the_strip_by_polling(site, azurite, open_page):
    page = sign_in(open_page, site, 390, 844)
    before = page.locator("#timeline .timeline-span").count()
    storage = Storage(azurite, site.queue, "pillow-web")
    try:
        storage.send(compose("THROWING", "Up and away"))
    finally:
        storage.close()
    page.wait_for_function(
        "n => document.querySelectorAll('#timeline .timeline-span').length === n + 1",
        arg=before, timeout=10_000)
    last = page.locator("#timeline .timeline-span").last
    expect(last).to_have_attribute("data-state", "THROWING")
    expect(page.locator("#timeline-rows tr").first).to_contain_text("Up and away")
