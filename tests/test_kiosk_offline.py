"""A kiosk whose browser starts or reloads while the server is down, in a real headless Chromium
against a real server process that the tests stop and start: the service worker's copy shows the
last picture and text, says "reconnecting", goes live by itself, and still loads a new build.
"""

from time import monotonic
from urllib.parse import urlsplit

import pytest

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .browser import Recorder
from .util import wait_for

pytestmark = pytest.mark.browser

SHOWN = """([image, text]) => {
  const img = document.querySelector('.picture.is-shown');
  return img.getAttribute('src') === image && img.complete && img.naturalWidth > 0
    && getComputedStyle(img).opacity === '1'
    && document.getElementById('text').textContent === text;
}"""
# Every file the page loaded and every picture, kept by the worker (top-level caches.match
# looks in all of the origin's caches).
KEPT = """async () => {
  const kiosk = document.getElementById('kiosk');
  const urls = [location.pathname,
    ...[...document.querySelectorAll('script[src], link[href]')].map(el => el.src || el.href),
    ...JSON.parse(kiosk.dataset.images).map(image => document.body.dataset.root + image)];
  const found = await Promise.all(urls.map(url => caches.match(url)));
  return found.every(Boolean);
}"""
# Records every link state the page shows from now on.
WATCH_LINK = """() => {
  const link = document.getElementById('link');
  window.linkStates = [link.dataset.link];
  new MutationObserver(() => window.linkStates.push(link.dataset.link))
    .observe(link, {attributes: true, attributeFilter: ['data-link']});
}"""
LIGHT = "() => document.documentElement.classList.contains('theme-light')"


@pytest.fixture
def server(azurite, dashboards):
    return dashboards(azurite, None, POLL_MAX=0.5)


def post(server, azurite, state, text):
    storage = Storage(azurite, server.queue, "pillow-web")
    try:
        storage.send(compose(state, text))
    finally:
        storage.close()


def wait_shown(page, state, text, timeout=10_000):
    page.wait_for_function(SHOWN, arg=[f"/static/img/{state.lower()}.svg", text],
                           timeout=timeout)


def wait_link(page, state, timeout=15_000):
    page.wait_for_function("s => document.getElementById('link').dataset.link === s",
                           arg=state, timeout=timeout)


def test_a_kiosk_reloaded_while_the_server_is_down_shows_the_last_state(server, azurite,
                                                                       open_page):
    page, recorder = open_page(f"{server.url}/?screen=Hall%20left&theme=light")
    wait_link(page, "live")
    page.wait_for_function(KEPT)
    post(server, azurite, "SHAKING", "Shaken before the outage")
    wait_shown(page, "SHAKING", "Shaken before the outage")

    recorder.outage = True
    server.stop()
    wait_link(page, "reconnecting")
    started = monotonic()
    page.reload()
    # The worker's copy of the page, with the state this screen showed last (newer than the
    # copy's own), saying it is not live.
    assert page.evaluate("() => document.body.hasAttribute('data-offline')")
    page.evaluate(WATCH_LINK)
    wait_shown(page, "SHAKING", "Shaken before the outage")
    offline_shown = monotonic() - started
    assert page.locator("#link").get_attribute("data-link") == "reconnecting"
    assert page.evaluate(LIGHT)  # the screen's options apply offline too
    assert page.locator("#link-text").text_content().startswith("reconnecting")
    # A browser that starts again (a new tab of the same profile) gets the same.
    fresh = page.context.new_page()
    fresh_recorder = Recorder(fresh)
    fresh_recorder.outage = True
    fresh.goto(f"{server.url}/?screen=Hall%20left&theme=light")
    wait_shown(fresh, "SHAKING", "Shaken before the outage")
    assert fresh.locator("#link").get_attribute("data-link") == "reconnecting"
    fresh.close()
    assert fresh_recorder.unexpected() == []
    # Nothing but the kiosk pages and static files was kept.
    kept = page.evaluate("""async () => (await Promise.all((await caches.keys()).map(
        async name => (await (await caches.open(name)).keys()).map(r => r.url)))).flat()""")
    paths = [urlsplit(url).path for url in kept]
    assert "/" in paths and all(p == "/" or p.startswith("/static/") for p in paths), paths

    # All the while the server was down it said so (and its socket kept trying).
    assert set(page.evaluate("() => window.linkStates")) == {"reconnecting"}
    page.evaluate("() => { window.sameDocument = true; }")
    server.start()
    started = monotonic()
    wait_link(page, "live")
    print(f"\n[figure] reload with the server down -> last picture shown: {offline_shown:.2f} s;"
          f" server healthy -> page live: {monotonic() - started:.2f} s")
    post(server, azurite, "THROWING", "Back after the outage")
    wait_shown(page, "THROWING", "Back after the outage")
    assert page.evaluate("() => window.sameDocument") is True  # went live by itself

    # Served by the worker or not, a new build announced is loaded, options and all.
    old_build = page.locator("#kiosk").get_attribute("data-build")
    server.stop()
    server.start(BUILD_ID="next-build")
    page.wait_for_function(
        "() => document.getElementById('kiosk').dataset.build === 'next-build'", timeout=15_000)
    assert old_build != "next-build" and page.evaluate("() => window.sameDocument") is None
    assert not page.evaluate("() => document.body.hasAttribute('data-offline')")
    assert page.url.endswith("/?screen=Hall%20left&theme=light") and page.evaluate(LIGHT)
    wait_link(page, "live")
    wait_shown(page, "THROWING", "Back after the outage")


def test_the_newer_of_the_pages_state_and_the_saved_one_shows(server, azurite, open_page):
    """A saved state older than the page's (another screen saw less) never wins; a newer one
    does, and a saved value that is not a state is ignored. (With the server down: a live
    server's socket would bring its own state at once.)"""
    post(server, azurite, "HUGGING", "The page's own state")
    # Applied before the page loads: the copy the worker keeps of it then holds this state.
    wait_for(lambda: server.state().get("text") == "The page's own state", 10, "HUGGING applied")
    page, recorder = open_page(f"{server.url}/")
    wait_shown(page, "HUGGING", "The page's own state")
    page.wait_for_function(KEPT)  # the copy's own state: HUGGING
    key = page.evaluate("() => Object.keys(localStorage).find(k => k.startsWith('pillow-web:'))")
    saved = page.evaluate("k => JSON.parse(localStorage.getItem(k))", key)
    assert saved["state"]["text"] == "The page's own state"
    recorder.outage = True
    server.stop()
    older = {**saved["state"], "text": "Older", "received_at": "2001-01-01T00:00:00.000000Z"}
    newer = {**saved["state"], "state": "SPINNING", "image": "/static/img/spinning.svg",
             "text": "Newer", "received_at": "2999-01-01T00:00:00.000000Z"}
    for value in ({"state": older}, "not json {", {"state": "HUGGING"}, [], {"state": None}):
        page.evaluate("([k, v]) => localStorage.setItem(k, typeof v === 'string' ? v :"
                      " JSON.stringify(v))", [key, value])
        page.reload()
        wait_shown(page, "HUGGING", "The page's own state")
    page.evaluate("([k, v]) => localStorage.setItem(k, JSON.stringify(v))",
                  [key, {"state": newer}])
    page.reload()
    wait_shown(page, "SPINNING", "Newer")
    assert page.evaluate("() => document.body.hasAttribute('data-offline')")
    assert recorder.unexpected() == []


def test_the_worker_is_served_fresh_with_the_apps_scope(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert b'addEventListener("fetch"' in response.data
    response.close()


def test_under_a_path_prefix_the_worker_covers_only_the_app(azurite, dashboards, nginx_proxy,
                                                            open_page):
    server = dashboards(azurite, None, POLL_MAX=0.5, TRUSTED_PROXIES=1)
    url = nginx_proxy([server.url.removeprefix("http://")], prefix="/pillow")
    page, _ = open_page(f"{url}/")
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert urlsplit(scope).path == "/pillow/"
    page.wait_for_function(KEPT)
