"""Embedding the kiosk in other sites' pages (FRAME_ANCESTORS): the headers of every page, the
setting's check, and in a real headless Chromium a parent page on an allowed origin that shows
the kiosk in a frame, and one on another origin that does not.
"""

import pytest
from gevent.pywsgi import WSGIServer

from pillow_web.app import create_app
from pillow_web.config import ConfigError
from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import free_port

ALLOWED = "https://intranet.example.com http://127.0.0.1:8080 'self'"


@pytest.fixture
def embeddable(settings):
    app = create_app({**settings, "FRAME_ANCESTORS": ALLOWED, "OPERATOR_TOKEN": "t" * 20})
    yield app.test_client()
    app.extensions["pillow"].storage.close()


def frame_ancestors(response):
    directives = dict(d.strip().split(" ", 1) for d in
                      response.headers["Content-Security-Policy"].split(";"))
    return directives["frame-ancestors"]


def test_the_kiosk_pages_name_the_allowed_parents_and_nothing_else_does(embeddable):
    for page in ("/", "/p/default", "/overview", "/?theme=light"):
        response = embeddable.get(page)
        assert response.status_code == 200, page
        assert frame_ancestors(response) == ALLOWED, page
        assert "X-Frame-Options" not in response.headers, page
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for page in ("/operator/", "/p/no-such-pillow", "/no-such-page", "/api/state", "/healthz",
                 "/static/js/kiosk.js", "/sw.js"):
        response = embeddable.get(page)
        response.close()
        assert frame_ancestors(response) == "'none'", page
        assert response.headers["X-Frame-Options"] == "DENY", page


def test_without_the_setting_no_page_may_be_framed(client):
    for page in ("/", "/overview", "/operator/"):
        response = client.get(page)
        assert frame_ancestors(response) == "'none'" and response.headers["X-Frame-Options"] == (
            "DENY"), page


@pytest.mark.parametrize("bad", ["*", "https://*.example.com", "intranet.example.com",
                                 "https://intranet.example.com/kiosk", "ftp://example.com",
                                 "https://user@example.com", "https://example.com:0",
                                 "https://example.com:70000", "'none'", "'unsafe-inline'",
                                 "https://a.com,https://b.com", "https://a..com"])
def test_a_bad_origin_stops_the_start_with_its_name(settings, bad):
    with pytest.raises(ConfigError, match="FRAME_ANCESTORS") as raised:
        create_app({**settings, "FRAME_ANCESTORS": f"https://fine.example.com {bad}"})
    assert repr(bad) in str(raised.value)


def test_good_origins_are_accepted(settings):
    app = create_app({**settings, "FRAME_ANCESTORS": "http://[::1]:5000 https://kiosk.lan "
                                                     "http://192.168.1.20:8080"})
    app.extensions["pillow"].storage.close()


class ParentSite:
    """A page on its own origin (127.0.0.1:<port>) that frames the dashboard's kiosk."""

    def __init__(self, kiosk_url, port):
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}/"
        page = (f'<!doctype html><html lang="en"><title>Intranet</title>'
                f'<iframe id="kiosk-frame" src="{kiosk_url}" width="800" height="480">'
                f'</iframe></html>').encode()

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [page]

        self.server = WSGIServer(("127.0.0.1", self.port), app, log=None)
        self.server.start()

    def close(self):
        self.server.stop(timeout=1)


@pytest.mark.browser
def test_an_allowed_parent_shows_the_kiosk_and_another_origin_cannot(azurite, dashboards,
                                                                     open_page):
    allowed_port = free_port()
    server = dashboards(azurite, None, POLL_MAX=0.5,
                        FRAME_ANCESTORS=f"http://127.0.0.1:{allowed_port}")
    storage = Storage(azurite, server.queue, "pillow-web")
    storage.send(compose("SPINNING", "Framed and spinning"))
    storage.close()
    allowed = ParentSite(f"{server.url}/", allowed_port)
    refused = ParentSite(f"{server.url}/", free_port())
    try:
        page, _ = open_page(allowed.url)
        page.frame_locator("#kiosk-frame").locator("#text").wait_for()
        kiosk = next(f for f in page.frames if f.url == f"{server.url}/")
        kiosk.wait_for_function(
            "() => document.getElementById('text').textContent === 'Framed and spinning'"
            " && document.getElementById('link').dataset.link === 'live'")

        other, recorder = open_page(None)
        with other.expect_console_message(lambda m: "frame-ancestors" in m.text):
            other.goto(refused.url)
        assert not [f for f in other.frames if f.url == f"{server.url}/"]
        framed = other.frames[1]
        assert framed.evaluate("() => document.getElementById('kiosk')") is None
        # The refusal was the point; it must not hide any other error.
        recorder.errors[:] = [e for e in recorder.errors if "frame-ancestors" not in e]
    finally:
        allowed.close()
        refused.close()
