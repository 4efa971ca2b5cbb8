"""Browser-test helpers: a real ``pillow-web serve`` process and a headless Debian Chromium.

Shared by tests/test_browser.py (inside the gevent-patched pytest process) and
tests/screenshots.py (a plain process), so nothing here imports gevent or assumes a patch.
Playwright only ever launches /usr/bin/chromium: it must never download a browser.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def python():
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else sys.executable)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, message):
    """``predicate()`` once truthy; AssertionError after ``timeout`` s (no guessing sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.05)


class Server:
    """``python -m pillow_web serve`` on a loopback port, in its own process group."""

    def __init__(self, connection_string, log_path, port=None, queue=None, **settings):
        self.port = port or free_port()
        self.queue = queue or f"b-{uuid.uuid4().hex[:12]}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("PILLOW_")}
        self.env.update(PILLOW_CONNECTION_STRING=connection_string, PILLOW_QUEUE=self.queue,
                        PILLOW_SECRET_KEY=secrets.token_hex(16), PILLOW_POLL_MAX="0.5")
        self.env.update({f"PILLOW_{key}": str(value) for key, value in settings.items()})
        self.process = None

    def start(self, healthy=True, timeout=20.0, **settings):
        """Start and wait for /healthz: 200, or any answer if ``healthy`` is False."""
        self.env.update({f"PILLOW_{key}": str(value) for key, value in settings.items()})
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [python(), "-m", "pillow_web", "serve", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_until(lambda: self._answers(healthy), timeout, f"{self.url}/healthz\n{self.log()}")
        return self

    def _answers(self, healthy):
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited with {self.process.returncode}\n{self.log()}")
        try:
            status = requests.get(f"{self.url}/healthz", timeout=2).status_code
        except requests.RequestException:
            return False
        return status == 200 or not healthy

    def stop(self, timeout=10.0):
        """SIGTERM to the whole group, as a service manager would; SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"the server ignored SIGTERM for {timeout} s\n{self.log()}") \
                from None

    def log(self):
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Recorder:
    """Every request a page makes and every script error it reports."""

    def __init__(self, page):
        self.urls, self.errors = [], []
        self.outage = False  # set while the test stops the server on purpose
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(
            f"console: {msg.text} at {msg.location}"))

    def outside(self):
        """Requests whose host is not loopback (data: and about: URLs have no host)."""
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
