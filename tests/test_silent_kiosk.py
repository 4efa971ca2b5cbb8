"""A pillow that went silent, in a real headless Chromium against a real dashboard: with
SILENT_SHOWS_NOTCONNECTED its kiosk shows the NOTCONNECTED picture and when the pillow last
spoke, until its next message; a pillow whose table turns the option off keeps its state (and
only /healthz and the console warn).
"""

import pytest

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .browser import wait_live
from .procs import Dashboard

pytestmark = pytest.mark.browser

SILENT_AFTER = 2  # seconds; the server looks every 5 s, so a kiosk turns within 7
TURNS_WITHIN = 15_000  # ms
NO_WORD = "No word from the pillow since "
# Functions, not expressions: the page's CSP allows no eval.
SHOWS_NO_WORD = f"() => document.getElementById('text').textContent.startsWith({NO_WORD!r})"
PICTURE = "() => document.querySelector('.picture.is-shown').getAttribute('src')"
TEXT = "() => document.getElementById('text').textContent"


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    """A server of two pillows on one queue: "hall" follows the settings (SILENT_AFTER, and
    silences shown), "den" does not show its silences."""
    folder = tmp_path_factory.mktemp("silent")
    config = folder / "pillows.toml"
    config.write_text('[[pillow]]\nid = "hall"\nname = "Hallway"\n\n[[pillow]]\nid = "den"\n'
                      'name = "Den"\nsilent_shows_notconnected = false\n', encoding="utf-8")
    with Dashboard(azurite, folder / "server.log", POLL_MAX=0.5, CONFIG=config,
                   SILENT_AFTER=SILENT_AFTER, SILENT_SHOWS_NOTCONNECTED="true") as server:
        yield server.start()


@pytest.fixture
def post(azurite, site):
    """``post(pillow, state, text)``: a message on the server's queue, as that pillow sends it."""
    storage = Storage(azurite, site.queue, "pillow-web")
    yield lambda pillow, state, text: storage.send(compose(state, text, pillow=pillow))
    storage.close()


def silent_kinds(site):
    response = site.get("/healthz")
    assert response.status_code == 200  # warnings never change it
    return {warning["pillow"]: warning["message"] for warning in response.json()["warnings"]
            if warning["kind"] == "silent"}


def test_a_silent_pillow_s_kiosk_shows_notconnected_until_its_next_message(site, post,
                                                                          open_page):
    post("den", "SHAKING", "den shakes")
    post("hall", "HUGGING", "hall hugs")
    hall, _ = open_page(f"{site.url}/p/hall")
    den, _ = open_page(f"{site.url}/p/den")
    wait_live(hall, "hall hugs")
    wait_live(den, "den shakes")

    hall.wait_for_function(SHOWS_NO_WORD, timeout=TURNS_WITHIN)
    assert hall.evaluate(PICTURE).endswith("/static/img/notconnected.svg")
    # The corner still says how the link is: the server and the queue are fine.
    assert hall.evaluate("() => document.getElementById('link').dataset.link") == "live"
    assert hall.evaluate("() => document.getElementById('link-text').textContent") == "live"
    warned = silent_kinds(site)
    assert warned["hall"].startswith("no message from Hallway for ")
    assert warned["den"].startswith("no message from Den for ")  # a warning, but no picture

    # A page loaded now shows the silence at once: rendered so, then with the time.
    page = site.get("/p/hall").text
    assert 'src="/static/img/notconnected.svg"' in page and "No word from the pillow<" in page
    again, _ = open_page(f"{site.url}/p/hall")
    again.wait_for_function(SHOWS_NO_WORD, timeout=3_000)

    post("hall", "PUNCHING", "hall is back")
    wait_live(hall, "hall is back")
    assert hall.evaluate(PICTURE).endswith("/static/img/punching.svg")
    # Silent again a pass or more later: any push for the den would have come long before.
    hall.wait_for_function(SHOWS_NO_WORD, timeout=TURNS_WITHIN)
    assert den.evaluate(TEXT) == "den shakes"
    assert den.evaluate(PICTURE).endswith("/static/img/shaking.svg")
