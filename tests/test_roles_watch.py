"""``pillow-web watch``: the watcher role as a real subprocess, consuming the queue and serving
nothing but its health, beside a standby watcher and an all-in-one ``serve`` on the same queue.
"""

import signal
import socket
import subprocess
from time import monotonic

import pytest
import requests

from pillow_web.config import ROOT
from pillow_web.domain.messages import compose

from .procs import PYTHON, START_TIMEOUT, Dashboard, Screen
from .roles import TAKEOVER_AFTER_STOP, Instances, role
from .util import wait_for

WATCH = ("watch",)
STOP_WITHIN = 5.0


@pytest.fixture
def instances(tmp_path):
    """``instances(connection_string, queue, command=("serve",), ready=True, **settings)``."""
    started = Instances(tmp_path)
    yield started.start
    started.close()


def current_text(storage):
    return ((storage.load_snapshot() or {}).get("current") or {}).get("text")


def test_watch_consumes_the_queue_and_serves_only_its_health(azurite, storage, instances):
    watcher = instances(azurite, storage.queue_name, command=WATCH)  # ready: /healthz 200
    health = watcher.get("/healthz")
    assert health.status_code == 200 and health.headers["Content-Type"] == "application/json"
    assert set(health.json()) == {"status", "queue_ok", "since", "last_poll", "last_ok",
                                  "reason", "role", "warnings"}
    assert health.json()["status"] == "ok" and health.json()["role"] == "active"
    assert health.json()["warnings"] == []
    live = watcher.get("/livez")
    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert watcher.get("/").status_code == 404 and watcher.get("/api/state").status_code == 404
    assert watcher.http.post(watcher.url + "/healthz", timeout=2).status_code == 405

    storage.send(compose("HUGGING", "from the watcher"))
    wait_for(lambda: current_text(storage) == "from the watcher", 10, "the snapshot saved")
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0, 5,
             "the message deleted")

    # An all-in-one beside it stands by and shows what the watcher consumes.
    kiosk = instances(azurite, storage.queue_name)
    assert role(kiosk) == "standby" and kiosk.state()["text"] == "from the watcher"
    screen = Screen(kiosk.url)
    storage.send(compose("SPINNING", "followed"))
    screen.wait("state", lambda state: state["text"] == "followed", timeout=5)
    assert "active:" in watcher.output() and "active:" not in kiosk.output()
    screen.close()


def test_a_stopped_watcher_hands_the_queue_to_the_standby_watcher(azurite, storage, instances):
    first = instances(azurite, storage.queue_name, command=WATCH)
    wait_for(lambda: role(first) == "active", 10, "the first watcher to be active")
    second = instances(azurite, storage.queue_name, command=WATCH)
    assert role(second) == "standby" and second.health() == 200  # a standby is healthy
    storage.send(compose("PUNCHING", "before the stop"))
    wait_for(lambda: current_text(storage) == "before the stop", 10, "the first one to apply it")

    stopped_at = monotonic()
    code, took = first.stop(signal.SIGTERM)
    assert code == 0 and took <= STOP_WITHIN, first.output()[-2000:]
    assert "stopped" in first.output()
    wait_for(lambda: role(second) == "active", TAKEOVER_AFTER_STOP + 5, "the standby to take over",
             interval=0.02)
    assert monotonic() - stopped_at <= TAKEOVER_AFTER_STOP, second.output()[-2000:]
    storage.send(compose("SHAKING", "after the stop"))
    wait_for(lambda: current_text(storage) == "after the stop", 10, "the second one to apply it")
    assert "standing by: another process holds the lease" in second.output()


def test_a_taken_port_is_one_line(azurite, tmp_path):
    watcher = Dashboard(azurite, tmp_path / "watch.log", command=WATCH)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([str(PYTHON), "-m", "pillow_web", "watch", "--port", str(port)],
                              cwd=ROOT, env=watcher.env, capture_output=True, text=True,
                              timeout=START_TIMEOUT)
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and f"127.0.0.1:{port}" in lines[0], lines
    assert "already in use" in lines[0]


def test_watch_answers_health_before_storage_does(own_azurite, tmp_path):
    """Storage down at start: the health port serves at once, /livez 200, /healthz 503 with
    the reason; the watcher is no use to anyone until storage answers, but never crashes."""
    own_azurite.stop()
    watcher = Dashboard(own_azurite.connection_string, tmp_path / "watch.log", command=WATCH)
    watcher.start(ready=False)
    try:
        def degraded():
            watcher.check_alive()
            try:
                body = watcher.get("/healthz").json()
            except requests.ConnectionError:
                return None
            return body["status"] == "degraded" and body

        body = wait_for(degraded, START_TIMEOUT, "/healthz to say degraded")
        assert body["reason"] == "storage unreachable" and body["role"] == "standby"
        assert watcher.get("/livez").status_code == 200
        own_azurite.start()
        wait_for(lambda: role(watcher) == "active" and watcher.health() == 200, 15,
                 "the watcher to take the queue")
        assert "Traceback" not in watcher.output(), watcher.output()[-2000:]
    finally:
        watcher.close()
