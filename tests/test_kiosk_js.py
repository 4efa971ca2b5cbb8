"""What a kiosk left alone for weeks runs into, in a real headless Chromium: a wrong clock, a
picture that fails to load, a slow picture overtaken by the next change, two builds behind one
address, and an operator's Enter key.
"""

import pytest
from playwright.sync_api import expect

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .util import wait_for

pytestmark = pytest.mark.browser

TOKEN = "kiosk-js-operator-token"
HOUR_AHEAD = "(() => { const now = Date.now; Date.now = () => now() + 3600 * 1000; })()"


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    """One server for this module's tests; each posts its own state and text."""
    from .procs import Dashboard

    server = Dashboard(azurite, tmp_path_factory.mktemp("kiosk-js") / "server.log",
                       OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5)
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def post(azurite, site):
    """``post(state, text)``: put a message on the server's queue, as the pillow does."""
    storage = Storage(azurite, site.queue, "pillow-web")
    yield lambda state, text: storage.send(compose(state, text))
    storage.close()


def wait_text(page, text):
    page.wait_for_function("t => document.getElementById('text').textContent === t", arg=text)


def pumped(page, value):
    """``value`` after letting Playwright run: it calls route handlers only inside its own calls."""
    page.wait_for_timeout(20)
    return value


def shown_src(page):
    return page.evaluate("() => document.querySelector('.picture.is-shown').getAttribute('src')")


def test_the_age_is_reckoned_by_the_servers_clock(site, post, open_page):
    """A kiosk whose clock is an hour fast still says "just now" for a fresh state."""
    post("THROWING", "Fresh off the pillow")
    page, _ = open_page(None)
    page.add_init_script(HOUR_AHEAD)
    page.goto(f"{site.url}/")
    wait_text(page, "Fresh off the pillow")
    assert page.evaluate("() => Date.now() - new Date().getTime()") > 3500 * 1000  # skewed
    expect(page.locator("#updated")).to_have_text("updated just now")


def test_a_picture_that_fails_to_load_is_fetched_again(site, post, open_page):
    """The first request for the shown picture fails: the kiosk loads it again, never blank."""
    post("SHAKING", "Picture after a hiccup")
    page, recorder = open_page(None)
    failed = []

    def fail_once(route):
        if not failed:
            failed.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/static/img/shaking.svg", fail_once)
    page.goto(f"{site.url}/")
    wait_text(page, "Picture after a hiccup")
    page.wait_for_function("""() => {
      const img = document.querySelector('.picture.is-shown');
      return img.getAttribute('src') === '/static/img/shaking.svg' && img.naturalWidth > 0
        && getComputedStyle(img).opacity === '1';
    }""", timeout=15_000)
    assert failed, "the picture's first request was not intercepted"
    # The aborted request is the point of the test; it must not hide any other error.
    recorder.errors[:] = [e for e in recorder.errors if "shaking.svg" not in e]


def test_a_slow_picture_overtaken_by_the_next_change_never_lands(site, post, open_page):
    """HUGGING → PUNCHING (picture still loading) → HUGGING: the screen ends on HUGGING."""
    post("HUGGING", "Hug one")
    page, _ = open_page(None)
    held = []
    page.route("**/static/img/punching.svg", lambda route: held.append(route))  # answered later
    page.goto(f"{site.url}/", wait_until="domcontentloaded")  # "load" waits for the preloads
    wait_text(page, "Hug one")
    post("PUNCHING", "A punch, its picture slow")
    wait_text(page, "A punch, its picture slow")
    post("HUGGING", "Hug two")
    wait_text(page, "Hug two")
    wait_for(lambda: pumped(page, held), 10, "the punching picture to be requested")
    for route in held:
        route.continue_()
    page.wait_for_function("""() => [...document.querySelectorAll('.picture')].some(img =>
        img.getAttribute('src') === '/static/img/punching.svg' && img.complete)""")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    assert shown_src(page) == "/static/img/hugging.svg"


def test_a_new_build_reloads_only_into_that_build(azurite, dashboards, open_page):
    """Behind a load balancer the socket may reach a new build while the page still comes from
    the old one: the kiosk must stay, not reload for ever; once the new page is served, it loads.
    """
    server = dashboards(azurite, None, BUILD_ID="build-one")
    old_page = server.get("/").text
    page, recorder = open_page(f"{server.url}/")
    navigations = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(1))
    page.wait_for_function("() => document.getElementById('link').dataset.link === 'live'")
    recorder.outage = True
    served_old = []

    def serve_old(route):  # the old build still answering for the page
        served_old.append(route.request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=old_page)

    page.route(f"{server.url}/", serve_old)
    server.stop()
    server.start(BUILD_ID="build-two")
    wait_for(lambda: pumped(page, served_old), 15,
             "the kiosk to fetch its page on the new build's hello")
    page.unroute(f"{server.url}/")
    server.stop()
    server.start(BUILD_ID="build-two")  # a hello again, and now the page is the new build too
    page.wait_for_function("() => document.getElementById('kiosk').dataset.build === 'build-two'",
                           timeout=15_000)
    page.wait_for_function("() => document.getElementById('link').dataset.link === 'live'")
    assert len(navigations) == 1, "reloaded into the old build"


def test_enter_in_the_operators_text_box_sends_nothing(site, open_page):
    console, recorder = open_page(f"{site.url}/operator/")
    console.fill("#token", TOKEN)
    console.click("button[type=submit]")
    console.fill("#text", "Typed, then Enter")
    console.press("#text", "Enter")
    console.click("button.state[value=SPINNING]")
    expect(console.locator("#notice")).to_have_text("Queued SPINNING.")
    sent = [url for url in recorder.urls if url.endswith("/operator/state")]
    assert len(sent) == 1, sent


def test_the_operator_console_clears_a_lost_server_notice(site, open_page):
    console, _ = open_page(f"{site.url}/operator/")
    console.fill("#token", TOKEN)
    console.click("button[type=submit]")
    expect(console.locator("#screens")).to_be_visible()
    console.evaluate("() => { const n = document.getElementById('notice');"
                     " n.textContent = 'Cannot reach the server; retrying.';"
                     " n.dataset.kind = 'lost'; }")
    expect(console.locator("#notice")).to_have_text("", timeout=10_000)
