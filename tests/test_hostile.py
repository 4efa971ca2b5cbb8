"""Hostile input: every row is either applied as documented or poisoned with a reason, and the
watcher keeps going. The table runs at the parser level and end to end through Azurite.

Raw C0 control characters (other than tab, CR, LF) and lone surrogates cannot travel in a queue
message at all (its body is XML; Azure refuses them), so those arrive the way they really can:
escaped in JSON, or inside base64.
"""

import base64
import json
import logging
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pillow_web.domain.messages import Message, Rejected, compose, parse

from .util import wait_for

STATES = ["NEUTRAL", "HUGGING", "NOTCONNECTED", "PUNCHING", "SHAKING", "SPINNING", "THROWING"]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PWNED = Path(tempfile.gettempdir()) / f"pillow-web-pwned-{uuid.uuid4().hex}"
BIG = "x" * (60 * 1024)


def b64(data):
    data = data.encode() if isinstance(data, str) else data
    return base64.b64encode(data).decode()


def at(value):
    return json.dumps({"state": "HUGGING", "at": value})


def text(value):
    return json.dumps({"state": "HUGGING", "text": value})


POISONED = [
    # invalid JSON
    ('{"state": "HUGGING"', "invalid JSON"),
    ("{state: HUGGING}", "invalid JSON"),
    ("{'state': 'HUGGING'}", "invalid JSON"),
    ('{"state": "HUGGING",}', "invalid JSON"),
    ('"unterminated', "invalid JSON"),
    ("[" * 2000 + "]" * 2000, "nested too deeply"),
    # JSON that is not an object, or an object without a usable state
    ("[]", "not an array"),
    ('["HUGGING"]', "not an array"),
    ("42", "not a number"),
    ("-1.5e3", "not a number"),
    ("null", "not null"),
    ("true", "not a boolean"),
    ("{}", "no state"),
    ('{"text": "hi"}', "no state"),
    ('{"state": null}', "no state"),
    ('{"state": 3}', "state must be a string, not a number"),
    ('{"state": true}', "state must be a string, not a boolean"),
    ('{"state": {"name": "HUGGING"}}', "state must be a string, not an object"),
    ('{"state": ["HUGGING"]}', "state must be a string, not an array"),
    ('{"a":' * 500 + "1" + "}" * 500, "no state"),
    # unknown states, and names that try paths or operators
    ("dancing", "unknown state 'DANCING'"),
    ('{"state": "SLEEPING"}', "unknown state 'SLEEPING'"),
    ('{"state": "constructor"}', "unknown state 'CONSTRUCTOR'"),
    ("../../etc/passwd", "is not a state name"),
    ('{"state": "../../etc/passwd"}', "is not a state name"),
    ('{"state": "/static/img/hugging.svg"}', "is not a state name"),
    ('{"state": "HUGGING; DROP TABLE states"}', "is not a state name"),
    ("HUGGING' OR '1'='1", "is not a state name"),
    ('{"state": "$where"}', "is not a state name"),
    ('{"state": "__proto__"}', "is not a state name"),
    ('{"state": "HUG*"}', "is not a state name"),
    ('{"state": "' + "A" * 33 + '"}', "is not a state name"),
    ("HUG\x7fGING", "is not a state name"),
    # text over the cap, not text, control characters, lone surrogates
    (text("x" * 201), "201 characters; the limit is 200"),
    ('{"state": "HUGGING", "text": 5}', "text must be a string"),
    ('{"state": "HUGGING", "text": "a\\u0000b"}', "control characters"),
    ('{"state": "HUGGING", "text": "line\\nbreak"}', "control characters"),
    ('{"state": "HUGGING", "text": "next\x85line"}', "control characters"),
    ('{"state": "HUGGING", "text": "para\u2028graph"}', "control characters"),
    ('{"state": "HUGGING", "text": "\\ud800"}', "lone surrogate"),
    (b64('{"state": "HUGGING", "text": "nul\x00"}'), "invalid JSON"),
    (b64("hug\x00ging"), "base64 message: state 'hug\\x00ging' is not a state name"),
    # base64 that is not UTF-8 text
    (b64(b"\xff\xfe\xfd\xfc"), "does not decode to UTF-8 text"),
    (b64(b'{"state": "HUGGING", "text": "\xc3\x28"}'), "does not decode to UTF-8 text"),
    (b64(bytes(range(256))), "does not decode to UTF-8 text"),
    (b64(b"\x89PNG\r\n\x1a\n" + bytes(64)), "does not decode to UTF-8 text"),
    # empty
    ("", "message is empty"),
    ("   \t\r\n  ", "message is empty"),
    (b64("   "), "base64 message: message is empty"),
    # too big: over 4096 characters, and 60 KiB (kept whole in a blob)
    ("y" * 4097, "4097 characters; the limit is 4096"),
    (BIG, "61440 characters; the limit is 4096"),
    # legacy tuples that try code
    (f"(__import__('os').system('touch {PWNED}'),)", "not a plain Python literal"),
    (f"(open('{PWNED}', 'w').write('x'),)", "not a plain Python literal"),
    ("('HUGGING').__class__.__bases__", "not a plain Python literal"),
    ("('HUGGING'.upper(),)", "not a plain Python literal"),
    ("(lambda: 'HUGGING')()", "not a plain Python literal"),
    ("('HUGGING'", "not a plain Python literal"),
    ("(" * 300 + ")" * 300, "not a plain Python literal"),
    ("(" * 200 + ")" * 200, "not an empty tuple"),
    ("()", "not an empty tuple"),
    ("(1, 2)", "state must be a string, not a number"),
    ("({'state': 'HUGGING'},)", "state must be a string, not an object"),
    ("('DANCING', 0.9)", "unknown state 'DANCING'"),
    # duplicate keys, anywhere
    ('{"state": "HUGGING", "state": "NEUTRAL"}', "duplicate keys"),
    ('{"state": "HUGGING", "text": "a", "text": "b"}', "duplicate keys"),
    ('{"state": "HUGGING", "x": {"a": 1, "a": 2}}', "duplicate keys"),
    # NaN and Infinity
    ('{"state": "HUGGING", "x": NaN}', "JSON constant NaN"),
    ('{"state": "HUGGING", "text": Infinity}', "JSON constant Infinity"),
    ("-Infinity", "JSON constant -Infinity"),
    # at: garbage, before 2000, out of range (one far ahead is ordered by the queue: test_skew)
    (at("yesterday"), "is not an ISO-8601 time"),
    (at("2026-13-45T99:99:99Z"), "is not an ISO-8601 time"),
    (at(12345), "at must be an ISO-8601 time string"),
    (at("2" * 41), "at must be an ISO-8601 time string"),
    (at("2026-11-22T12:00:00+25:00"), "is not an ISO-8601 time"),
    (at("9999-12-31T23:59:59-01:00"), "is out of range"),
    (at("0001-01-01T00:00:00+01:00"), "is out of range"),
    (at("1999-12-31T23:59:59Z"), "is before 2000"),
    (at("1970-01-01T00:00:00Z"), "is before 2000"),
    (at("1999-01-01\ud80000:00"), "is before 2000"),  # any separator parses, even a surrogate
]

APPLIED = [
    ('"hugging"', Message("HUGGING")),  # a JSON string is a bare name
    ("  spinning \n", Message("SPINNING")),
    ('{"state": "neutral", "colour": "red", "x": [1, {"y": null}]}', Message("NEUTRAL")),
    ('{"state": "HUGGING", "x": 1e999}', Message("HUGGING")),  # ignored key; not a constant
    (text("x" * 200), Message("HUGGING", "x" * 200)),  # at the cap
    (text("<script>alert(1)</script>"), Message("HUGGING", "<script>alert(1)</script>")),
    (text("Grüße 🤗"), Message("HUGGING", "Grüße 🤗")),
    ('{"state": "HUGGING", "text": null, "at": null}', Message("HUGGING")),
    (at("2000-01-01T00:00:00Z"), Message("HUGGING", None, datetime(2000, 1, 1, tzinfo=UTC))),
    ("('SHAKING', 1e999)", Message("SHAKING")),
    (b64('{"state": "THROWING"}'), Message("THROWING")),
]


def test_the_table_is_big_enough():
    assert len(POISONED) + len(APPLIED) >= 40
    assert len({content for content, _ in POISONED + APPLIED}) == len(POISONED + APPLIED)


@pytest.mark.parametrize("content, reason", POISONED, ids=range(len(POISONED)))
def test_parser_rejects_with_reason(content, reason):
    with pytest.raises(Rejected) as caught:
        parse(content, STATES, NOW)
    assert reason in str(caught.value)
    str(caught.value).encode()  # the reason travels in a queue message: it must be encodable


@pytest.mark.parametrize("content, expected", APPLIED, ids=range(len(APPLIED)))
def test_parser_applies_as_documented(content, expected):
    assert parse(content, STATES, NOW) == expected


def claim_all(queue):
    """Every message in ``queue`` (hidden for a while, so each is seen once)."""
    return list(queue.receive_messages(messages_per_page=32, visibility_timeout=30))


def test_every_row_through_a_live_watcher(live_app, storage, caplog):
    caplog.set_level(logging.WARNING, logger="pillow_web")
    pillow = live_app.extensions["pillow"]
    rows = {storage.send(content).id: (content, expected) for content, expected in POISONED}
    applied = {storage.send(content).id: content for content, _ in APPLIED}
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             timeout=30, message="the main queue to drain")

    records = [json.loads(message.content) for message in claim_all(storage.poison)]
    by_id = {record["message_id"]: record for record in records}
    assert set(by_id) == set(rows), "exactly the bad rows are poisoned"
    for message_id, (content, reason) in rows.items():
        record = by_id[message_id]
        assert reason in record["reason"], (content[:60], record["reason"])
        if "content_blob" in record:
            blob = storage.container.get_blob_client(record["content_blob"])
            assert blob.download_blob().readall().decode() == content
            assert record["content"] == content[:200]
        else:
            assert record["content"] == content
    assert "content_blob" in by_id[next(i for i, (c, _) in rows.items() if c == BIG)]
    assert set(applied) <= set(pillow.store.applied_ids)
    assert not PWNED.exists()

    # The watcher never stopped: a good message still gets applied, and the page renders.
    storage.send(compose("PUNCHING", "still here"))
    wait_for(lambda: pillow.store.current.text == "still here", message="the good message")
    assert pillow.watcher.ok and pillow.watcher.healthy()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    page = live_app.test_client().get("/")
    assert page.status_code == 200


def test_hostile_text_is_escaped_on_the_page(live_app, storage):
    pillow = live_app.extensions["pillow"]
    storage.send(text("<script>alert(1)</script>"))
    wait_for(lambda: pillow.store.current.text, message="the text applied")
    page = live_app.test_client().get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
