"""The kiosk and the console through deploy/nginx.conf, at the root and under its /pillow/ prefix,
in a real headless Chromium: pictures, the socket and the console's posts all reach the app.

Under the prefix the page must ask for nothing outside it: a site that serves the dashboard at
/pillow/ serves other things at its root. So every request outside the app's URL is refused here
(and any that was made fails the test), whatever deploy/nginx.conf would also answer at its root.
"""

import uuid
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from .browser import Recorder
from .procs import Dashboard

pytestmark = pytest.mark.browser

TOKEN = "prefix-operator-token"
PREFIXES = [None, "/pillow"]


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    """One all-in-one ``serve`` that believes one proxy (nginx) about the client and the prefix;
    each test posts its own text."""
    server = Dashboard(azurite, tmp_path_factory.mktemp("prefix") / "server.log",
                       OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5, TRUSTED_PROXIES=1)
    try:
        yield server.start()
    finally:
        server.close()


def app_url(nginx_proxy, site, prefix):
    return nginx_proxy([site.url.removeprefix("http://")], prefix=prefix)


def only_the_app(page, url):
    """Refuse every request of ``page``'s browser context outside ``url`` (the app's URL through
    nginx), as a site with other things at its root would answer them."""
    def guard(route):
        if urlsplit(route.request.url).path.startswith(inside(url)):
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", guard)


def inside(url):
    return urlsplit(url).path + "/"


def outside(recorder, url):
    """What a page asked for, sockets included, outside the app's URL."""
    return [address for address in recorder.urls
            if not urlsplit(address).path.startswith(inside(url))]


def wait_picture(page, path, text=None):
    """Wait until the picture at ``path`` is fully shown and loaded (with ``text`` under it)."""
    page.wait_for_function(
        """([path, text]) => {
          const img = document.querySelector('.picture.is-shown');
          return img.getAttribute('src') === path && img.complete && img.naturalWidth > 0
            && getComputedStyle(img).opacity === '1'
            && (text === null || document.getElementById('text').textContent === text);
        }""", arg=[path, text])


def wait_live(page, timeout=None):
    page.wait_for_function("() => document.getElementById('link').dataset.link === 'live'",
                           timeout=timeout)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_kiosk_through_nginx_shows_the_picture_and_gets_changes_over_its_socket(
        site, nginx_proxy, open_page, prefix):
    url = app_url(nginx_proxy, site, prefix)
    root = prefix or ""
    text = f"Through nginx {uuid.uuid4().hex[:8]}"
    with requests.Session() as http:  # the write API, under the prefix too
        posted = http.post(f"{url}/api/state", json={"state": "SPINNING", "text": text},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert posted.status_code == 202, posted.text
        page, recorder = open_page(None)
        only_the_app(page, url)
        page.goto(f"{url}/")
        wait_picture(page, f"{root}/static/img/spinning.svg", text)  # server-rendered, or pushed
        wait_live(page)
        # A change after the page loaded can only arrive over the socket, through nginx.
        text = f"Live through nginx {uuid.uuid4().hex[:8]}"
        posted = http.post(f"{url}/api/state", json={"state": "THROWING", "text": text},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert posted.status_code == 202, posted.text
    wait_picture(page, f"{root}/static/img/throwing.svg", text)
    # The socket (polling, then WebSocket) went through nginx at the app's own path.
    sockets = [address for address in recorder.urls if "/socket.io/" in address]
    assert any(address.startswith(f"ws://{urlsplit(url).netloc}{root}/socket.io/")
               for address in sockets), sockets
    # Pictures preloaded for later changes are under the prefix as well.
    assert f"{url}/static/img/hugging.svg" in recorder.urls
    assert outside(recorder, url) == []
    recorder.assert_clean()


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_console_through_nginx_signs_in_and_posts_to_a_kiosk(
        site, nginx_proxy, open_page, prefix):
    url = app_url(nginx_proxy, site, prefix)
    root = prefix or ""
    kiosk, kiosk_recorder = open_page(None)
    only_the_app(kiosk, url)
    kiosk.goto(f"{url}/")
    wait_live(kiosk)
    console = kiosk.context.new_page()
    console.set_default_timeout(10_000)
    recorder = Recorder(console)
    console.goto(f"{url}/operator/")
    console.fill("#token", TOKEN)
    console.click("button[type=submit]")
    expect(console.locator("#console")).to_be_visible()
    assert console.url == f"{url}/operator/"  # the redirect after signing in kept the prefix
    assert console.get_attribute("nav a", "href") == f"{root}/"  # "Open kiosk"
    text = f"From the console {uuid.uuid4().hex[:8]}"
    console.fill("#text", text)
    console.click("button.state[value=PUNCHING]")
    expect(console.locator("#notice")).to_have_text("Queued PUNCHING.")
    wait_picture(kiosk, f"{root}/static/img/punching.svg", text)
    # The console's polled data shows it too, with its picture loaded from under the prefix.
    expect(console.locator("#now-text")).to_have_text(text)
    console.wait_for_function(
        """path => {
          const img = document.getElementById('now-image');
          return img.getAttribute('src') === path && img.complete && img.naturalWidth > 0;
        }""", arg=f"{root}/static/img/punching.svg")
    # "Reload all screens" reaches the kiosk, and the reloaded page is the app's again.
    kiosk.evaluate("() => { window.sameDocument = true; }")
    console.click("#reload button")
    kiosk.wait_for_function("() => window.sameDocument === undefined")
    wait_picture(kiosk, f"{root}/static/img/punching.svg", text)
    wait_live(kiosk)
    assert outside(kiosk_recorder, url) == outside(recorder, url) == []
    recorder.assert_clean()
