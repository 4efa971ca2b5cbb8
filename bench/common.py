"""Shared by every benchmark: paths, child processes in their own groups, waiting with deadlines.

Nothing here is monkey-patched: the bench drives real subprocesses (Azurite, ``pillow-web
serve``, the Node reference, load generators) and measures them from outside.
"""

import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
REFERENCE = BENCH / "reference"
PYTHON = sys.executable
HOST = "127.0.0.1"


def raise_nofile(want=20000):
    """Raise this process's open-file limit (children inherit it) as far as the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def unique_queue(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(predicate, timeout, what, interval=0.02):
    """Return ``predicate()`` once truthy; raise TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def spawn(command, env=None, log=None, **kwargs):
    """Start ``command`` in a new process group (so ``stop`` ends it and all its children)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed by the child)
    try:
        return subprocess.Popen(command, env=env, stdout=kwargs.pop("stdout", out),
                                stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                                start_new_session=True, cwd=ROOT, **kwargs)
    finally:
        if log:
            out.close()


def stop(process, timeout=8.0):
    """SIGTERM the process group, SIGKILL it if it lingers; safe to call twice."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Serve:
    """One ``pillow-web serve`` subprocess on a free port, ready once ``/healthz`` answers 200.

    ``role`` is ``serve --role`` (all-in-one by default); ``launcher`` is a module run instead of
    ``pillow_web`` (``bench.variant``: the same server with one thing changed, see there).
    """

    def __init__(self, connection_string, queue, log=None, role="all", launcher="pillow_web",
                 env_extra=None, **settings):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PILLOW_")}
        env.update(PILLOW_CONNECTION_STRING=connection_string, PILLOW_QUEUE=queue,
                   PILLOW_SECRET_KEY=secrets.token_hex(16),
                   # Every simulated screen comes from one address: lift the per-address cap.
                   PILLOW_SCREENS_PER_ADDRESS="0")
        env.update({f"PILLOW_{k.upper()}": str(v) for k, v in settings.items()})
        env.update(env_extra or {})
        self.role = role
        self.started = time.time()
        # --log-level is an option, not a setting: PILLOW_LOG_LEVEL is refused by the config.
        self.process = spawn([PYTHON, "-m", launcher, "--log-level", "WARNING", "serve",
                              "--role", role, "--host", HOST, "--port", str(self.port)],
                             env=env, log=log)

    def healthy(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"pillow-web serve exited with code {self.process.returncode}")
        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def lease_role(self):
        """``/healthz``'s role: "active" (holds the queue's lease), "standby", "web"; None while
        it does not answer."""
        try:
            return requests.get(self.url + "/healthz", timeout=2).json().get("role")
        except (requests.RequestException, ValueError):
            return None

    def wait_healthy(self, timeout=60.0):
        wait_until(self.healthy, timeout, "pillow-web serve /healthz 200", interval=0.05)
        return self

    def state(self):
        return requests.get(self.url + "/api/state", timeout=5).json()

    def stop(self):
        stop(self.process)


def percentile(values, q):
    """The ``q``-th percentile (0-100) by linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary(values, scale=1.0, digits=3):
    """p50/p95/p99/max/mean of ``values`` times ``scale``, rounded, with the count."""
    out = {"n": len(values)}
    for q in (50, 95, 99):
        value = percentile(values, q)
        out[f"p{q}"] = None if value is None else round(value * scale, digits)
    out["max"] = round(max(values) * scale, digits) if values else None
    out["mean"] = round(sum(values) / len(values) * scale, digits) if values else None
    return out


class Redis:
    """Debian's ``redis-server`` on a free loopback port, nothing saved, as a context."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process = None

    def __enter__(self):
        binary = shutil.which("redis-server", path="/usr/bin:/usr/sbin:" + os.environ["PATH"])
        if binary is None:
            raise RuntimeError("redis-server is not installed; run `make services`")
        self.process = spawn([binary, "--bind", HOST, "--port", str(self.port), "--save", "",
                              "--appendonly", "no", "--daemonize", "no"])
        wait_until(self._answers, 15, "redis-server to answer PING")
        return self

    def _answers(self):
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __exit__(self, *exc):
        stop(self.process)


class Azurite:
    """The project's pinned Azurite (in memory), optionally with its debug log, as a context."""

    def __init__(self, debug_log=None):
        from pillow_web.storage.azurite import Azurite as Server

        self.server = Server(debug_log=str(debug_log) if debug_log else None)
        self.debug_log = debug_log

    def __enter__(self):
        self.server.start(timeout=60)
        self.connection_string = self.server.connection_string
        return self

    def __exit__(self, *exc):
        self.server.stop()

    def queue(self, name, create=True, **options):
        from azure.storage.queue import QueueClient

        client = QueueClient.from_connection_string(self.connection_string, name, **options)
        if create:
            client.create_queue()
        return client
