"""PILLOW_MESSAGE_QUEUE and the fleet's facts in Redis, against a real redis-server: the setting
is checked and never shown with its password; screen counts add up across processes; only the
active watcher reports; a post wakes the watcher through Redis; Redis away never blocks or
raises, and its return is noticed by itself."""

import logging
import re
from time import monotonic
from types import SimpleNamespace

import pytest
from gevent.event import Event

from pillow_web import fleet as fleet_module
from pillow_web.app import create_app
from pillow_web.config import ConfigError, load
from pillow_web.fleet import BEAT, Fleet
from pillow_web.pushes import Sender
from pillow_web.storage.azurite import free_port

from .util import wait_for

SECRET = "hunter2-redis-password"


@pytest.mark.parametrize("url, says", [
    ("http://127.0.0.1:6379/0", "must be a redis://, rediss:// or unix:// URL"),
    ("redis://", "names no host"),
    ("redis://127.0.0.1:port/0", "is not a valid URL"),
    ("unix://", "names no socket path"),
])
def test_a_message_queue_that_is_not_a_redis_url_stops_the_start(url, says):
    with pytest.raises(ConfigError, match=says):
        load({"MESSAGE_QUEUE": url}, environ={})


def test_its_password_is_never_in_an_error_nor_a_log_line(caplog):
    with pytest.raises(ConfigError) as refused:
        load({"MESSAGE_QUEUE": f"http://:{SECRET}@127.0.0.1:1/0"}, environ={})
    assert SECRET not in str(refused.value) and "***" in str(refused.value)

    nowhere = Fleet(f"redis://:{SECRET}@127.0.0.1:{free_port()}/0?password={SECRET}", "q-1")
    with caplog.at_level(logging.INFO, logger="pillow_web.fleet"):
        nowhere.wake_watcher()
        wait_for(lambda: nowhere.reachable is False, message="the wake to fail")
    nowhere.close()
    assert "unreachable" in caplog.text and SECRET not in caplog.text
    assert SECRET not in nowhere.shown_url and nowhere.shown_url.startswith("redis://:***@")


def test_without_a_message_queue_everything_stays_in_the_process(settings):
    alone = Fleet.from_settings({"QUEUE": "q-1"})
    assert not alone.shared and alone.client_manager() is None
    pushed = []
    assert alone.sender(lambda event, data: pushed.append(event)) is not None
    alone.emit("state", {})  # a no-op: nowhere to push to
    assert alone.screens(3) == 3

    pillow = create_app(settings).extensions["pillow"]
    assert pillow.role == "all" and not pillow.fleet.shared
    assert "message_queue_ok" not in pillow.health()
    pillow.storage.close()


class FakeWatcher:
    """What the fleet uses of a watcher: its role, its link's status, its queue's figures and
    ``wake()``."""

    def __init__(self, role="active"):
        self.role = role
        self.woken = Event()
        self.link = SimpleNamespace(status=lambda detail=False: {
            "status": "ok", "queue_ok": True, "reason": None, "last_error": None})

    def queue_figures(self, ask=True):
        return {"depth": 0, "oldest_age": None, "poison_count": 0, "as_of": None}

    def wake(self):
        self.woken.set()


@pytest.fixture
def fleets(redis_server):
    """``fleets()`` -> a new Fleet on the test's Redis and queue (closed at the end)."""
    made = []

    def make():
        made.append(Fleet(redis_server.url, "q-fleet"))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.mark.slow
def test_screens_add_up_across_processes_and_only_the_active_watcher_reports(fleets):
    web_a, web_b, standby_host, active_host = fleets(), fleets(), fleets(), fleets()
    web_a.serve_screens(lambda: 2)
    web_b.serve_screens(lambda: 3)
    standby_host.serve_watcher(FakeWatcher("standby"))
    wait_for(lambda: web_a.other_screens == 3 and web_b.other_screens == 2, 5,
             "each to read the other's count")
    assert web_a.screens(2) == web_b.screens(3) == 5
    assert web_a.healthy() and web_a.watcher_report is None  # a standby says nothing

    active_host.serve_watcher(FakeWatcher("active"))
    wait_for(lambda: web_a.watcher_report is not None, 5, "the active watcher's report")
    assert web_a.watcher_report["queue_ok"] is True
    assert web_a.watcher_report["process"] == active_host.process

    web_b.close()  # a worker gone: its count expires with its key
    wait_for(lambda: web_a.other_screens == 0, fleet_module.TTL + 3 * BEAT, "b's count to expire")


def test_a_post_in_one_process_wakes_the_watcher_in_another(fleets):
    watcher = FakeWatcher()
    fleets().serve_watcher(watcher)
    poster = fleets()
    deadline = monotonic() + 5
    while not watcher.woken.is_set():  # one published before the watcher subscribed is lost
        assert monotonic() < deadline, "the watcher was never woken"
        poster.wake_watcher()
        watcher.woken.wait(0.2)


def test_redis_away_never_raises_or_blocks_and_its_return_is_noticed(fleets, redis_server):
    web = fleets()
    web.serve_screens(lambda: 1)
    watcher_side = fleets()
    watcher_side.serve_watcher(FakeWatcher())
    wait_for(web.healthy, 5, "Redis to answer")

    redis_server.stop()
    wait_for(lambda: not web.healthy(), 5, "the fleet to notice Redis is away")
    started = monotonic()
    for number in range(50):  # a burst of pushes: coalesced, none waits
        watcher_side.emit("state", {"number": number})
    web.wake_watcher()
    assert monotonic() - started < 0.1
    assert web.screens(1) == 1

    redis_server.start()
    wait_for(lambda: web.healthy() and web.watcher_report is not None, 5, "Redis to be back")


def test_a_sender_coalesces_to_the_latest_of_each_event_and_keeps_their_order():
    taken, sent, release = [], [], Event()

    def emit(event, data):
        taken.append(event)
        release.wait()
        sent.append((event, data))

    sender = Sender(emit)
    sender("state", 1)
    wait_for(lambda: taken, message="the first push to be in hand")
    for event, data in [("state", 2), ("status", "a"), ("state", 3), ("reload", None)]:
        sender(event, data)
    release.set()
    wait_for(lambda: len(sent) == 4, message="the pushes")
    assert sent == [("state", 1), ("status", "a"), ("state", 3), ("reload", None)]
    sender.close()


def test_a_web_workers_health_names_no_redis_and_its_console_only_a_redacted_one(settings):
    port = free_port()  # nothing listens: Redis is away
    app = create_app({**settings, "OPERATOR_TOKEN": "console-token",
                      "MESSAGE_QUEUE": f"redis://:{SECRET}@127.0.0.1:{port}/0"}, role="web")
    pillow = app.extensions["pillow"]
    pillow.start()
    try:
        wait_for(lambda: pillow.fleet.reachable is False and pillow.watcher.loaded.is_set(), 10,
                 "the first beat and snapshot read")
        browser = app.test_client()
        public = browser.get("/healthz")
        assert public.status_code == 503
        assert public.json["reason"] == "message queue unreachable"
        assert (public.json["role"], public.json["message_queue_ok"]) == ("web", False)
        assert SECRET not in public.text and str(port) not in public.text

        page = browser.get("/operator/").get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
        browser.post("/operator/signin", data={"csrf": csrf, "token": "console-token"})
        console = browser.get("/operator/data.json")
        assert console.json["watcher"]["message_queue"] == f"redis://:***@127.0.0.1:{port}/0"
        assert SECRET not in console.text
    finally:
        pillow.stop(1.0)
        pillow.storage.close()
