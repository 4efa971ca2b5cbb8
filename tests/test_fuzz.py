"""Property-based fuzzing of the parser: whatever arrives, ``parse`` returns a Message or raises
Rejected with a reason that can be stored; any other exception would stall the watcher's batch."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pillow_web.domain.catalog import TEXT_MAX
from pillow_web.domain.messages import MAX_CHARS, Message, Rejected, parse

STATES = ["NEUTRAL", "HUGGING", "NOTCONNECTED", "PUNCHING", "SHAKING", "SPINNING", "THROWING"]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Biased to the characters the parser must refuse: controls, and lone surrogates (a JSON "\ud800"
# escape makes one; it cannot be encoded).
anychar = (st.characters(exclude_categories=()) | st.characters(max_codepoint=0x9F)
           | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
anytext = st.text(anychar, max_size=50)
# Values the parser looks at, mixed with the expected so that some messages get deep enough.
names = st.sampled_from(STATES) | st.sampled_from([s.lower() for s in STATES]) | anytext
day = timedelta(hours=23, minutes=59)
offsets = st.none() | st.timedeltas(-day, day).map(timezone)  # fixed offsets: zoneinfo is slow
edges = (st.datetimes(max_value=datetime(1, 1, 2)) | st.datetimes(min_value=datetime(9999, 12, 30))
         | st.datetimes(datetime(1999, 12, 31), datetime(2000, 1, 2)))
aware = st.datetimes(timezones=offsets) | st.builds(
    lambda moment, tz: moment.replace(tzinfo=tz), edges, offsets)
# fromisoformat takes any one character between the date and the time
times = st.builds(datetime.isoformat, aware, anychar) | st.text(max_size=45)
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | anytext | names)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(["state", "text", "at", "x"]) | st.text(max_size=8),
                      children, max_size=5),
    max_leaves=20,
)
objects = st.fixed_dictionaries(
    {}, optional={"state": names | json_values,
                  "text": st.text(anychar, max_size=TEXT_MAX + 5) | json_values,
                  "at": times | json_values, "extra": json_values})
legacy = st.tuples(names | scalars, st.floats() | scalars).map(repr) | st.builds(
    lambda head, tail: f"({head!r}{tail}", names, st.text(max_size=30))

def check(content):
    """The property: a Message of a known state with sane fields, or a storable reason."""
    try:
        message = parse(content, STATES, NOW)
    except Rejected as exc:
        reason = str(exc)
        assert reason and len(reason) < 1000
        reason.encode("utf-8")  # the reason travels in a queue message
        return None
    assert isinstance(message, Message)
    assert message.state in STATES
    assert message.text is None or (isinstance(message.text, str)
                                    and len(message.text) <= TEXT_MAX)
    if message.text:
        message.text.encode("utf-8")  # shown on the page, which is sent as UTF-8
    assert message.at is None or message.at.tzinfo is not None
    return message


@FUZZ
@given(st.text(anychar, max_size=MAX_CHARS + 10))
def test_any_text(content):
    check(content)


@FUZZ
@given(st.binary(max_size=300))
def test_base64_of_any_bytes(data):
    check(base64.b64encode(data).decode())


@FUZZ
@given(json_values | objects)
def test_json_structures(value):
    check(json.dumps(value))  # surrogates as \ud800 escapes
    content = json.dumps(value, ensure_ascii=False)
    check(content)
    check(base64.b64encode(content.encode("utf-8", "surrogatepass")).decode())


@FUZZ
@given(objects)
def test_well_formed_objects_with_a_known_state_only_fail_for_a_reason(value):
    """Anything parsed keeps what was sent: the state and the stripped text."""
    message = check(json.dumps(value))
    if message is not None:
        assert message.state == value["state"].strip().upper()
        assert message.text == ((value.get("text") or "").strip() or None)


@FUZZ
@given(st.fixed_dictionaries({"state": st.sampled_from(STATES)},
                             optional={"text": st.text(anychar, max_size=TEXT_MAX + 5),
                                       "at": times}))
def test_messages_with_a_known_state(value):
    """Past the state check, so the text and time checks get the examples."""
    check(json.dumps(value))
    check(json.dumps(value, ensure_ascii=False))


@FUZZ
@given(legacy)
def test_legacy_tuple_looking_strings(content):
    check(content)


@FUZZ
@given(st.lists(st.sampled_from(list('{}[]()",:\\ \'.0e-+nulltrueNaN') + STATES), max_size=60)
       .map("".join))
def test_json_and_python_punctuation_soup(content):
    check(content)


def test_the_fuzzer_reaches_accepted_messages():
    """Guard against a fuzzer that only ever produces rejections."""
    assert check('{"state": "hugging", "extra": [1, {"x": null}]}') == Message("HUGGING")
