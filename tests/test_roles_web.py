"""Web workers (``serve --role web``) on one Redis with an all-in-one ``serve`` as the consumer:
real ``pillow-web serve`` processes, a real redis-server, Azurite and nginx, seen from outside
(Socket.IO clients, HTTP) as kiosks and operators see them."""

import statistics
import uuid
from time import monotonic

import gevent
import pytest
import requests

from .procs import START_TIMEOUT, Screen, operator_session
from .util import wait_for

TOKEN = "operator-token-for-the-fleet"
WEB = ("serve", "--role", "web")
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OUTAGE = 8.0  # seconds Redis stays away in the outage test


class Fleet:
    """Starts the processes of one dashboard (one queue) on ``redis``."""

    def __init__(self, dashboards, connection_string, redis_url, **settings):
        self.start = dashboards
        self.connection_string = connection_string
        self.queue = f"w-{uuid.uuid4().hex[:12]}"
        self.settings = {"OPERATOR_TOKEN": TOKEN, "MESSAGE_QUEUE": redis_url, **settings}
        self.screens = []

    def consumer(self, **settings):
        """An all-in-one ``serve``, healthy (it holds the lease and polled)."""
        return self.start(self.connection_string, self.queue, **{**self.settings, **settings})

    def web(self, ready=True, **settings):
        """A web worker, healthy (it read the snapshot and sees the watcher's report)."""
        return self.start(self.connection_string, self.queue, ready=ready, command=WEB,
                          **{**self.settings, **settings})

    def screen(self, url):
        screen = Screen(url)
        screen.client.on("reload", lambda data=None: screen.events.append(
            (monotonic(), "reload", data)))
        self.screens.append(screen)
        return screen

    def close(self):
        for screen in self.screens:
            screen.close()


@pytest.fixture
def fleet(dashboards, azurite, redis_server):
    fleet = Fleet(dashboards, azurite, redis_server.url)
    yield fleet
    fleet.close()


def post(dashboard, state, **body):
    response = requests.post(f"{dashboard.url}/api/state", json={"state": state, **body},
                             headers=AUTH, timeout=5)
    assert response.status_code == 202, response.text
    return monotonic()


def showing(state):
    return lambda data: data["state"] == state


def console_data(dashboard):
    """What the operator console of ``dashboard`` shows (signed in with the token)."""
    with operator_session(dashboard.url, TOKEN) as browser:
        return browser.get(f"{dashboard.url}/operator/data.json", timeout=5).json()


def test_a_web_worker_needs_a_message_queue_and_says_so(dashboards, azurite):
    worker = dashboards(azurite, None, ready=False, command=WEB)
    assert worker.process.wait(timeout=START_TIMEOUT) == 1
    said = worker.output()
    assert "Error: the web role needs setting MESSAGE_QUEUE" in said
    assert "Traceback" not in said


def test_every_worker_shows_a_change_counts_all_screens_and_reloads_them_all(fleet):
    consumer = fleet.consumer()
    first, second = fleet.web(), fleet.web()
    screens = [fleet.screen(first.url), fleet.screen(first.url), fleet.screen(second.url),
               fleet.screen(consumer.url)]

    post(first, "HUGGING", text="from a web worker")  # the write API of a web worker
    for screen in screens:
        screen.wait("state", lambda data: data["text"] == "from a web worker")
    post(consumer, "SHAKING")
    for screen in screens:
        screen.wait("state", showing("SHAKING"))

    # Each worker counts its own screens in Redis; every console shows the sum.
    for dashboard in (first, second, consumer):
        wait_for(lambda dashboard=dashboard: console_data(dashboard)["screens"] == 4, 10,
                 f"{dashboard.url}'s console to count 4 screens")
    health = second.get("/healthz").json()
    assert (health["status"], health["role"], health["message_queue_ok"]) == ("ok", "web", True)

    asked = requests.post(f"{second.url}/api/reload", headers=AUTH, timeout=5)
    assert (asked.status_code, asked.json()) == (202, {"screens": 4})
    for screen in screens:
        screen.wait("reload")


def latencies(post_to, screen, states, after_each=None):
    """Seconds from each post's answer to the screen showing it."""
    seconds = []
    for number, state in enumerate(states):
        text = f"change {number}"
        sent = post(post_to, state, text=text)
        shown, _ = screen.wait("state", lambda data, text=text: data["text"] == text)
        seconds.append(shown - sent)
    return seconds


def test_a_post_on_a_web_worker_wakes_the_watcher_in_another_process(fleet, dashboards,
                                                                       azurite, capsys):
    # The watcher polls only every 5 s unless woken: a change shown sooner was woken.
    slow = {"POLL_MIN": 5, "POLL_MAX": 5}
    states = ["HUGGING", "SHAKING"] * 4
    fleet.consumer(**slow)
    worker = fleet.web(**slow)
    through_redis = latencies(worker, fleet.screen(worker.url), states)

    alone = dashboards(azurite, None, OPERATOR_TOKEN=TOKEN, **slow)  # no Redis, one process
    in_process = latencies(alone, fleet.screen(alone.url), states)
    with capsys.disabled():
        for name, seconds in (("web worker -> Redis -> watcher", through_redis),
                              ("all-in-one, no Redis", in_process)):
            print(f"\npost -> screen, {name}: p50 {statistics.median(seconds) * 1000:.0f} ms,"
                  f" max {max(seconds) * 1000:.0f} ms ({len(seconds)} posts)", end="")
    assert max(through_redis) < 2.0, through_redis


@pytest.mark.slow
def test_a_redis_outage_degrades_web_workers_which_recover_by_themselves(fleet, redis_server,
                                                                         capsys):
    consumer = fleet.consumer()
    worker = fleet.web()
    # Follows the snapshot only every 30 s: what it shows within a few seconds came via Redis.
    redis_only = fleet.web(POLL_MAX=30)
    screen, pushed = fleet.screen(worker.url), fleet.screen(redis_only.url)
    local = fleet.screen(consumer.url)
    post(worker, "HUGGING")
    pushed.wait("state", showing("HUGGING"), timeout=5)

    redis_server.stop()
    stopped = monotonic()
    for dashboard in (worker, redis_only, consumer):
        wait_for(lambda dashboard=dashboard: dashboard.health() == 503, 10,
                 f"{dashboard.url}/healthz to say 503")
    health = worker.get("/healthz").json()
    assert (health["status"], health["reason"]) == ("degraded", "message queue unreachable")
    assert health["message_queue_ok"] is False and health["snapshot_ok"] is True
    assert consumer.get("/healthz").json()["message_queue_ok"] is False
    # The queue is still consumed; a web worker's screens follow the snapshot, the consumer's
    # get its pushes, and nothing that pushes waits for Redis.
    post(worker, "SPINNING")
    screen.wait("state", showing("SPINNING"), timeout=10)
    local.wait("state", showing("SPINNING"), timeout=5)
    asked = monotonic()
    assert requests.post(f"{worker.url}/api/reload", headers=AUTH, timeout=5).status_code == 202
    assert monotonic() - asked < 0.5
    for dashboard in (worker, redis_only, consumer):
        dashboard.check_alive()
    assert screen.client.connected and pushed.client.connected and local.client.connected
    assert screen.received("status")[-1]["queue_ok"] is True  # the pillow's data still flows
    # Long enough for python-socketio's own back-off (1, 2, 4, 8 s between tries) to keep its
    # listener away for seconds after Redis is back, if redis-py did not reconnect it sooner.
    gevent.sleep(max(0.0, stopped + OUTAGE - monotonic()))

    restarted = monotonic()
    redis_server.start()
    for dashboard in (worker, redis_only, consumer):
        dashboard.wait_healthy(10)
    healthy = monotonic() - restarted
    sent = post(consumer, "PUNCHING")
    shown, _ = pushed.wait("state", showing("PUNCHING"), timeout=5)
    with capsys.disabled():
        print(f"\nRedis back: /healthz 200 after {healthy:.2f} s; a change reached a screen "
              f"through Redis {shown - sent:.2f} s after its post ({shown - restarted:.2f} s "
              "after Redis started)", end="")
    assert shown - sent < 2.0
    assert "Traceback" not in worker.output() + redis_only.output()


@pytest.mark.slow
def test_a_web_worker_started_after_a_change_shows_it_at_once(fleet):
    consumer = fleet.consumer()
    watching = fleet.screen(consumer.url)
    post(consumer, "THROWING", text="before the worker started")
    watching.wait("state", showing("THROWING"))

    late = fleet.web(ready=False)
    wait_for(lambda: late.health() is not None, START_TIMEOUT, "the late worker to answer")
    assert late.state()["text"] == "before the worker started"  # its very first answer
    screen = fleet.screen(late.url)
    assert screen.wait("state", timeout=2)[1]["text"] == "before the worker started"


@pytest.mark.slow
def test_two_web_workers_behind_nginx_get_a_change_to_a_client_through_it(fleet, nginx_proxy):
    fleet.consumer()
    workers = [fleet.web(TRUSTED_PROXIES=1), fleet.web(TRUSTED_PROXIES=1)]
    proxied = nginx_proxy([worker.url.removeprefix("http://") for worker in workers])
    through_nginx = fleet.screen(proxied)
    direct = [fleet.screen(worker.url) for worker in workers]

    post(workers[1], "HUGGING", text="through nginx")
    for screen in [through_nginx, *direct]:
        screen.wait("state", lambda data: data["text"] == "through nginx")


@pytest.mark.slow
def test_serve_role_watcher_consumes_for_web_workers_and_reports_to_them(fleet):
    watcher = fleet.start(fleet.connection_string, fleet.queue,
                          command=("serve", "--role", "watcher"), **fleet.settings)
    # Healthy once it sees the watcher's report in Redis; it follows the snapshot only every
    # 30 s, so a change shown within seconds was pushed by the watcher through Redis.
    worker = fleet.web(POLL_MAX=30)
    screen = fleet.screen(worker.url)
    post(worker, "SPINNING", text="from the watcher role")
    screen.wait("state", lambda data: data["text"] == "from the watcher role", timeout=3)
    assert watcher.get("/healthz").json()["role"] == "active"
    assert worker.get("/healthz").json()["watcher_reported"] is True


def test_a_web_worker_pushes_each_change_once_and_never_an_older_one_after_it(fleet):
    """Its snapshot follower used to push every change again after Redis brought it (about a
    second later), doubling the cost of each broadcast."""
    consumer = fleet.consumer()
    worker = fleet.web()
    screen = fleet.screen(worker.url)
    for number in range(1, 4):
        post(consumer, "HUGGING" if number % 2 else "SHAKING", text=f"change {number}")
        # The worker's own state follows the snapshot: once it shows the change, a second push
        # of it from the follower would already be on this screen's socket (pushes keep order).
        wait_for(lambda number=number: worker.state()["text"] == f"change {number}", 10,
                 f"the worker's follower to read change {number}")
    post(consumer, "SPINNING", text="last")
    screen.wait("state", lambda data: data["text"] == "last")
    shown = [data["text"] for data in screen.received("state")]
    assert [text for text in shown if text.startswith("change")] == [
        "change 1", "change 2", "change 3"], shown
