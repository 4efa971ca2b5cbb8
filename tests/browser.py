"""Browser-test helpers: Debian's headless Chromium, and a record of what a page did.

Shared by tests/test_browser.py and tests/screenshots.py (whose server is tests.procs.Dashboard).
Playwright only ever launches /usr/bin/chromium: it must never download a browser.
"""

from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Recorder:
    """Every request a page makes and every script error it reports."""

    def __init__(self, page):
        self.urls, self.errors = [], []
        self.outage = False  # set while the test stops the server on purpose
        page.on("request", lambda request: self.urls.append(request.url))
        # A WebSocket is no "request": without this, a socket to an outside host would pass.
        page.on("websocket", lambda ws: self.urls.append(ws.url))
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(
            f"console: {msg.text} at {msg.location}"))

    def outside(self):
        """Requests and sockets whose host is not loopback (data: and about: URLs have none)."""
        return [url for url in self.urls
                if urlsplit(url).scheme not in ("data", "about", "blob")
                and urlsplit(url).hostname not in LOOPBACK]

    def unexpected(self):
        """Script errors, less the refused socket reconnects of a deliberate server outage."""
        return [error for error in self.errors if not (
            self.outage and "/socket.io/" in error
            and ("ERR_CONNECTION_REFUSED" in error or "WebSocket connection" in error))]

    def assert_clean(self):
        assert self.urls, "the page made no requests at all"
        assert self.outside() == [], f"requests left loopback: {self.outside()}"
        assert self.unexpected() == [], f"script errors: {self.unexpected()}"


def wait_live(page, text=None):
    """Wait until the kiosk ``page`` shows a picture (and ``text``, if given) and is live."""
    page.wait_for_function("t => document.getElementById('link').dataset.link === 'live'"
                           " && document.querySelector('.picture.is-shown').naturalWidth > 0"
                           " && (t === null || document.getElementById('text').textContent === t)",
                           arg=text)
