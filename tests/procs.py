"""Real processes for the fault tests: `pillow-web serve` and an Azurite that can be restarted.

The fault tests must not mock what fails: they stop, restart and SIGKILL real processes and
watch them only from outside (HTTP, Socket.IO, the queue and the snapshot blob), as a kiosk or an
operator would. Every wait has a deadline (``tests.util.wait_for``).
"""

import os
import re
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from time import monotonic

import gevent
import requests
import socketio

from pillow_web.config import ROOT
from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import Azurite, free_port

from .util import wait_for

PYTHON = Path(sys.executable)
START_TIMEOUT = 30.0  # a cold `serve` imports Flask and the Azure SDK: seconds on a slow CI box


class Dashboard:
    """One ``pillow-web serve`` subprocess in its own process group, configured by environment.

    ``env`` holds ``PILLOW_*`` settings (on top of a clean environment: nothing leaks in from the
    developer's shell); its output goes to ``log`` so a failing test can show it. ``command``
    runs another command with the same options instead (e.g. ``("watch",)``).
    """

    def __init__(self, connection_string, log, queue=None, command=("serve",), **settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.queue = queue or f"d-{uuid.uuid4().hex[:12]}"
        self.log = Path(log)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("PILLOW_")}
        self.env.update(PILLOW_CONNECTION_STRING=connection_string, PILLOW_QUEUE=self.queue,
                        PILLOW_SECRET_KEY="test-secret-" + "k" * 32, PYTHONUNBUFFERED="1")
        self.env.update({f"PILLOW_{key}": str(value) for key, value in settings.items()})
        self.process = None
        self.command = tuple(command)
        self.http = requests.Session()
        if settings.get("TLS_CERT"):  # HTTPS, trusting the test's self-signed certificate
            self.url = f"https://127.0.0.1:{self.port}"
            self.http.verify = str(settings["TLS_CERT"])
            self.http.trust_env = False  # else REQUESTS_CA_BUNDLE wins over ``verify``

    def start(self, ready=True, **settings):
        """Start ``serve`` (again, on the same port and queue, with ``settings`` added); with
        ``ready``, return once ``/healthz`` says 200 (first poll done)."""
        self.env.update({f"PILLOW_{key}": str(value) for key, value in settings.items()})
        command = [str(PYTHON), "-m", "pillow_web", *self.command, "--port", str(self.port)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        if ready:
            self.wait_healthy(START_TIMEOUT)
        return self

    def get(self, path, timeout=2.0):
        return self.http.get(self.url + path, timeout=timeout)

    def health(self):
        """The status code of ``/healthz``, or None while nothing answers."""
        try:
            return self.get("/healthz").status_code
        except requests.RequestException:
            return None

    def state(self):
        return self.get("/api/state").json()

    def wait_healthy(self, timeout):
        def healthy():
            self.check_alive()
            return self.health() == 200

        wait_for(healthy, timeout, f"{self.url}/healthz to say 200", interval=0.05)

    def check_alive(self):
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f"serve exited with {code}:\n{self.output()[-3000:]}")

    def rss_kib(self):
        """Resident memory of the server process (VmRSS in /proc), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, signum=signal.SIGTERM, timeout=10.0):
        """Send ``signum`` and wait for the exit; return (exit code, seconds it took).

        A server that ignores it for ``timeout`` s is killed and the test fails.
        """
        if self.process is None or self.process.poll() is not None:
            return None, 0.0
        started = monotonic()
        os.kill(self.process.pid, signum)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"serve ignored signal {signum} for {timeout} s\n"
                                 f"{self.output()[-3000:]}") from None
        return code, monotonic() - started

    def kill(self):
        """SIGKILL the whole group: no handler runs, nothing is flushed or saved."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self):
        """Test teardown: whatever state the test left it in, end it."""
        self.http.close()
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()  # also when the start failed: never leave the process running


@contextmanager
def operator_session(url, token):
    """A ``requests`` session signed in to the operator console at ``url`` with ``token``."""
    with requests.Session() as session:
        page = session.get(f"{url}/operator/", timeout=5)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
        signed = session.post(f"{url}/operator/signin", data={"csrf": csrf, "token": token},
                              timeout=5)
        assert signed.status_code == 200, signed.text
        yield session


@contextmanager
def sender(connection_string, queue):
    """``say(state, text=None)``: a message on ``queue``, as the pillow sends it."""
    storage = Storage(connection_string, queue, "pillow-web")
    try:
        yield lambda state, text=None: storage.send(compose(state, text))
    finally:
        storage.close()


class RestartableAzurite:
    """An Azurite on a data folder and fixed ports that can be stopped and started again.

    Every start is a new Azurite process on the SAME folder and ports, as after a real outage:
    clients keep their connection string, and what was queued before is still there.
    """

    def __init__(self, location):
        self.location = location
        self.ports = (free_port(), free_port(), free_port())
        self.server = None

    @property
    def connection_string(self):
        return self._new().connection_string

    def _new(self):
        blob, queue, table = self.ports
        return Azurite(location=self.location, blob_port=blob, queue_port=queue, table_port=table)

    def start(self):
        self.server = self._new().start()
        return self

    def stop(self):
        """A clean stop (SIGTERM): Azurite writes its data folder, like a service going away."""
        if self.server is not None:
            self.thaw()  # a stopped process would not act on SIGTERM
            self.server.stop()

    def freeze(self):
        """SIGSTOP: the kernel still accepts connections, nothing answers (a hung endpoint)."""
        os.killpg(self.server.process.pid, signal.SIGSTOP)

    def thaw(self):
        if self.server.process.poll() is None:
            os.killpg(self.server.process.pid, signal.SIGCONT)


class Screen:
    """A Socket.IO client, as a kiosk would be, recording each event with the time it came."""

    def __init__(self, url, transports=("websocket",), auth=None, **options):
        """``auth`` goes with the connect, as a kiosk page's (e.g. ``{"pillow": "hall"}``);
        ``options`` go to ``socketio.Client`` (e.g. ``http_session`` for a CA to trust)."""
        self.client = socketio.Client(reconnection=False, handle_sigint=False, **options)
        self.events = []  # (monotonic time, event name, payload)
        self.disconnected_at = None
        for name in ("hello", "state", "status"):
            self.client.on(name, self._recorder(name))
        self.client.on("disconnect", self._on_disconnect)
        self.client.connect(url, transports=list(transports), auth=auth, wait_timeout=5)

    def _recorder(self, name):
        def record(data):
            self.events.append((monotonic(), name, data))
        return record

    def _on_disconnect(self, *reason):
        self.disconnected_at = monotonic()

    def received(self, name, after=0.0):
        """Payloads of ``name`` events received after monotonic time ``after``."""
        return [data for when, event, data in self.events if event == name and when > after]

    def wait(self, name, predicate=lambda data: True, timeout=10.0, after=0.0):
        """(time, payload) of the first ``name`` event after ``after`` matching ``predicate``."""
        def found():
            return next(((when, data) for when, event, data in self.events
                         if event == name and when > after and predicate(data)), None)

        return wait_for(found, timeout, f"a {name!r} event")

    def close(self):
        if self.client.connected:
            self.client.disconnect()
        gevent.sleep(0)
