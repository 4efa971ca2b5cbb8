"""Peek on a real Azurite: it changes nothing in the queue, and what it forecasts is what a
real dashboard then does with each message."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.config import SETTINGS
from pillow_web.domain.messages import compose, encode, parse
from pillow_web.queue_view import waiting_rows
from pillow_web.storage.account import StorageUnavailable
from pillow_web.storage.peek import peek

from .util import wait_for

MAX_DEQUEUE = SETTINGS["MAX_DEQUEUE"].default  # the dashboard's below runs with the default


def b64(text):
    return encode(text, as_base64=True)


def properties(storage):
    found = storage.queue.get_queue_properties()
    return found.approximate_message_count, dict(found.metadata or {})


def test_peeking_changes_no_visibility_and_no_dequeue_count(storage):
    sent = [storage.send(compose(state)).id for state in ("HUGGING", "PUNCHING", "SHAKING")]
    before = properties(storage)
    for _ in range(4):
        waiting = peek(storage)
        assert [message.id for message in waiting] == sent  # all visible, in the queue's order
        assert [message.dequeue_count for message in waiting] == [0, 0, 0]
    assert [message.id for message in peek(storage, limit=2)] == sent[:2]
    assert properties(storage) == before
    received = storage.receive(30)
    assert sorted(message.id for message in received) == sorted(sent)
    assert [message.dequeue_count for message in received] == [1, 1, 1]
    assert peek(storage) == []  # received ones are hidden: nothing visible waits


def test_a_peek_reads_1_to_32(storage):
    for limit in (0, 33):
        with pytest.raises(ValueError, match="1 to 32"):
            peek(storage, limit)


def test_a_missing_queue_is_one_redacted_line(storage):
    gone = storage.on_queue("no-such-queue-here")
    try:
        with pytest.raises(StorageUnavailable, match="QueueNotFound") as failed:
            peek(gone)
        assert "AccountKey" not in str(failed.value) and "\n" not in str(failed.value)
    finally:
        gone.close()


def table_and_older(now):
    """The README table's forms, raw and base64, with older ones among them: (content, the
    outcome they have in this order after the seeded state)."""
    def at(seconds):
        return (now + timedelta(seconds=seconds)).isoformat()

    return [
        (compose("HUGGING", "json", at(-50)), "shows"),  # after the snapshot's state
        (compose("PUNCHING", at=at(-55)), "older"),  # than the one before
        (b64(compose("SPINNING", "base64 json", at(-45))), "shows"),
        ("neutral", "shows"),  # stamped by its insertion second
        (b64("throwing"), "shows"),  # the same second or a later one: the later received wins
        ("('SHAKING', 0.93)", "shows"),
        (b64("('PUNCHING', 0.5)"), "shows"),
        (compose("HUGGING", "late", at(-20)), "older"),  # than the bare names' insertion
        (compose("SPINNING", "ahead", at(3600)), "shows"),  # not believed: by its insertion
    ]


POISON = [
    '{"state": "HUGGING"', "dancing", "x" * 4097, '{"state": "HUGGING", "state": "NEUTRAL"}',
    '{"state": "HUGGING", "x": NaN}', '{"state": "HUGGING", "text": "\\ud800"}',
    '{"state": "HUGGING", "text": "a\\u0007b"}',
    '{"state": "HUGGING", "text": "' + "t" * 201 + '"}',
    '{"state": "HUGGING", "at": "1999-12-31T23:59:59Z"}', '{"state": "HUGGING", "at": "soon"}',
    '{"state": "HUGGING", "pillow": "attic"}', '{"state": "HUGGING", "pillow": "Bad Id"}',
    '{"text": "no state"}', '{"state": 7}', "[1, 2]", "   ",
    "('HUGGING', os.system('x'))", base64.b64encode(b"\xff\xfe\xfd\xfc").decode(),
    b64("dancing"), b64('{"state": "HUGGING", "text": "a\\u0000"}'),
]


def seed_snapshot(app, storage, applied_id, at):
    """The dashboard's saved state before it starts: HUGGING "seeded" at ``at``, applied from
    message ``applied_id`` (so that message, still waiting, is a redelivery)."""
    live = app.extensions["pillow"].default
    message = parse(compose("HUGGING", "seeded", at.isoformat()), live.queue_state.states_for)
    live.queue_state.apply(message, applied_id, message.stamp(at))
    storage.save_snapshot(live.queue_state.snapshot())
    live.queue_state.dirty = False
    return live


def test_the_forecast_is_what_the_dashboard_then_does(app, settings, storage, dashboards):
    now = datetime.now(UTC)
    # Delivered MAX_DEQUEUE times already (never applied): the next delivery poisons it.
    too_often = storage.send(compose("NEUTRAL", "too often")).id
    for _ in range(MAX_DEQUEUE):
        message = wait_for(lambda: storage.queue.receive_message(visibility_timeout=1),
                           message="a delivery")  # (1 s: the least Azure takes)
        assert message.id == too_often
    redelivered = storage.send(compose("SHAKING", "redelivered", (now - timedelta(seconds=30))
                                       .isoformat())).id
    expected = {too_often: "poison", redelivered: "redelivered"}
    for content, outcome in table_and_older(now):
        expected[storage.send(content).id] = outcome
    for content in POISON:
        expected[storage.send(content).id] = "poison"
    live = seed_snapshot(app, storage, redelivered, now - timedelta(seconds=60))
    live.queue_state.restore(storage.load_snapshot())  # as the dashboard will read it

    waiting = wait_for(lambda: (found := peek(storage)) and len(found) == len(expected)
                       and found, message="every message visible again")
    rows = waiting_rows(live, waiting, MAX_DEQUEUE)
    assert {row["id"]: row["outcome"] for row in rows} == expected
    [again] = [row for row in rows if row["id"] == too_often]
    assert again["reason"] == f"delivered {MAX_DEQUEUE + 1} times without being applied"
    assert again["dequeue_count"] == MAX_DEQUEUE
    repeated = waiting_rows(live, peek(storage), MAX_DEQUEUE)
    assert [(row["dequeue_count"], row["content"]) for row in repeated] == [
        (row["dequeue_count"], row["content"]) for row in rows]  # looking changed nothing

    dashboard = dashboards(settings["CONNECTION_STRING"], settings["QUEUE"])
    poisoned = {row["id"]: row["reason"] for row in rows if row["outcome"] == "poison"}

    def records():
        found = [json.loads(m.content) for m in storage.poison.peek_messages(max_messages=32)]
        return len(found) == len(poisoned) and found

    records = wait_for(records, 30, "every forecast poisoning")
    wait_for(lambda: properties(storage)[0] == 0, 30, "the queue to drain")
    assert {record["message_id"]: record["reason"] for record in records} == poisoned

    snapshot = storage.load_snapshot()
    shown = [(row["state"], row["text"]) for row in rows if row["outcome"] == "shows"]
    assert [(entry["state"], entry["text"]) for entry in snapshot["history"]] == [
        *reversed(shown), ("HUGGING", "seeded")]
    consumed = {row["id"] for row in rows if row["outcome"] in ("shows", "older", "redelivered")}
    assert consumed <= set(snapshot["applied_ids"])
    assert not set(poisoned) & set(snapshot["applied_ids"])
    state = dashboard.state()
    assert (state["state"], state["text"]) == shown[-1] == ("SPINNING", "ahead")
