"""Every accepted message form, and the reasons given for what is rejected."""

import base64
import json
import re
from datetime import UTC, datetime

import pytest

from pillow_web.messages import MAX_CHARS, Message, Rejected, compose, encode, parse

STATES = ["NEUTRAL", "HUGGING", "NOTCONNECTED", "PUNCHING", "SHAKING", "SPINNING", "THROWING"]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("content, expected", [
    ('{"state": "HUGGING"}', Message("HUGGING")),
    ('{"state": "hugging", "text": "Squeeze!"}', Message("HUGGING", "Squeeze!")),
    ('{"state": "Spinning", "at": "2026-11-22T11:59:00Z"}',
     Message("SPINNING", None, datetime(2026, 11, 22, 11, 59, tzinfo=UTC))),
    ('{"state": "NEUTRAL", "at": "2026-11-22T12:59:00+01:00"}',
     Message("NEUTRAL", None, datetime(2026, 11, 22, 11, 59, tzinfo=UTC))),
    ('{"state": "NEUTRAL", "source": "firmware 2"}', Message("NEUTRAL")),
    ('"shaking"', Message("SHAKING")),
    ("hugging", Message("HUGGING")),
    ("  PUNCHING\n", Message("PUNCHING")),
    ("('HUGGING', 0.93)", Message("HUGGING")),
    ("('throwing',)", Message("THROWING")),
    ("('SPINNING')", Message("SPINNING")),
    (b64('{"state": "HUGGING"}'), Message("HUGGING")),
    (b64("neutral"), Message("NEUTRAL")),
    (b64("('SHAKING', 0.5)"), Message("SHAKING")),
    ('{"state": "HUGGING", "text": "   "}', Message("HUGGING")),
])
def test_accepted_forms(content, expected):
    assert parse(content, STATES, NOW) == expected


@pytest.mark.parametrize("content, reason", [
    ("", "empty"),
    ("dancing", "unknown state 'DANCING'"),
    ('{"state": "HUGGING"', "invalid JSON"),
    ("[1, 2]", "must be an object, not an array"),
    ("42", "not a number"),
    ("null", "not null"),
    ('{"text": "hi"}', "no state"),
    ('{"state": 3}', "state must be a string"),
    ('{"state": "../etc/passwd"}', "is not a state name"),
    ('{"state": "HUGGING", "state": "NEUTRAL"}', "duplicate keys"),
    ('{"state": "HUGGING", "text": "' + "x" * 201 + '"}', "limit is 200"),
    ('{"state": "HUGGING", "text": "a\\u0000b"}', "control characters"),
    ('{"state": "HUGGING", "at": "yesterday"}', "not an ISO-8601 time"),
    ('{"state": "HUGGING", "at": "1999-12-31T23:59:59Z"}', "before 2000"),
    ('{"state": "HUGGING", "at": "2030-01-01T00:00:00Z"}', "in the future"),
    ("(__import__('os').system('id'),)", "not a plain Python literal"),
    ("('HUGGING').__class__", "not a plain Python literal"),
    ("[]", "not an array"),
    ("x" * (MAX_CHARS + 1), f"limit is {MAX_CHARS}"),
    (base64.b64encode(bytes(range(256))).decode(), "as base64 it does not decode to UTF-8 text"),
])
def test_rejected_with_reason(content, reason):
    with pytest.raises(Rejected, match=None) as caught:
        parse(content, STATES, NOW)
    assert reason in str(caught.value)


def test_text_at_the_cap_is_accepted():
    content = '{"state": "HUGGING", "text": "' + "x" * 200 + '"}'
    assert parse(content, STATES, NOW).text == "x" * 200


def test_compose_round_trips_through_parse_and_base64():
    content = compose("HUGGING", "hi", "2026-11-22T11:00:00Z")
    expected = Message("HUGGING", "hi", datetime(2026, 11, 22, 11, tzinfo=UTC))
    assert parse(content, STATES, NOW) == expected
    assert parse(encode(content, as_base64=True), STATES, NOW) == expected


def test_compose_stamps_the_time_with_microseconds():
    content = compose("NEUTRAL")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", json.loads(content)["at"])
    at = parse(content, STATES).at
    assert at is not None and abs((datetime.now(UTC) - at).total_seconds()) < 5
