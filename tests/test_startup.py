"""Start-up, against real processes: never a state that was not read, one line for a failed
start, health that says "starting", and a liveness check that ignores the queue.

``pillow-web serve`` runs as a subprocess against a real Azurite (stopped or frozen where a test
needs it) and is watched only from outside, as a kiosk, an orchestrator or a person would.
"""

import os
import shutil
import socket
import subprocess
import uuid

import pytest
import requests

from pillow_web.app import create_app
from pillow_web.config import ROOT
from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage
from pillow_web.web.events import socketio

from .procs import PYTHON, START_TIMEOUT, Dashboard, Screen
from .util import Received, wait_for

STARTING = {"status": "starting"}


def answer(dashboard, path):
    """``(status code, JSON body)`` of ``path``, or None while nothing answers on the port."""
    try:
        response = dashboard.get(path)
    except requests.ConnectionError:
        return None
    return response.status_code, response.json(), response.headers


def leave_hugging_in_the_snapshot(dashboard, storage):
    """Run ``dashboard`` until HUGGING is applied and saved, then stop it cleanly."""
    storage.send(compose("HUGGING", "before the restart"))
    wait_for(lambda: dashboard.state()["state"] == "HUGGING", 10, "HUGGING applied")
    wait_for(lambda: (storage.load_snapshot() or {}).get("current", {}).get("state") == "HUGGING",
             10, "HUGGING saved")
    code, _ = dashboard.stop()
    assert code == 0, dashboard.output()[-2000:]


def stopped_with_hugging(own_azurite, dashboards):
    """A dashboard on a queue of its own, stopped cleanly with HUGGING in its snapshot."""
    storage = Storage(own_azurite.connection_string, f"t-{uuid.uuid4().hex[:12]}", "pillow-web")
    try:
        storage.ensure()
        dashboard = dashboards(own_azurite.connection_string, storage.queue_name)
        leave_hugging_in_the_snapshot(dashboard, storage)
    finally:
        storage.close()
    return dashboard


def unreachable_lines(dashboard):
    return [line for line in dashboard.output().splitlines() if "unreachable" in line]


def restart_and_watch(dashboard, on_first_answer=lambda: None):
    """Restart ``dashboard`` and ask /api/state as fast as possible from the first moment its
    port accepts connections until /healthz says 200; return every (code, body) answered."""
    dashboard.start(ready=False)
    answers = []

    def healthy():
        dashboard.check_alive()
        state = answer(dashboard, "/api/state")
        if state is not None:
            if not answers:
                on_first_answer()
            answers.append(state[:2])
        return answers and dashboard.health() == 200

    wait_for(healthy, START_TIMEOUT, "the restarted dashboard to be healthy", interval=0.001)
    return answers


def assert_only_hugging(answers):
    assert answers, "the port never answered"
    assert all(body == STARTING for code, body in answers if code == 503), answers
    states = [body["state"] for code, body in answers if code == 200]
    assert states and set(states) == {"HUGGING"}, answers


@pytest.mark.slow
def test_a_restart_answers_no_state_but_the_one_it_read(own_azurite, dashboards):
    """Restarted with HUGGING in its snapshot, /api/state says HUGGING from the first answer,
    never the catalog's initial NOTCONNECTED while the snapshot is read: with storage answering
    at once, and with storage that hangs at the restart (frozen until the port first answers)."""
    dashboard = stopped_with_hugging(own_azurite, dashboards)

    assert_only_hugging(restart_and_watch(dashboard))
    assert not unreachable_lines(dashboard), dashboard.output()[-2000:]
    code, _ = dashboard.stop()
    assert code == 0, dashboard.output()[-2000:]

    own_azurite.freeze()
    try:
        answers = restart_and_watch(dashboard, on_first_answer=own_azurite.thaw)
    finally:
        own_azurite.thaw()
    assert_only_hugging(answers)


@pytest.mark.slow
def test_storage_down_at_start_answers_starting_names_the_cause_and_loads_when_back(
        own_azurite, dashboards):
    """Azurite down at start: the dashboard serves (a bounded wait), /api/state is 503
    "starting", /healthz goes from starting to degraded with the real cause, which is also the
    log's first word on it; /livez is 200 all along. Azurite back: HUGGING from the snapshot."""
    dashboard = stopped_with_hugging(own_azurite, dashboards)
    own_azurite.stop()

    dashboard.start(ready=False)
    health = []

    def degraded():
        dashboard.check_alive()
        state = answer(dashboard, "/api/state")
        if state is None:
            return False
        code, body, headers = state
        assert (code, body) == (503, STARTING) and int(headers["Retry-After"]) >= 1, state
        assert answer(dashboard, "/livez")[:2] == (200, {"status": "alive"})
        code, body, _ = answer(dashboard, "/healthz")
        health.append(body["status"])
        assert code == 503, body
        return body["status"] == "degraded" and body

    body = wait_for(degraded, START_TIMEOUT, "/healthz to say degraded", interval=0.02)
    assert body["reason"] == "storage unreachable", body  # the detail is in the log (below)
    assert health == sorted(health, key=["starting", "degraded"].index), health
    first = unreachable_lines(dashboard)[0]
    assert "Connection refused" in first, dashboard.output()[-2000:]

    page = dashboard.get("/").text  # a kiosk loaded now: no picture, it says it is starting
    assert "data-starting" in page and "Starting…" in page and 'src="/static/img/' not in page
    screen = Screen(dashboard.url)  # a kiosk connected now keeps what it shows
    screen.wait("status", lambda status: status["status"] == "degraded")
    assert screen.received("state") == []

    own_azurite.start()
    wait_for(lambda: dashboard.health() == 200, 15, "/healthz 200 once Azurite is back")
    assert dashboard.state()["state"] == "HUGGING"
    screen.wait("state", lambda state: state["state"] == "HUGGING")
    assert [state["state"] for state in screen.received("state")] == ["HUGGING"]
    screen.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_kiosk_loaded_while_starting_says_so_then_shows_the_state(own_azurite, dashboards,
                                                                    open_page):
    """A kiosk (re)loaded while the snapshot cannot be read shows no picture and "Starting…",
    then the pillow's state as soon as it is read, in the same document."""
    dashboard = stopped_with_hugging(own_azurite, dashboards)
    own_azurite.stop()
    dashboard.start(ready=False)
    wait_for(lambda: dashboard.check_alive() or answer(dashboard, "/healthz"), START_TIMEOUT,
             "the dashboard to serve")

    page, recorder = open_page(f"{dashboard.url}/")
    page.evaluate("() => { window.sameDocument = true; }")
    shown = "() => [document.querySelector('.picture.is-shown').getAttribute('src'), " \
            "document.getElementById('text').textContent]"
    assert page.evaluate(shown) == [None, "Starting…"]
    page.wait_for_function("() => document.getElementById('link').dataset.link === 'queue-down'")

    own_azurite.start()
    page.wait_for_function("""() => {
      const img = document.querySelector('.picture.is-shown');
      return img.getAttribute('src') === '/static/img/hugging.svg' && img.complete
        && document.getElementById('text').textContent === 'before the restart'
        && document.getElementById('link').dataset.link === 'live';
    }""", timeout=15_000)
    assert page.evaluate("() => window.sameDocument") is True


def test_while_the_snapshot_is_unread_nothing_shows_a_state_and_health_says_starting(
        own_azurite, settings, caplog):
    """Storage that hangs (frozen Azurite) during the first read: every way in says "starting",
    a screen gets no state until it is read, /livez answers without storage; then it loads."""
    app = create_app({**settings, "CONNECTION_STRING": own_azurite.connection_string,
                      "POLL_MAX": 1.0})
    pillow = app.extensions["pillow"]
    client = app.test_client()
    own_azurite.freeze()
    try:
        pillow.watcher.start()
        received = Received(socketio.test_client(app))
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json["status"] == "starting", health.json
        state = client.get("/api/state")
        assert (state.status_code, state.json) == (503, STARTING)
        assert state.headers["Retry-After"] == "1"
        page = client.get("/").get_data(as_text=True)
        assert "data-starting" in page and 'src="/static/img/' not in page
        assert "NOTCONNECTED" not in page and "not connected" not in page
        assert received("state") == []
        assert [status["status"] for status in received("status")] == ["starting"]
        live = client.get("/livez")
        assert (live.status_code, live.json) == (200, {"status": "alive"})
    finally:
        own_azurite.thaw()
    # Read now: the state (here the catalog's initial one: no snapshot) is pushed at once.
    assert received.wait("state")["state"] == "NOTCONNECTED"
    wait_for(lambda: client.get("/healthz").status_code == 200, 10, "/healthz 200")
    assert client.get("/api/state").json["state"] == "NOTCONNECTED"
    assert "unreachable" not in caplog.text  # it never was: the first poll was only slow
    pillow.watcher.stop()
    pillow.storage.close()


# --- one line for every start-up failure ------------------------------------------------------

def serve_once(connection_string, tmp_path, prefix=(), port=None, **settings):
    """Run ``serve`` that is expected to fail at once: ``(exit code, output lines, port)``."""
    dashboard = Dashboard(connection_string, tmp_path / "serve.log", **settings)
    port = port or dashboard.port
    command = [*prefix, str(PYTHON), "-m", "pillow_web", "serve", "--port", str(port)]
    done = subprocess.run(command, cwd=ROOT, env=dashboard.env, capture_output=True,
                          text=True, timeout=START_TIMEOUT)
    return done.returncode, (done.stdout + done.stderr).splitlines(), port


def test_a_taken_port_is_one_line_naming_the_address(azurite, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, lines, port = serve_once(azurite, tmp_path, port=taken.getsockname()[1])
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and f"127.0.0.1:{port}" in lines[0], lines
    assert "already in use" in lines[0]


def test_an_unknown_host_is_one_line(azurite, tmp_path):
    code, lines, port = serve_once(azurite, tmp_path, HOST="no-such-host.invalid")
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and f"no-such-host.invalid:{port}" in lines[0], lines


def test_a_low_port_without_the_right_is_one_line(azurite, tmp_path):
    """Ports below 1024 need CAP_NET_BIND_SERVICE: as root, run without it (setpriv)."""
    prefix = ()
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root without setpriv: cannot take the right to bind a low port away")
        prefix = ("setpriv", "--bounding-set", "-net_bind_service")
    code, lines, port = serve_once(azurite, tmp_path, prefix=prefix, port=1)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and "127.0.0.1:1" in lines[0], lines
    assert "Permission denied" in lines[0]
