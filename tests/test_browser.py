"""The kiosk and the operator console in a real headless Chromium against a real server process.

Every page records its requests and script errors; each test ends by asserting that nothing left
loopback and nothing failed in the console.
"""

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from pillow_web.domain.messages import compose
from pillow_web.storage.azurite import free_port

from .browser import Recorder
from .procs import Dashboard
from .util import wait_for

pytestmark = pytest.mark.browser

TOKEN = "browser-operator-token"
SWAP_LIMIT = 3.0  # seconds from a message on the queue to the new picture on screen

SHOWN = """() => {
  const img = document.querySelector('.picture.is-shown');
  const link = document.getElementById('link');
  return {src: img.getAttribute('src'), opacity: getComputedStyle(img).opacity,
          loaded: img.complete && img.naturalWidth > 0,
          text: document.getElementById('text').textContent, link: link.dataset.link};
}"""


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    """One server for the tests that do not stop it; each posts its own state and text."""
    server = Dashboard(azurite, tmp_path_factory.mktemp("site") / "server.log",
                       OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5)
    try:  # a start that fails (never healthy) must not leave the process running either
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def server(azurite, dashboards):
    """A server of the test's own, for tests that stop and start it."""
    return dashboards(azurite, None, OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5)


@pytest.fixture(scope="module")
def queue(azurite, site):
    """The shared server's queue, as the pillow sees it: ``queue(state, text)`` posts."""
    from pillow_web.storage.account import Storage

    storage = Storage(azurite, site.queue, "pillow-web")
    yield lambda state, text=None: storage.send(compose(state, text))
    storage.close()


def shown(page):
    return page.evaluate(SHOWN)


def wait_shown(page, image, text, timeout=10_000):
    """Wait until ``image`` is fully faded in with ``text`` under it."""
    page.wait_for_function(
        """([image, text]) => {
          const img = document.querySelector('.picture.is-shown');
          return img.getAttribute('src') === image && getComputedStyle(img).opacity === '1'
            && document.getElementById('text').textContent === text;
        }""", arg=[image, text], timeout=timeout)


def wait_link(page, state, timeout=15_000):
    page.wait_for_function("s => document.getElementById('link').dataset.link === s",
                           arg=state, timeout=timeout)


def settle(page, queue, state="SHAKING"):
    """Post ``state`` with a text of its own and wait until ``page`` shows it: a known start,
    whatever earlier tests left on the shared server."""
    text = f"Settled {uuid.uuid4().hex[:8]}"
    queue(state, text)
    wait_shown(page, f"/static/img/{state.lower()}.svg", text)


def post(server, azurite, state, text=None):
    """Post to a test's own server's queue."""
    from pillow_web.storage.account import Storage

    storage = Storage(azurite, server.queue, "pillow-web")
    try:
        storage.send(compose(state, text))
    finally:
        storage.close()


def test_the_current_picture_shows_on_first_paint(site, queue, open_page):
    queue("SPINNING", "Round and round")
    page, _ = open_page(f"{site.url}/")
    wait_shown(page, "/static/img/spinning.svg", "Round and round")
    # Without any script the server-rendered page already shows the picture and the text.
    static, _ = open_page(None, java_script_enabled=False)
    static.goto(f"{site.url}/", wait_until="load")
    assert shown(static)["src"] == "/static/img/spinning.svg"
    assert shown(static)["loaded"] and shown(static)["opacity"] == "1"
    assert shown(static)["text"] == "Round and round"


def test_a_queued_message_swaps_picture_and_text_within_3_s(site, queue, open_page):
    page, recorder = open_page(f"{site.url}/")
    wait_link(page, "live")
    settle(page, queue)  # not HUGGING, the last swap, whatever the shared server showed before
    took = []
    for state, text in [("NEUTRAL", "One"), ("SPINNING", "Two"), ("HUGGING", "Squeeze!")]:
        started = time.monotonic()
        queue(state, text)  # the picture counts as changed once fully faded in
        wait_shown(page, f"/static/img/{state.lower()}.svg", text, timeout=SWAP_LIMIT * 1000)
        took.append(time.monotonic() - started)
    print(f"\n[figure] queue post -> picture changed in the browser: "
          f"{', '.join(f'{t:.2f}' for t in took)} s")
    assert max(took) < SWAP_LIMIT
    expect(page.locator("#announce")).to_have_text("Squeeze!")
    expect(page.locator("#updated")).to_have_text("updated just now")
    assert shown(page)["loaded"]
    recorder.assert_clean()


def test_the_age_of_the_state_is_shown(site, queue, open_page):
    page, _ = open_page(None)
    page.clock.install()  # the page's clock: timers and Date move only when the test says
    page.goto(f"{site.url}/")
    wait_link(page, "live")
    queue("NEUTRAL", "Aging gracefully")
    wait_shown(page, "/static/img/neutral.svg", "Aging gracefully")
    expect(page.locator("#updated")).to_have_text("updated just now")
    page.clock.fast_forward("02:10")
    expect(page.locator("#updated")).to_have_text("updated 2 min ago")


def test_markup_in_a_text_shows_literally_and_runs_nothing(site, queue, open_page):
    evil = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    page, recorder = open_page(f"{site.url}/")
    wait_link(page, "live")
    queue("PUNCHING", evil)
    wait_shown(page, "/static/img/punching.svg", evil)
    assert page.locator("#text").inner_text() == evil
    assert page.locator("#text *").count() == 0 and page.locator("#announce *").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert not [url for url in recorder.urls if url.endswith("/x")]
    # A fresh page renders the same text from the server's HTML: escaped there too.
    again, _ = open_page(f"{site.url}/")
    assert again.locator("#text").inner_text() == evil and again.locator("#text *").count() == 0
    assert again.evaluate("() => window.pwned") is None


def test_the_page_reconnects_after_a_server_restart(server, azurite, open_page):
    page, recorder = open_page(f"{server.url}/")
    wait_link(page, "live")
    recorder.outage = True
    page.evaluate("() => { window.sameDocument = true; }")
    server.stop()
    wait_link(page, "reconnecting")
    expect(page.locator("#link-text")).to_contain_text("reconnecting")
    server.start()
    wait_link(page, "live")
    post(server, azurite, "THROWING", "after the restart")
    wait_shown(page, "/static/img/throwing.svg", "after the restart")
    assert page.evaluate("() => window.sameDocument") is True  # updated live, not reloaded


def test_a_server_with_a_new_build_reloads_every_screen(server, open_page):
    page, recorder = open_page(f"{server.url}/")
    wait_link(page, "live")
    recorder.outage = True
    old_build = page.locator("#kiosk").get_attribute("data-build")
    page.evaluate("() => { window.sameDocument = true; }")
    server.stop()
    server.start(BUILD_ID="next-build")
    page.wait_for_function("() => document.getElementById('kiosk').dataset.build === 'next-build'",
                           timeout=15_000)
    assert old_build != "next-build"
    assert page.evaluate("() => window.sameDocument") is None  # a new document
    wait_link(page, "live")


def test_the_indicator_says_when_the_server_cannot_reach_the_queue(dashboards, open_page):
    port = free_port()  # closed: nothing listens there (a fixed port might be in use)
    dead = dashboards("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
                      f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
                      f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;", None, ready=False)
    wait_for(lambda: dead.health() == 503, 30, "the server to answer 503")
    page, _ = open_page(f"{dead.url}/")
    wait_link(page, "queue-down")
    expect(page.locator("#link-text")).to_contain_text("pillow data")
    # It never read its state: no picture claims one, the page says it is starting.
    assert shown(page)["src"] is None and shown(page)["text"] == "Starting…"


def test_the_operator_console_reaches_a_kiosk_in_another_tab(server, azurite, open_page):
    # A server of its own: the shared one may still count a screen of an earlier test whose
    # page closed mid-connect (Engine.IO drops such a session only after its ping timeout).
    site = server
    kiosk, _ = open_page(f"{site.url}/")
    wait_link(kiosk, "live")
    # Not HUGGING, what the console posts.
    settle(kiosk, lambda state, text=None: post(site, azurite, state, text))
    console = kiosk.context.new_page()
    recorder = Recorder(console)
    console.goto(f"{site.url}/operator/")
    console.fill("#token", "wrong")
    console.click("button[type=submit]")
    expect(console.locator(".notice.error")).to_contain_text("not the operator token")
    assert [error for error in recorder.errors if "401" in error] == recorder.errors != []
    recorder.errors.clear()  # the refused sign-in was the point: it must not hide other errors
    console.fill("#token", TOKEN)
    console.click("button[type=submit]")
    expect(console.locator("#screens")).to_have_text("1")
    console.fill("#text", "Hello from the console")
    console.click("button.state[value=HUGGING]")
    expect(console.locator("#notice")).to_have_text("Queued HUGGING.")
    wait_shown(kiosk, "/static/img/hugging.svg", "Hello from the console")
    expect(console.locator("#history tr").first).to_contain_text("Hello from the console")
    expect(console.locator("#now-state")).to_have_text("HUGGING")
    kiosk.evaluate("() => { window.sameDocument = true; }")
    console.click("#reload button")
    kiosk.wait_for_function("() => window.sameDocument === undefined")
    wait_link(kiosk, "live")
    console.click("text=Sign out")
    expect(console.locator("#token")).to_be_visible()
    recorder.assert_clean()


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920), (800, 480)])
def test_the_kiosk_fits_every_screen(site, queue, open_page, width, height):
    queue("SHAKING", "A rather long line of text " * 7)
    page, _ = open_page(f"{site.url}/", viewport={"width": width, "height": height})
    wait_shown(page, "/static/img/shaking.svg", ("A rather long line of text " * 7).strip())
    box = page.evaluate("""() => {
      const img = document.querySelector('.picture.is-shown');
      const r = img.getBoundingClientRect(), style = getComputedStyle(img);
      const natural = img.naturalWidth / img.naturalHeight;
      let w = r.width, h = r.height;  // object-fit: fill paints the whole box
      if (style.objectFit === 'contain') {
        const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
        w = img.naturalWidth * scale; h = img.naturalHeight * scale;
      } else if (style.objectFit === 'cover') {
        const scale = Math.max(r.width / img.naturalWidth, r.height / img.naturalHeight);
        w = img.naturalWidth * scale; h = img.naturalHeight * scale;
      }
      const left = r.left + (r.width - w) / 2, top = r.top + (r.height - h) / 2;
      const text = document.getElementById('text').getBoundingClientRect();
      const footer = document.querySelector('.footer').getBoundingClientRect();
      return {left, top, right: left + w, bottom: top + h, ratio: w / h, natural,
              textTop: text.top, textBottom: text.bottom, footerTop: footer.top,
              footerBottom: footer.bottom,
              scrollW: document.documentElement.scrollWidth,
              scrollH: document.documentElement.scrollHeight};
    }""")
    assert box["left"] >= 0 and box["top"] >= 0, box
    assert box["right"] <= width and box["bottom"] <= height, box
    assert abs(box["ratio"] - box["natural"]) < 0.01, box  # not stretched
    assert min(box["right"] - box["left"], box["bottom"] - box["top"]) >= 0.4 * min(width,
                                                                                    height), box
    assert box["bottom"] <= box["textTop"] + 1, box  # the text never covers the picture
    assert box["textBottom"] <= box["footerTop"] + 1 and box["footerBottom"] <= height, box
    assert box["scrollW"] <= width and box["scrollH"] <= height, box


def test_motion_cursor_and_wake_lock(site, open_page):
    page, _ = open_page(None)
    page.add_init_script("""
      window.wakeLockRequests = [];
      if (navigator.wakeLock) {
        const request = navigator.wakeLock.request.bind(navigator.wakeLock);
        navigator.wakeLock.request = (kind) => {
          window.wakeLockRequests.push(kind);
          return request(kind);
        };
      }""")
    page.goto(f"{site.url}/")
    assert page.evaluate("() => 'wakeLock' in navigator")
    assert page.evaluate("() => window.wakeLockRequests") == ["screen"]
    duration = "() => getComputedStyle(document.querySelector('.picture')).transitionDuration"
    assert page.evaluate(duration) != "0s"  # a brief cross-fade
    page.wait_for_function("() => document.body.classList.contains('idle')", timeout=6_000)
    assert page.evaluate("() => getComputedStyle(document.body).cursor") == "none"
    page.mouse.move(20, 20)
    assert page.evaluate("() => document.body.classList.contains('idle')") is False
    still, _ = open_page(f"{site.url}/", reduced_motion="reduce")
    assert still.evaluate(duration) == "0s"


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_the_console_fits_a_laptop_and_a_phone(site, open_page, width, height):
    page, _ = open_page(f"{site.url}/operator/", viewport={"width": width, "height": height})
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("button.state")).to_have_count(7)
    page.wait_for_load_state("load")  # the stylesheet too (see the test below)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for button in page.locator("button.state").all():
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["height"] >= 44, box


def test_the_console_fits_a_phone_before_its_script_runs(site, queue, open_page):
    """The server's own rendering (full ISO times, before the script shortens them) fits too."""
    # A text of its own: NOTCONNECTED alone is also the state before any message.
    text = f"A long history line to wrap ({uuid.uuid4().hex[:8]}): " + "x" * 60
    queue("NOTCONNECTED", text)
    wait_for(lambda: site.state()["text"] == text, 10, "the long line applied")
    page, _ = open_page(None, viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page.goto(f"{site.url}/operator/")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("#history time").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\dT"))
    # The click waits for the navigation to start, not for the stylesheet: measure the page as
    # it is shown, not the unstyled document the parser may have built before it loaded.
    page.wait_for_load_state("load")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
