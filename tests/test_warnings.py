"""Warnings a person would want: the rules, their thresholds and off switches, the words they use,
the kiosk's word of a silent pillow, and /healthz carrying them from a real dashboard."""

from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.config import ASSETS
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import parse
from pillow_web.domain.ordering import Stamp
from pillow_web.domain.pillows import Pillow, QueueState
from pillow_web.domain.warnings import (
    Thresholds,
    duration,
    poison_warning,
    queue_warnings,
    silence_warning,
    silent_since,
    waiting_warning,
)
from pillow_web.storage.lease import Lease

from .util import wait_for

CATALOG = Catalog.load(ASSETS / "config" / "states.toml", ASSETS / "static" / "img")
NOW = datetime(2026, 11, 27, 11, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize("seconds, said", [
    (0, "0 s"), (-3, "0 s"), (59.9, "59 s"), (60, "1 min"), (359, "5 min"), (3599, "59 min"),
    (3600, "1 h"), (7500, "2 h 5 min"), (86399, "23 h 59 min"), (86400, "1 d"),
    (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
])
def test_durations_are_short_and_rounded_down(seconds, said):
    assert duration(seconds) == said


def test_a_message_waiting_longer_than_the_threshold_warns_without_its_contents():
    assert waiting_warning(None, 120) is None  # nothing waits (or not known)
    assert waiting_warning(120, 120) is None
    assert waiting_warning(360.5, 0) is None  # off
    assert waiting_warning(360.5, 120, "hall") == {
        "kind": "waiting", "pillow": "hall",
        "message": "the oldest waiting message is 6 min old: messages wait but are not being "
                   "consumed"}


def test_poison_in_the_last_minutes_warns_with_the_count_and_the_total():
    assert poison_warning(3, 15, 12) == {
        "kind": "poison", "pillow": None,
        "message": "3 messages went to poison in the last 15 min (12 in all)"}
    assert poison_warning(1, 5, None, "den")["message"] == (
        "1 message went to poison in the last 5 min")
    assert poison_warning(0, 15, 12) is None
    assert poison_warning(None, 15, 12) is None  # the stats are not known yet
    assert poison_warning(3, 0, 12) is None  # off


def test_a_pillow_silent_past_its_limit_warns_with_when_it_last_spoke():
    last = NOW - timedelta(hours=2, minutes=5, seconds=30)
    assert silence_warning("hall", "Hallway", last, 600, NOW) == {
        "kind": "silent", "pillow": "hall",
        "message": "no message from Hallway for 2 h 5 min (since 09:12 UTC): it may be off or "
                   "offline"}
    assert silence_warning("hall", "Hallway", last, 0, NOW) is None  # off
    assert silence_warning("hall", "Hallway", None, 600, NOW) is None  # nothing sent yet
    assert silence_warning("hall", "Hallway", NOW - timedelta(seconds=600), 600, NOW) is None
    days = silence_warning("hall", "Hallway", NOW - timedelta(days=2), 600, NOW)
    assert "for 2 d (since 2026-11-25 11:17 UTC)" in days["message"]
    assert silent_since(last, 600, NOW) == last and silent_since(last, 8000, NOW) is None


def test_a_queue_s_warnings_come_in_order_and_name_its_pillow_only_when_it_has_one():
    figures = {"depth": 4, "oldest_age": 500.0, "poison_count": 9, "as_of": None}
    pillows = [("hall", "Hallway", NOW - timedelta(minutes=30), 60),
               ("den", "Den", NOW - timedelta(seconds=5), 60), ("attic", "Attic", None, 60)]
    found = queue_warnings(figures, 2, Thresholds(120, 15), pillows, None, NOW)
    assert [(warning["kind"], warning["pillow"]) for warning in found] == [
        ("waiting", None), ("poison", None), ("silent", "hall")]
    alone = queue_warnings(figures, 2, Thresholds(120, 15), pillows[:1], "hall", NOW)
    assert {warning["pillow"] for warning in alone} == {"hall"}
    assert queue_warnings(figures, 2, Thresholds(0, 0), pillows[1:], None, NOW) == []
    assert queue_warnings(None, None, Thresholds(), pillows[1:], None, NOW) == []


def silent_queue(silent_after=60, shows=True, catalog=CATALOG, received=NOW):
    """A queue of one pillow, "hall", whose last message came at ``received`` (None: none)."""
    queue = QueueState([Pillow("hall", "Hallway", "q", catalog, silent_after, shows)])
    if received is not None:
        queue.apply(parse("HUGGING", queue.states_for), "m-1",
                    Stamp(received, timedelta(seconds=1)), received)
    return queue


def test_a_silent_pillow_s_state_event_says_so_when_its_screens_are_to_show_it(tmp_path):
    later = NOW + timedelta(seconds=61)
    assert silent_queue().payload("hall", later)["silent"] == {
        "since": "2026-11-27T11:17:30.000Z", "after": 60,
        "image": "/static/img/notconnected.svg", "color": "#9aa3ad"}
    assert silent_queue().payload("hall", later)["state"] == "HUGGING"  # the state stays
    assert "silent" not in silent_queue().payload("hall", NOW + timedelta(seconds=60))
    assert "silent" not in silent_queue(shows=False).payload("hall", later)  # a warning only
    assert "silent" not in silent_queue(silent_after=0).payload("hall", later)
    assert "silent" not in silent_queue(received=None).payload("hall", later)
    path = tmp_path / "without.toml"  # a catalog with no NOTCONNECTED: only the warning
    path.write_text('[[state]]\nname = "HUGGING"\nimage = "hugging.svg"\n', encoding="utf-8")
    own = Catalog.load(path, ASSETS / "static" / "img")
    assert "silent" not in silent_queue(catalog=own).payload("hall", later)


def test_healthz_carries_the_warnings_without_changing_its_status(live_app, storage):
    """A live dashboard whose queue is fine: no warning, and the key is there."""
    client = live_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["warnings"] == []
    assert live_app.extensions["pillow"].health(detail=True)["warnings"] == []


def test_a_poisoned_message_warns_in_healthz_and_the_console(live_app, storage):
    """The consumer poisons a message: the warning counts it, with the poison queue's total."""
    storage.send("NOT-A-STATE with private words")
    dashboard = live_app.extensions["pillow"]
    found = wait_for(lambda: [warning for warning in dashboard.warnings()
                              if warning["kind"] == "poison"], message="a poison warning")
    assert found == [{"kind": "poison", "pillow": "default",
                      "message": "1 message went to poison in the last 15 min (1 in all)"}]
    assert dashboard.warnings(dashboard.default) == found
    health = live_app.test_client().get("/healthz")
    assert health.status_code == 200 and health.json["warnings"] == found
    assert "private words" not in health.get_data(as_text=True)


def test_a_message_waiting_on_a_standby_shows_in_healthz_as_a_warning(azurite, storage,
                                                                     dashboards):
    """Another process holds the lease, so the dashboard only stands by: the message waits,
    unconsumed, and /healthz (still 200) says so in words, without the message's text."""
    holder = Lease(storage.snapshot_blob, duration=60)
    assert holder.acquire()
    try:
        storage.send("HUGGING secret-words")
        server = dashboards(azurite, storage.queue_name, WARN_WAITING_AGE=1, POLL_MAX=0.5)

        def warned():
            body = server.get("/healthz")
            kinds = [warning["kind"] for warning in body.json()["warnings"]]
            return body if "waiting" in kinds else None

        # A process that does not consume asks for one figure per 15 s, the oldest age third.
        response = wait_for(warned, 50, "a waiting warning in /healthz", interval=0.5)
        assert response.status_code == 200
        [warning] = response.json()["warnings"]
        assert warning["pillow"] == "default"
        assert warning["message"].startswith("the oldest waiting message is ")
        assert "secret-words" not in response.text
    finally:
        holder.release()
