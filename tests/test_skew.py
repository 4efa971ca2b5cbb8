"""A fast or hostile clock cannot freeze the screens (issue 13, item 4), against a real Azurite.

A message's ``at`` counts only within ``CLOCK_SKEW`` of the queue's insertion time; an operator's
post is never skipped without a word; a snapshot is held to a message's rules before it is shown.
The attacks run against a real ``pillow-web serve``, as they were reproduced.
"""

import re
from datetime import UTC, datetime, timedelta
from time import monotonic

import pytest
import requests

from pillow_web.domain.messages import compose
from pillow_web.domain.state import BadSnapshot

from .util import wait_for

TOKEN = "op-token-5kew-5kew"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EVIL_TEXT = "\u202e" + "\x07" + "x" * 5000  # 5,002 characters: a right-to-left override, a BEL


@pytest.fixture
def settings(settings):
    return {**settings, "OPERATOR_TOKEN": TOKEN}


@pytest.fixture
def serve(azurite, storage, dashboards):
    """A real ``pillow-web serve`` on the test's queue, with the write API enabled."""
    return lambda: dashboards(azurite, storage.queue_name, OPERATOR_TOKEN=TOKEN)


def iso(when):
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def shows(dashboard, state):
    return dashboard.state()["state"] == state


def test_a_message_stamped_minutes_ahead_holds_back_neither_operator_nor_pillow(serve, storage):
    dashboard = serve()
    storage.send(compose("PUNCHING", at=iso(datetime.now(UTC) + timedelta(minutes=4, seconds=55))))
    wait_for(lambda: shows(dashboard, "PUNCHING"), message="the fast-clock message shown")
    posted = requests.post(f"{dashboard.url}/api/state", json={"state": "hugging"}, headers=AUTH,
                           timeout=5)
    assert posted.status_code == 202 and "warning" not in posted.json()
    # Before: 202, and for five minutes every post was "skipped ... older than the current state".
    wait_for(lambda: shows(dashboard, "HUGGING"), message="the operator's post on screen")
    storage.send("shaking")  # the pillow's bare name, stamped by the queue: shown too
    wait_for(lambda: shows(dashboard, "SHAKING"), message="the pillow's next state on screen")
    log = dashboard.output()
    assert len(re.findall(r"at \S+ is 29\d s ahead of its insertion time", log)) == 1, log[-2000:]
    assert "skipped" not in log


def test_a_hostile_snapshot_is_refused_on_restart_and_the_next_message_shows(serve, storage):
    storage.save_snapshot({
        "version": 1,
        "current": {"state": "HUGGING", "text": EVIL_TEXT, "at": "9999-12-31T00:00:00Z",
                    "received_at": "9999-12-31T00:00:00Z"},
        "history": [], "applied_ids": [],
    })
    dashboard = serve()  # healthy only after the snapshot was read
    shown = dashboard.state()
    assert shown["state"] != "HUGGING" and "\u202e" not in shown["text"], shown["text"][:40]
    assert len(shown["text"]) <= 200 and not shown["at"]
    log = dashboard.output()
    assert log.count("ignoring an unreadable snapshot") == 1, log[-2000:]
    assert "text is 5002 characters" in log and "\u202e" not in log and "\x07" not in log
    storage.send("punching")  # before: older than 9999-12-31, skipped for good
    wait_for(lambda: shows(dashboard, "PUNCHING"), message="the next message on screen")


def test_a_snapshot_that_is_not_json_is_refused_once_and_the_next_message_shows(serve, storage):
    """Before: the watcher's first read raised, and its supervisor restarted it with a traceback
    every second, never consuming."""
    storage.snapshot_blob.upload_blob(b"\xff<html>not a snapshot</html>", overwrite=True)
    dashboard = serve()
    assert dashboard.state()["state"] == "NOTCONNECTED"  # the initial state, not a crash
    storage.send("punching")
    wait_for(lambda: shows(dashboard, "PUNCHING"), message="the next message on screen")
    log = dashboard.output()
    assert log.count("ignoring an unreadable snapshot: not JSON (UnicodeDecodeError") == 1, log
    assert "Traceback" not in log
    # Shown once applied, a moment before it is saved: the blob is rewritten as JSON then.
    wait_for(lambda: saved_state(storage) == "PUNCHING", message="the snapshot rewritten")


def saved_state(storage):
    try:
        return storage.load_snapshot()["current"]["state"]
    except BadSnapshot:  # not rewritten yet
        return None


def post(app, **body):
    return app.test_client().post("/api/state", json=body, headers=AUTH)


def shown(app):
    return app.test_client().get("/api/state").json["state"]


def test_a_post_behind_a_clock_fast_within_the_bound_still_shows_and_says_why(live_app, storage):
    sent = monotonic()
    storage.send(compose("PUNCHING", at=iso(datetime.now(UTC) + timedelta(seconds=4))))
    wait_for(lambda: shown(live_app) == "PUNCHING", message="the fast-clock message shown")
    assert monotonic() - sent < 3, "too slow: the fast stamp may no longer be ahead"
    response = post(live_app, state="hugging")
    # Before: 202 with no word, and the post was skipped as older.
    assert response.status_code == 202
    assert "ahead of this server's clock" in response.json["warning"]
    wait_for(lambda: shown(live_app) == "HUGGING", message="the operator's post on screen")


def test_a_post_with_its_own_at_older_than_the_state_shown_is_409_not_queued(live_app, storage):
    assert post(live_app, state="hugging").status_code == 202
    wait_for(lambda: shown(live_app) == "HUGGING", message="the first post on screen")
    old = iso(datetime.now(UTC) - timedelta(minutes=1))
    response = post(live_app, state="punching", at=old)
    # Before: 202, then "skipped ... older than the current state".
    assert response.status_code == 409, response.json
    assert "older than the state shown" in response.json["error"]
    assert storage.queue.peek_messages() == []


def test_the_console_says_so_too(live_app, storage):
    browser = live_app.test_client()
    page = browser.get("/operator/").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    browser.post("/operator/signin", data={"csrf": csrf, "token": TOKEN})
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/operator/").text).group(1)
    sent = monotonic()
    storage.send(compose("PUNCHING", at=iso(datetime.now(UTC) + timedelta(seconds=4))))
    wait_for(lambda: shown(live_app) == "PUNCHING", message="the fast-clock message shown")
    assert monotonic() - sent < 3, "too slow: the fast stamp may no longer be ahead"
    response = browser.post("/operator/state", data={"csrf": csrf, "state": "HUGGING"},
                            headers={"Accept": "application/json"})
    assert response.status_code == 202 and "note: the state shown" in response.json["message"]
    wait_for(lambda: shown(live_app) == "HUGGING", message="the console's post on screen")


def test_a_pillow_whose_clock_runs_an_hour_fast_is_shown_in_order_not_poisoned(live_app, storage):
    ahead = datetime.now(UTC) + timedelta(hours=1)
    for state in ("HUGGING", "PUNCHING", "SPINNING"):
        storage.send(compose(state, at=iso(ahead)))
    storage.send(compose("THROWING", at="2999-01-01T00:00:00Z"))
    wait_for(lambda: shown(live_app) == "THROWING", message="the last state on screen")
    history = [entry["state"] for entry in live_app.extensions["pillow"].store.history_payload()]
    assert history[:4] == ["THROWING", "SPINNING", "PUNCHING", "HUGGING"]
    assert storage.poison.peek_messages() == []
