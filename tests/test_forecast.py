"""The forecast of waiting messages: the watcher's rule for each one, judged in the queue's order
against a copy of the state, for every message form and every reason a message is poisoned."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.domain.catalog import Catalog
from pillow_web.domain.forecast import Forecast, Waiting, admit, forecast
from pillow_web.domain.messages import Rejected, compose, parse
from pillow_web.domain.ordering import SECOND, Stamp
from pillow_web.domain.pillows import Pillow, QueueState

CATALOG = Catalog.from_file("config/states.toml")
MAX_DEQUEUE = 5
T = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def single():
    return QueueState([Pillow("default", "Pillow", "q", CATALOG)])


def shared():
    return QueueState([Pillow("attic", "Attic", "q", CATALOG),
                       Pillow("porch", "Porch", "q", CATALOG)])


def waiting(*contents, at=None, dequeue_count=0):
    """Messages inserted a second apart from ``at`` (default T + 100 s: later than the `at`s
    the tests give, so those are believed) on, ids m0, m1, …"""
    at = at or T + 100 * SECOND
    return [Waiting(f"m{i}", content, at + i * SECOND, dequeue_count)
            for i, content in enumerate(contents)]


def at(seconds):
    return (T + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def current(state, seconds, text=None):
    """A single pillow's queue state showing ``state`` stamped at T + ``seconds``."""
    queue_state = single()
    message = parse(compose(state, text, at(seconds)), queue_state.states_for)
    queue_state.apply(message, "earlier", message.stamp(T + timedelta(seconds=seconds)))
    queue_state.dirty = False  # as once saved
    return queue_state


TABLE = [  # the README's Messages table, each form
    ('{"state": "HUGGING", "text": "optional override", "at": "2026-11-27T10:00:00.123Z"}',
     "HUGGING", "optional override"),
    ("hugging", "HUGGING", None),
    ("('HUGGING', 0.93)", "HUGGING", None),
    ('{"state": "spinning"}', "SPINNING", None),
    ('"shaking"', "SHAKING", None),
]


@pytest.mark.parametrize("encoded", [False, True], ids=["raw", "base64"])
@pytest.mark.parametrize("content, state, text", TABLE)
def test_every_form_of_the_table_shows_its_state(content, state, text, encoded):
    [told] = forecast(waiting(b64(content) if encoded else content), single(), MAX_DEQUEUE)
    assert told == Forecast("shows", "default", state, text)
    assert told.summary() == (f'shows {state} "{text}"' if text else f"shows {state}")


def test_older_than_the_current_state_is_consumed_not_shown():
    queue_state = current("HUGGING", 30)
    [told] = forecast(waiting(compose("PUNCHING", at=at(0))), queue_state, MAX_DEQUEUE)
    assert told == Forecast("older", "default", "PUNCHING")
    assert told.summary() == "older than the current state: consumed, not shown"


def test_a_bare_name_inserted_before_the_current_state_is_older():
    queue_state = current("HUGGING", 30)
    told = forecast(waiting("punching", "spinning", at=T + 29 * SECOND), queue_state, MAX_DEQUEUE)
    # inserted at :29 (its whole second ends before :30): older; at :30, the same second: shows
    assert [each.outcome for each in told] == ["older", "shows"]


def test_an_id_already_applied_is_redelivered():
    queue_state = current("HUGGING", 0)
    again = Waiting("earlier", compose("SHAKING", at=at(60)), T + 60 * SECOND, 1)
    [told] = forecast([again], queue_state, MAX_DEQUEUE)
    assert told == Forecast("redelivered", "default", "SHAKING")
    assert told.summary() == "already applied: deleted, not shown again"


def test_an_earlier_message_of_the_batch_makes_a_later_one_older():
    batch = waiting(compose("HUGGING", "first", at(20)), compose("PUNCHING", at=at(10)),
                    compose("SHAKING", at=at(20.5)))
    told = forecast(batch, single(), MAX_DEQUEUE)
    assert [each.outcome for each in told] == ["shows", "older", "shows"]


def test_the_same_id_twice_in_a_batch_is_applied_once():
    batch = [Waiting("same", "hugging", T, 0), Waiting("same", "hugging", T, 0)]
    assert [each.outcome for each in forecast(batch, single(), MAX_DEQUEUE)] == [
        "shows", "redelivered"]
    inserted = T + 100 * SECOND
    older = [Waiting("a", compose("HUGGING", at=at(10)), inserted, 0),
             Waiting("b", compose("NEUTRAL", at=at(0)), inserted, 0),
             Waiting("b", compose("NEUTRAL", at=at(0)), inserted, 0)]
    assert [each.outcome for each in forecast(older, single(), MAX_DEQUEUE)] == [
        "shows", "older", "redelivered"]


def test_an_at_far_ahead_of_its_insertion_is_ordered_by_the_insertion_second():
    queue_state = current("HUGGING", 30)
    # `at` an hour ahead is not believed: the insertion second (:20) orders it, so it is older
    ahead = Waiting("x", compose("PUNCHING", at=at(3600)), T + 20 * SECOND, 0)
    believed = Waiting("y", compose("PUNCHING", at=at(3600)), T + 3599 * SECOND, 0)
    assert forecast([ahead], queue_state, MAX_DEQUEUE)[0].outcome == "older"
    assert forecast([believed], queue_state, MAX_DEQUEUE)[0].outcome == "shows"


def test_the_state_given_is_never_changed():
    queue_state = current("HUGGING", 30)
    before = queue_state.snapshot()
    told = forecast(waiting(compose("SHAKING", at=at(40)), "punching", "dancing",
                            compose("NEUTRAL", at=at(0))), queue_state, MAX_DEQUEUE)
    assert [each.outcome for each in told] == ["shows", "shows", "poison", "older"]
    assert queue_state.snapshot() == before and not queue_state.dirty


def test_without_an_insertion_time_it_is_judged_as_inserted_now():
    queue_state = current("HUGGING", 30)
    [told] = forecast([Waiting("x", "punching", None, 0)], queue_state, MAX_DEQUEUE,
                      now=T + 60 * SECOND)
    assert told.outcome == "shows"


NOT_UTF8 = base64.b64encode(b"\xff\xfe\xfd\xfc").decode()
POISON = [  # content, a part of the reason
    ('{"state": "HUGGING"', "invalid JSON: "),
    ("dancing", "unknown state 'DANCING'; known: NEUTRAL"),
    ("x" * 4097, "message is 4097 characters; the limit is 4096"),
    ('{"state": "HUGGING", "state": "NEUTRAL"}', "JSON object has duplicate keys"),
    ('{"state": "HUGGING", "x": NaN}', "JSON constant NaN is not allowed"),
    ('{"state": "HUGGING", "text": "\\ud800"}', "text contains a lone surrogate"),
    ('{"state": "HUGGING", "text": "a\\u0007b"}', "text contains control characters"),
    ('{"state": "HUGGING", "text": "' + "t" * 201 + '"}', "text is 201 characters"),
    ('{"state": "HUGGING", "at": "1999-12-31T23:59:59Z"}', "is before 2000"),
    ('{"state": "HUGGING", "at": "yesterday"}', "is not an ISO-8601 time"),
    ('{"state": "HUGGING", "pillow": "attic"}',
     "unknown pillow 'attic'; this queue serves default"),
    ('{"state": "HUGGING", "pillow": "Bad Id"}', "is not a pillow id"),
    ('{"text": "no state"}', "message has no state"),
    ('{"state": 7}', "state must be a string, not a number"),
    ("[1, 2]", "a JSON message must be an object, not an array"),
    ("   ", "message is empty"),
    ("('HUGGING', os.system('x'))", "legacy tuple is not a plain Python literal"),
    ("()", "not an empty tuple"),
    (NOT_UTF8, "as base64 it does not decode to UTF-8 text"),
    (b64("dancing"), "base64 message: unknown state 'DANCING'"),
    (b64('{"state": "HUGGING", "text": "a\\u0000"}'), "base64 message: text contains control"),
]


@pytest.mark.parametrize("content, reason", POISON)
def test_each_poison_reason_is_the_one_the_watcher_gives(content, reason):
    queue_state = single()
    [told] = forecast(waiting(content), queue_state, MAX_DEQUEUE)
    with pytest.raises(Rejected) as rejected:
        parse(content, queue_state.states_for)  # what the watcher poisons with, exactly
    assert told == Forecast("poison", reason=str(rejected.value))
    assert reason in told.reason
    assert told.summary() == f"goes to poison: {told.reason}"


def test_a_message_that_is_not_text_goes_to_poison():
    [told] = forecast([Waiting("x", None, T, 0)], single(), MAX_DEQUEUE)
    assert told.reason == "message is not text"


def test_delivered_too_many_times_goes_to_poison_on_the_next_delivery():
    # peek shows the deliveries so far; the watcher's receive is one more
    told = forecast(waiting("hugging", dequeue_count=MAX_DEQUEUE), single(), MAX_DEQUEUE)
    assert told == [Forecast("poison", reason="delivered 6 times without being applied")]
    once_more = forecast(waiting("hugging", dequeue_count=MAX_DEQUEUE - 1), single(), MAX_DEQUEUE)
    assert once_more[0].outcome == "shows"


def test_admit_is_the_watchers_rule():
    queue_state = single()
    assert admit("hugging", MAX_DEQUEUE, queue_state.states_for, MAX_DEQUEUE).state == "HUGGING"
    with pytest.raises(Rejected, match="^delivered 6 times without being applied$"):
        admit("hugging", MAX_DEQUEUE + 1, queue_state.states_for, MAX_DEQUEUE)
    with pytest.raises(Rejected, match="unknown state 'DANCING'"):
        admit("dancing", 1, queue_state.states_for, MAX_DEQUEUE)


def test_a_shared_queue_needs_the_pillow_named_and_orders_each_pillow_apart():
    batch = waiting("hugging", json.dumps({"state": "HUGGING", "pillow": "hall"}),
                    json.dumps({"state": "HUGGING", "pillow": "attic", "at": at(30)}),
                    json.dumps({"state": "SHAKING", "pillow": "porch", "at": at(10)}),
                    json.dumps({"state": "PUNCHING", "pillow": "attic", "at": at(10)}))
    told = forecast(batch, shared(), MAX_DEQUEUE)
    assert told[0].outcome == "poison" and "message names no pillow" in told[0].reason
    assert told[0].reason.endswith('(attic, porch): add "pillow": "<id>"')
    assert told[1].reason == "unknown pillow 'hall'; this queue serves attic, porch"
    assert told[2:] == [Forecast("shows", "attic", "HUGGING"),
                        Forecast("shows", "porch", "SHAKING"),  # porch's own state: not older
                        Forecast("older", "attic", "PUNCHING")]


def test_older_is_the_state_stores_own_rule():
    store = current("HUGGING", 30).stores["default"]
    assert store.outcome("new", Stamp(T + 29 * SECOND)) == "older"  # its second ends at :30
    assert store.outcome("new", Stamp(T + 29.5 * SECOND)) == "applies"  # overlaps: later wins
    assert store.outcome("earlier", Stamp(T + 60 * SECOND)) == "redelivered"
