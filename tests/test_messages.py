"""Every accepted message form, and the reasons given for what is rejected."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.domain.messages import MAX_CHARS, Message, Rejected, compose, encode, parse
from pillow_web.domain.ordering import CLOCK_SKEW, SECOND, Stamp, resolution

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
    ('{"state": "NEUTRAL", "at": "2026-11-22T11:59:00.250Z"}',
     Message("NEUTRAL", None, datetime(2026, 11, 22, 11, 59, 0, 250000, tzinfo=UTC),
             timedelta(milliseconds=1))),
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


MS, US = timedelta(milliseconds=1), timedelta(microseconds=1)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-22T10:00:05Z", SECOND),
    ("2026-11-22T10:00:05.7Z", timedelta(milliseconds=100)),
    ("2026-11-22T10:00:05.700Z", MS),
    ("2026-11-22T10:00:05,700+01:00", MS),
    ("2026-11-22T10:00:05.700123Z", US),
    ("2026-11-22T10:00:05.7001234567Z", US),  # datetime keeps microseconds only
    ("2026-11-22 10:00:05+05:30:15.5", SECOND),  # a fraction in the zone is not the time's
    ("20261122T100005Z", SECOND),
    ("20261122T100005038", MS),  # fromisoformat reads .038 here, and after a colon
    ("2026-11-22T10:00:05:5", timedelta(milliseconds=100)),
    ("2026-11-22T10:00Z", timedelta(minutes=1)),
    ("2026-11-22T1000", timedelta(minutes=1)),
    ("2026-11-22T10", timedelta(hours=1)),
    ("2026-11-22T10.5", timedelta(milliseconds=100)),  # Python reads it as 10:00:00.5
    ("2026-11-22", timedelta(days=1)),
    ("2026-W47-1", timedelta(days=1)),
    ("2026-W47", timedelta(days=7)),
])
def test_the_resolution_is_what_the_iso_text_states(text, expected):
    datetime.fromisoformat(text)  # a text that parse accepts
    assert resolution(text) == expected


def test_a_message_is_stamped_with_at_else_its_insertion_second():
    inserted = datetime(2026, 11, 22, 11, 59, 30, tzinfo=UTC)
    at = datetime(2026, 11, 22, 11, 59, 0, 123456, tzinfo=UTC)
    for content in ("hugging", "('HUGGING', 0.9)", b64("hugging"), '{"state": "HUGGING"}'):
        assert parse(content, STATES, NOW).stamp(inserted) == Stamp(inserted, SECOND)
    posted = compose("HUGGING", at="2026-11-22T11:59:00.123456Z")
    assert parse(posted, STATES, NOW).stamp(inserted) == Stamp(at, US)
    assert parse(encode(posted, True), STATES, NOW).stamp(inserted) == Stamp(at, US)


def stamp(text, resolution):
    return Stamp(datetime.fromisoformat(text), resolution)


@pytest.mark.parametrize("first, second, older", [
    # The case: a post stamped .300123, the pillow's bare name inserted in that second.
    (stamp("2026-11-22T10:00:05.300123Z", US), stamp("2026-11-22T10:00:05Z", SECOND), False),
    (stamp("2026-11-22T10:00:05Z", SECOND), stamp("2026-11-22T10:00:05.300123Z", US), False),
    (stamp("2026-11-22T10:00:05Z", SECOND), stamp("2026-11-22T10:00:05Z", SECOND), False),
    (stamp("2026-11-22T10:00:05.999999Z", US), stamp("2026-11-22T10:00:06Z", SECOND), True),
    (stamp("2026-11-22T10:00:04Z", SECOND), stamp("2026-11-22T10:00:05.000001Z", US), True),
    (stamp("2026-11-22T10:00:04Z", SECOND), stamp("2026-11-22T10:00:05Z", SECOND), True),
    (stamp("2026-11-22T10:00:05.300Z", MS), stamp("2026-11-22T10:00:05.300999Z", US), False),
    (stamp("2026-11-22T10:00:05.299Z", MS), stamp("2026-11-22T10:00:05.300Z", US), True),
    # Two precise stamps in one second still order by their fractions.
    (stamp("2026-11-22T10:00:05.300123Z", US), stamp("2026-11-22T10:00:05.300124Z", US), True),
    (stamp("2026-11-22T10:00:05.300124Z", US), stamp("2026-11-22T10:00:05.300123Z", US), False),
    (stamp("2026-11-22T09:59:05.5Z", US), stamp("2026-11-22T10:00:05Z", SECOND), True),
    (stamp("2026-11-22T10:00Z", timedelta(minutes=1)), stamp("2026-11-22T10:00:59Z", SECOND),
     False),
])
def test_older_only_at_the_precision_both_have(first, second, older):
    assert first.older_than(second) is older
    if older:
        assert not second.older_than(first)


INSERTED = datetime(2026, 11, 22, 11, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize("at, trusted", [
    ("2026-11-22T11:59:30.999999Z", True),  # in its insertion second: an honest clock
    ("2026-11-22T11:59:35Z", True),  # CLOCK_SKEW ahead: a clock a little fast
    ("2026-11-22T11:59:35.000001Z", False),
    ("2026-11-22T12:04:25Z", False),  # the 4 min 55 s
    ("9999-12-31T00:00:00Z", False),
    ("2026-11-22T11:00:00Z", True),  # long before: buffered while offline
])
def test_an_at_counts_only_within_the_skew_of_the_queues_clock(at, trusted):
    message = parse(compose("HUGGING", at=at), STATES)  # the watcher judges no clock of its own
    expected = Stamp(message.at, message.at_resolution) if trusted else Stamp(INSERTED, SECOND)
    assert message.stamp(INSERTED) == expected
    assert CLOCK_SKEW == timedelta(seconds=5)  # as the README says


def test_a_sender_checking_its_message_refuses_an_at_ahead_of_its_clock():
    ahead = compose("HUGGING", at="2026-11-22T12:00:05.000001Z")
    with pytest.raises(Rejected, match="in the future"):
        parse(ahead, STATES, NOW)
    assert parse(compose("HUGGING", at="2026-11-22T12:00:05Z"), STATES, NOW).state == "HUGGING"
