"""Which message wins, against a real Azurite: older only at the precision both times have.

The queue's insertion time (all a bare name, a legacy tuple or a base64 message has) is known to
the second, an operator's post to the microsecond. Each test starts on a fresh second so that what
it sends lands in one second, and checks that it did: otherwise it would prove nothing.
"""

from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.app import create_app
from pillow_web.cli import cli
from pillow_web.config import ROOT
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import Message, compose, encode
from pillow_web.domain.ordering import CLOCK_SKEW, SECOND, Stamp
from pillow_web.domain.state import BadSnapshot, StateStore

from .util import wait_for

TOKEN = "op-token-0rd3r1ng"
PILLOW_FORMS = {"bare": "punching", "tuple": "('PUNCHING', 0.93)",
                "base64": encode("punching", as_base64=True)}


@pytest.fixture
def settings(settings):
    return {**settings, "OPERATOR_TOKEN": TOKEN}


def fresh_second():
    """Wait until a second has just begun (Azurite stamps with this machine's clock); return it."""
    wait_for(lambda: datetime.now(UTC).microsecond < 200_000, timeout=2.0,
             message="a fresh second", interval=0.002)
    return datetime.now(UTC).replace(microsecond=0)


def in_second(second, sent):
    """Fail unless the queue inserted ``sent`` in ``second``: the test would prove nothing."""
    assert sent.inserted_on == second, f"too slow: inserted {sent.inserted_on}, began {second}"


def post(app, state):
    response = app.test_client().post("/api/state", json={"state": state},
                                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code in (200, 201, 202), response.get_data(as_text=True)


def shown(app):
    return app.test_client().get("/api/state").json["state"]


def settled(app, storage):
    """What the app shows once its watcher has consumed (applied or skipped) all queued."""
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             message="the queue to drain")
    return shown(app)


@pytest.mark.parametrize("form", PILLOW_FORMS)
def test_the_pillows_message_after_a_post_in_the_same_second_is_shown(live_app, storage, form):
    second = fresh_second()
    post(live_app, "hugging")  # stamped to the microsecond, and applied at once
    wait_for(lambda: shown(live_app) == "HUGGING", message="the post applied")
    in_second(second, storage.send(PILLOW_FORMS[form]))
    assert settled(live_app, storage) == "PUNCHING"


def test_in_one_batch_a_cli_post_then_the_pillows_name_ends_on_the_pillows(app, runner, storage):
    second = fresh_second()
    result = runner.invoke(cli, ["post", "hugging"])
    assert result.exit_code == 0, result.output
    in_second(second, storage.send("punching"))
    watcher = app.extensions["pillow"].watcher
    watcher.start()  # both wait in the queue: one batch
    assert settled(app, storage) == "PUNCHING"
    assert [entry["state"] for entry in app.extensions["pillow"].store.history_payload()] == [
        "PUNCHING", "HUGGING"]


def test_a_json_message_after_a_bare_one_in_the_same_second_is_shown(live_app, storage):
    second = fresh_second()
    in_second(second, storage.send("punching"))
    wait_for(lambda: shown(live_app) == "PUNCHING", message="the bare name applied")
    storage.send(compose("HUGGING"))
    assert settled(live_app, storage) == "HUGGING"
    assert datetime.fromisoformat(shown_at(live_app)).replace(microsecond=0) == second


def shown_at(app):
    return app.test_client().get("/api/state").json["at"]


@pytest.mark.parametrize("timespec", ["microseconds", "seconds"])
def test_a_message_a_minute_older_is_consumed_not_shown(live_app, storage, timespec):
    post(live_app, "hugging")
    wait_for(lambda: shown(live_app) == "HUGGING", message="the post applied")
    old = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec=timespec)
    storage.send(compose("PUNCHING", at=old))
    storage.send("('PUNCHING', 0.5)")  # a bare one cannot be a minute older: it is shown
    storage.send(compose("SHAKING", at=old))  # older than the bare one's second
    assert settled(live_app, storage) == "PUNCHING"
    history = [entry["state"] for entry in live_app.extensions["pillow"].store.history_payload()]
    assert history[:2] == ["PUNCHING", "HUGGING"]


def test_the_same_second_rule_holds_after_a_restart(app, settings, storage):
    watcher = app.extensions["pillow"].watcher
    watcher.start()
    wait_for(lambda: watcher.ok, message="the first poll")
    second = fresh_second()
    post(app, "hugging")
    wait_for(lambda: shown(app) == "HUGGING", message="the post applied")
    watcher.stop()  # its snapshot holds HUGGING, stamped to the microsecond
    in_second(second, storage.send("punching"))
    restarted = create_app(settings)
    pillow = restarted.extensions["pillow"]
    try:
        pillow.watcher.start()
        assert settled(restarted, storage) == "PUNCHING"
        assert [entry["state"] for entry in pillow.store.history_payload()][:2] == [
            "PUNCHING", "HUGGING"]  # HUGGING came from the snapshot
    finally:
        pillow.watcher.stop()
        pillow.storage.close()


# The snapshot's part, without storage.

CATALOG = Catalog.load(ROOT / "config" / "states.toml", ROOT / "static" / "img")
US = timedelta(microseconds=1)


def at(text):
    return datetime.fromisoformat(text)


def store_showing(state, stamp):
    store = StateStore(CATALOG)
    assert store.apply(Message(state), "m-0", stamp)
    return store


def restored(snapshot):
    store = StateStore(CATALOG)
    store.restore(snapshot)
    return store


def test_the_snapshot_keeps_the_exact_time_and_its_precision():
    before = store_showing("HUGGING", Stamp(at("2026-11-22T10:00:05.300123Z"), US))
    after = restored(before.snapshot())
    assert after.current.stamp() == Stamp(at("2026-11-22T10:00:05.300123Z"), US)
    assert not after.apply(Message("SHAKING"), "m-1", Stamp(at("2026-11-22T10:00:05.300122Z"), US))
    assert after.apply(Message("PUNCHING"), "m-2", Stamp(at("2026-11-22T10:00:05Z"), SECOND))
    # What screens get keeps its shape and millisecond times.
    assert set(after.payload()) == {"state", "text", "image", "color", "at", "received_at"}
    assert after.payload()["at"] == "2026-11-22T10:00:05.000Z"


def test_a_snapshot_written_before_the_precision_was_kept_is_read_as_whole_seconds():
    snapshot = store_showing("HUGGING", Stamp(at("2026-11-22T10:00:05.700123Z"), US)).snapshot()
    del snapshot["current"]["at_resolution"]
    snapshot["current"]["at"] = "2026-11-22T10:00:05.700Z"  # as the old version wrote it
    assert restored(snapshot).current.stamp() == Stamp(at("2026-11-22T10:00:05.700Z"), SECOND)
    bare = Message("PUNCHING")
    assert not restored(snapshot).apply(bare, "m-1", Stamp(at("2026-11-22T10:00:04Z"), SECOND))
    assert restored(snapshot).apply(bare, "m-1", Stamp(at("2026-11-22T10:00:05Z"), SECOND))


@pytest.mark.parametrize("value", [0, -1, 1e9, "soon", float("nan"), [1]])
def test_a_snapshot_with_a_bad_precision_is_refused_as_unreadable(value):
    snapshot = store_showing("HUGGING", Stamp(at("2026-11-22T10:00:05Z"))).snapshot()
    snapshot["current"]["at_resolution"] = value
    with pytest.raises((TypeError, ValueError)):  # what the watcher logs as unreadable
        restored(snapshot)


# A snapshot is held to a message's rules: whoever can write the queue can write the blob.

def good_snapshot(**current):
    now = datetime.now(UTC).isoformat()
    entry = {"state": "SPINNING", "text": "Round and round", "at": now, "received_at": now}
    return {"version": 1, "current": {**entry, **current}, "history": [entry],
            "applied_ids": ["m-1"]}


@pytest.mark.parametrize("field, value", [
    ("at", "9999-12-31T00:00:00Z"),
    ("received_at", "9999-12-31T00:00:00Z"),
    ("at", "ahead"),  # made when the test runs: parameters are made at collection
    ("at", "1970-01-01T00:00:00Z"),
    ("at", "0001-01-01T00:00:00+01:00"),
    ("text", "\u202e\x07" + "x" * 5000),
    ("text", "x" * 201),
    ("text", "a\x07b"),
    ("text", "\ud800"),
    ("text", 42),
    ("state", ["HUGGING"]),
])
@pytest.mark.parametrize("where", ["current", "history"])
def test_a_snapshot_entry_a_message_could_not_have_made_is_refused_whole(field, value, where):
    if value == "ahead":
        value = (datetime.now(UTC) + CLOCK_SKEW + timedelta(seconds=30)).isoformat()
    snapshot = good_snapshot()
    snapshot[where] = {**snapshot["current"], field: value}
    if where == "history":
        snapshot["history"] = [snapshot.pop("history")]
    store = StateStore(CATALOG)
    with pytest.raises(BadSnapshot):
        store.restore(snapshot)
    assert store.current.state == CATALOG.initial.name  # nothing of it is shown
    assert not store.history and not store.applied_ids


@pytest.mark.parametrize("snapshot", [[1], {"version": "1" * 1000}, {"version": 1},
                                      {**good_snapshot(), "applied_ids": [{"id": 1}]}])
def test_a_snapshot_of_another_shape_is_refused(snapshot):
    with pytest.raises(BadSnapshot):
        restored(snapshot)


def test_a_snapshot_up_to_the_bound_ahead_and_long_ago_is_read():
    now = datetime.now(UTC)
    ahead = good_snapshot(at=(now + CLOCK_SKEW - timedelta(seconds=1)).isoformat())
    assert restored(ahead).current.state == "SPINNING"
    assert restored(good_snapshot(at="2000-01-01T00:00:00Z")).current.state == "SPINNING"
