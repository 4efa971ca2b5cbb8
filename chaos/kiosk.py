"""One Chromium kiosk on the dashboard, as a wall screen sees it: what it received, what it showed.

Two files in the run folder (JSON lines, epoch seconds) for the checker to compare with what was
sent. ``screens.jsonl``: every ``state`` event the page's socket received, with ``conn``, the
number of its Engine.IO session (one more per reconnect), and a ``connect`` and ``disconnect``
line per session; Socket.IO opens each session by long-polling before it upgrades to a WebSocket,
so the first states of a session come in polling responses: both are read. ``kiosk.jsonl``: the
text and picture the page shows, each time either changes (a MutationObserver put in the page on
every load), and a ``reload`` line each time the page loads again (a new build, an operator's
reload). A state received but shown late or never is the difference between the two files.

Playwright's sync objects live in one thread of their own; other threads read ``shown()``.
"""

import json
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import sync_playwright

from tests.browser import launch

WRITING = threading.Lock()  # one line at a time into files other observers append to as well
# Reports the text and the picture shown on every change; runs again on every load.
OBSERVER = """(() => {
  let last = null;
  function record() {
    const text = document.getElementById("text"), root = document.body.dataset.root || "";
    const img = document.querySelector("#kiosk .picture.is-shown"), src = img && img.src;
    const image = src ? new URL(src).pathname.slice(root.length) : null;
    const now = {text: text ? text.textContent : null, image: image};
    if (JSON.stringify(now) !== last) { last = JSON.stringify(now); window.kioskShown(now); }
  }
  addEventListener("DOMContentLoaded", () => {
    const main = document.getElementById("kiosk");
    if (main) new MutationObserver(record).observe(main, {subtree: true, childList: true,
      characterData: true, attributes: true, attributeFilter: ["src", "class"]});
    if (main) record();
  });
})();"""


def append(path, record):
    with WRITING, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def chromium_pids():
    """Chromium processes descending from this one (Playwright's driver starts the browser)."""
    children = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:  # the parent is the 2nd field after the command name (which may hold a space)
            children.setdefault(int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]),
                                []).append(int(entry.name))
        except (OSError, ValueError, IndexError):
            pass  # gone meanwhile
    found, todo = set(), [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            if is_chromium(pid):
                found.add(pid)
    return found


def is_chromium(pid, running=True):
    """Whether ``pid`` is a Chromium process still running (or, ``running=False``, not yet reaped:
    a zombie still answers a signal 0, so a check for leftovers would count it)."""
    try:
        name, rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    except (OSError, ValueError):
        return False
    return name.endswith("(chromium") and not (running and rest.split()[0] in "ZXx")


class Kiosk:
    """The kiosk page at ``url`` in headless Chromium, logged as ``client`` into ``run_dir``."""

    def __init__(self, url, run_dir, client="kiosk"):
        self.url, self.client = url, client
        self.screens, self.shows = Path(run_dir) / "screens.jsonl", Path(run_dir) / "kiosk.jsonl"
        self.error = None  # why the browser thread ended early, if it did
        self._lock, self._last = threading.Lock(), {"text": None, "image": None}
        self._conn, self._sids, self._open, self._loads = 0, {}, set(), 0
        self._pids, self._stopping, self._ready = set(), threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kiosk-{client}", daemon=True)

    def start(self, timeout=30.0):
        """Open the page; return once its socket delivered a first state, else raise."""
        self._thread.start()
        if not self._ready.wait(timeout) or self.error:
            error = self.error
            self.close()
            why = error or f"no state within {timeout:.0f} s"
            raise RuntimeError(f"kiosk {self.client} did not start: {why}")
        return self

    def shown(self):
        """``{"text", "image"}`` the page shows now."""
        with self._lock:
            return dict(self._last)

    @property
    def pids(self):
        """The Chromium processes it started (those seen so far, and any now)."""
        if self._thread.is_alive():
            with self._lock:
                self._pids |= chromium_pids()
        return sorted(self._pids)

    def close(self):
        """Close the browser and its thread; end any Chromium process left behind."""
        self.pids  # noqa: B018 (note every process before they go)
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)
        # The browser's helpers (zygotes) exit, and are reaped, a moment after it closes.
        deadline = time.monotonic() + 5
        while any(is_chromium(pid, running=False) for pid in self._pids):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for pid in filter(is_chromium, self._pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _run(self):
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    page = browser.new_page()
                    page.expose_function("kioskShown", self._on_shown)
                    page.add_init_script(OBSERVER)
                    page.on("websocket", self._on_websocket)
                    page.on("response", self._on_response)
                    page.on("requestfailed", lambda req: self._closed(self._sid_of(req.url)))
                    page.on("framenavigated", lambda frame: frame.parent_frame or self._on_load())
                    page.goto(self.url)
                    self.pids  # noqa: B018 (note them now, should the browser die)
                    while not self._stopping.is_set():
                        page.wait_for_timeout(100)  # Playwright delivers events only in its calls
                finally:
                    browser.close()
        except Exception as error:  # noqa: BLE001 (kept for start() and the run's log)
            self.error = error
            append(self.shows, {"t": time.time(), "event": "error", "error": str(error)})
        finally:
            self._ready.set()

    def _on_load(self):
        self._loads += 1
        if self._loads > 1:  # not the first load: the page reloaded itself
            append(self.shows, {"t": time.time(), "event": "reload"})

    def _on_shown(self, shown):
        with self._lock:
            self._last = {"text": shown.get("text"), "image": shown.get("image")}
        append(self.shows, {"t": time.time(), **self._last})

    @staticmethod
    def _sid_of(url):
        if "/socket.io/" not in url:
            return None
        return parse_qs(urlsplit(url).query).get("sid", [None])[0]

    def _on_websocket(self, socket):
        session = {"sid": self._sid_of(socket.url)}  # none before its open packet if not upgraded
        socket.on("framereceived", lambda payload: self._read(session, payload))
        socket.on("close", lambda _socket: self._closed(session["sid"]))

    def _on_response(self, response):
        if "transport=polling" in response.url and response.request.method == "GET":
            try:
                body = response.text()
            except Exception:  # noqa: BLE001 (a poll cut short by a kill has no body)
                return
            self._read({"sid": self._sid_of(response.url)}, body)

    def _read(self, session, payload):
        # A polling body holds several Engine.IO packets, separated by \x1e; a frame holds one.
        for packet in payload.split("\x1e") if isinstance(payload, str) else []:
            if packet.startswith("0{"):
                session["sid"] = json.loads(packet[1:]).get("sid")
            conn = self._conn_of(session["sid"])
            if packet == "1":
                self._closed(session["sid"])
            elif packet.startswith("42") and conn:
                event = json.loads(packet[2:].lstrip("0123456789"))
                if event and event[0] == "state" and isinstance(event[-1], dict):
                    fields = ("state", "at", "text", "received_at")
                    self._screen(conn, n=None, **{key: event[-1].get(key) for key in fields})
                    self._ready.set()

    def _conn_of(self, sid):
        """The number of Engine.IO session ``sid``; a new one ends the one before."""
        if sid is None or sid in self._sids:
            return self._sids.get(sid)
        for old in list(self._open):
            self._closed(old)
        self._conn += 1
        self._sids[sid] = self._conn
        self._open.add(sid)
        self._screen(self._conn, event="connect")
        return self._conn

    def _closed(self, sid):
        if sid in self._open:
            self._open.discard(sid)
            self._screen(self._sids[sid], event="disconnect")

    def _screen(self, conn, **fields):
        append(self.screens, {"client": self.client, "t": time.time(), "conn": conn, **fields})
