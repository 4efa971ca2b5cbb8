"""Several pillows without any process: a message naming its pillow, and the state of the
pillows one queue serves (routing, refusals, and the snapshot in both formats). Their settings:
tests/test_pillow_config.py."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.config import ASSETS
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import Message, Rejected, compose, encode, parse
from pillow_web.domain.ordering import Stamp
from pillow_web.domain.pillows import Pillow, QueueState
from pillow_web.domain.state import BadSnapshot, StateStore

CATALOG = Catalog.load(ASSETS / "config" / "states.toml", ASSETS / "static" / "img")
NOW = datetime.now(UTC)


def test_a_message_may_name_its_pillow():
    asked = []

    def states(pillow):
        asked.append(pillow)
        return CATALOG.names

    assert parse('{"state": "hugging", "pillow": "hall"}', states) == Message("HUGGING",
                                                                              pillow="hall")
    assert parse("spinning", states) == Message("SPINNING")
    assert parse('{"state": "NEUTRAL", "pillow": null}', states).pillow is None
    assert asked == ["hall", None, None]
    based = parse(encode(compose("SHAKING", pillow="den-2"), as_base64=True), CATALOG.names)
    assert (based.state, based.pillow) == ("SHAKING", "den-2")
    assert json.loads(compose("HUGGING", "hi", pillow="hall"))["pillow"] == "hall"
    assert "pillow" not in json.loads(compose("HUGGING"))


@pytest.mark.parametrize("pillow, reason", [
    (7, "pillow a number is not a pillow id"),
    (["hall"], "pillow an array is not a pillow id"),
    ({"id": "hall"}, "pillow an object is not a pillow id"),
    (True, "pillow a boolean is not a pillow id"),
    ("Hall", "pillow 'Hall' is not a pillow id"),
    ("", "pillow '' is not a pillow id"),
    ("hall/../den", "is not a pillow id"),
    ("x" * 33, "is not a pillow id"),
])
def test_a_pillow_that_is_no_pillow_id_is_rejected_with_a_reason(pillow, reason):
    with pytest.raises(Rejected) as caught:
        parse(json.dumps({"state": "HUGGING", "pillow": pillow}), CATALOG.names)
    assert reason in str(caught.value)


def few_states(tmp_path):
    """A catalog of two states: a pillow's own (``states_file``)."""
    path = tmp_path / "few.toml"
    path.write_text('initial = "NEUTRAL"\n[[state]]\nname = "NEUTRAL"\nimage = "neutral.svg"\n'
                    '[[state]]\nname = "HUGGING"\nimage = "hugging.svg"\n', encoding="utf-8")
    return Catalog.load(path, ASSETS / "static" / "img")


def queue_of(*ids, catalogs=None):
    catalogs = catalogs or {}
    return QueueState([Pillow(id, id.title(), "q-shared", catalogs.get(id, CATALOG))
                       for id in ids])


def apply(queue, content, message_id, seconds=0):
    message = parse(content, queue.states_for)
    stamp = Stamp(NOW - timedelta(minutes=1) + timedelta(seconds=seconds), timedelta(seconds=1))
    return queue.apply(message, message_id, stamp, NOW)


def test_a_shared_queue_routes_each_message_to_the_store_of_the_pillow_it_names(tmp_path):
    queue = queue_of("attic", "porch", catalogs={"porch": few_states(tmp_path)})
    assert apply(queue, compose("SPINNING", "up", pillow="attic"), "m1")
    assert apply(queue, compose("hugging", "down", pillow="porch"), "m2", seconds=1)
    assert (queue.payload("attic")["state"], queue.payload("attic")["text"]) == ("SPINNING", "up")
    assert (queue.payload("porch")["state"], queue.payload("porch")["pillow"]) == ("HUGGING",
                                                                                    "porch")
    assert list(queue.stores["attic"].applied_ids) == ["m1"]
    assert list(queue.stores["porch"].applied_ids) == ["m2"]
    assert queue.dirty
    queue.dirty = False
    assert not any(store.dirty for store in queue.stores.values())
    with pytest.raises(Rejected, match="unknown state 'SPINNING'; known: NEUTRAL, HUGGING"):
        parse(compose("SPINNING", pillow="porch"), queue.states_for)  # porch's own catalog


@pytest.mark.parametrize("content, reason", [
    (compose("HUGGING", pillow="cellar"),
     "unknown pillow 'cellar'; this queue serves attic, porch"),
    (compose("HUGGING"), 'message names no pillow, and this queue serves several (attic, porch): '
                         'add "pillow": "<id>"'),
    ("hugging", "message names no pillow"),
    ("('HUGGING', 0.9)", "message names no pillow"),
    (encode(compose("HUGGING"), as_base64=True), "base64 message: message names no pillow"),
])
def test_a_shared_queue_refuses_an_unknown_pillow_and_a_message_naming_none(content, reason):
    with pytest.raises(Rejected) as caught:
        parse(content, queue_of("attic", "porch").states_for)
    assert reason in str(caught.value)


def test_a_queue_of_one_pillow_needs_no_name_but_refuses_another():
    queue = queue_of("hall")
    assert parse("hugging", queue.states_for) == Message("HUGGING")
    assert parse(compose("HUGGING", pillow="hall"), queue.states_for).pillow == "hall"
    with pytest.raises(Rejected, match="unknown pillow 'den'; this queue serves hall"):
        parse(compose("HUGGING", pillow="den"), queue.states_for)


def test_a_queue_of_one_pillow_keeps_the_snapshot_format_it_always_had():
    queue, alone = queue_of("hall"), StateStore(CATALOG)
    apply(queue, "hugging", "m1")
    alone.apply(Message("HUGGING"), "m1", queue.stores["hall"].current.stamp(), NOW)
    snapshot = queue.snapshot()
    assert "pillows" not in snapshot and snapshot == alone.snapshot()
    again = queue_of("hall")
    again.restore(json.loads(json.dumps(snapshot)))
    assert again.payload("hall") == queue.payload("hall")


def test_a_shared_queue_snapshot_holds_every_pillow_and_round_trips():
    queue = queue_of("attic", "porch")
    apply(queue, compose("SPINNING", "up", pillow="attic"), "m1")
    apply(queue, compose("THROWING", "away", pillow="porch"), "m2", seconds=1)
    snapshot = json.loads(json.dumps(queue.snapshot()))  # as the blob holds it
    assert snapshot["version"] == 1 and set(snapshot["pillows"]) == {"attic", "porch"}
    assert snapshot["pillows"]["porch"]["current"]["state"] == "THROWING"
    again = queue_of("attic", "porch")
    again.restore(snapshot, NOW)
    for pillow in ("attic", "porch"):
        assert again.payload(pillow) == queue.payload(pillow)
        assert list(again.stores[pillow].applied_ids) == list(queue.stores[pillow].applied_ids)
    assert not again.dirty


def test_an_old_single_pillow_snapshot_restores_into_the_first_pillow_of_a_now_shared_queue():
    before = queue_of("hall")
    apply(before, compose("PUNCHING", "ouch"), "m1")
    after = queue_of("hall", "den")  # a second pillow was added on the same queue
    after.restore(before.snapshot(), NOW)
    assert (after.payload("hall")["state"], after.payload("hall")["text"]) == ("PUNCHING", "ouch")
    assert after.payload("den")["state"] == CATALOG.initial.name
    assert list(after.stores["hall"].applied_ids) == ["m1"]


def test_a_shared_snapshot_restores_into_a_queue_that_now_serves_one_of_its_pillows():
    shared = queue_of("attic", "porch")
    apply(shared, compose("SPINNING", pillow="attic"), "m1")
    apply(shared, compose("SHAKING", pillow="porch"), "m2", seconds=1)
    porch = queue_of("porch")  # attic moved to a queue of its own: its section is dropped
    porch.restore(shared.snapshot(), NOW)
    assert porch.payload("porch")["state"] == "SHAKING"
    assert "pillows" not in porch.snapshot()


@pytest.mark.parametrize("bad_section", [
    {"version": 2, "current": {"state": "HUGGING"}},
    {"version": 1, "current": {"state": "HUGGING", "text": "\x07"}},
    {"version": 1, "current": {"state": "HUGGING", "at": "9999-01-01T00:00:00Z"}},
    "not a snapshot",
])
def test_a_bad_section_raises_bad_snapshot_and_changes_no_pillow(bad_section):
    queue = queue_of("attic", "porch")
    apply(queue, compose("SPINNING", "kept", pillow="attic"), "m1")
    apply(queue, compose("SHAKING", "kept too", pillow="porch"), "m2", seconds=1)
    before = {pillow: queue.payload(pillow) for pillow in queue.stores}
    good = queue_of("attic", "porch")
    apply(good, compose("HUGGING", "new", pillow="attic"), "m3", seconds=2)
    snapshot = {"version": 1, "pillows": {"attic": good.snapshot()["pillows"]["attic"],
                                          "porch": bad_section}}
    with pytest.raises(BadSnapshot):
        queue.restore(snapshot, NOW)
    assert {pillow: queue.payload(pillow) for pillow in queue.stores} == before
    with pytest.raises(BadSnapshot, match="pillows must be an object"):
        queue.restore({"version": 1, "pillows": ["attic"]}, NOW)
    assert {pillow: queue.payload(pillow) for pillow in queue.stores} == before


def test_a_pillow_with_an_empty_section_keeps_its_state():
    queue = queue_of("attic", "porch")
    apply(queue, compose("SPINNING", "kept", pillow="attic"), "m1")
    queue.restore({"version": 1, "pillows": {"attic": None}}, NOW)
    assert queue.payload("attic")["text"] == "kept"
