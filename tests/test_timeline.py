"""The day of states as spans (domain.timeline): recording changes, the 24 h window, the cap,
taking over a stored day, and refusing a stored timeline that could not have been shown."""

from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.domain import timeline as timeline_module
from pillow_web.domain.timeline import (
    MOST_CHANGES,
    BadTimeline,
    PillowTimeline,
    Timelines,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def ago(**delta):
    return NOW - timedelta(**delta)


def shown(timeline, now=NOW, hours=24):
    return [(span["state"], span["from"], span["until"]) for span in timeline.spans(now, hours)]


def test_each_change_of_what_screens_show_starts_a_span_until_the_next():
    day = PillowTimeline()
    assert day.record("HUGGING", "Hi", ago(hours=3), NOW)
    assert not day.record("HUGGING", "Hi", ago(hours=2), NOW)  # the same: no new span
    assert day.record("HUGGING", "Hello", ago(hours=2), NOW)  # a new text is a change
    assert day.record("SHAKING", "Whoa", ago(minutes=30), NOW)
    assert shown(day) == [
        ("HUGGING", "2026-11-27T09:00:00.000Z", "2026-11-27T10:00:00.000Z"),
        ("HUGGING", "2026-11-27T10:00:00.000Z", "2026-11-27T11:30:00.000Z"),
        ("SHAKING", "2026-11-27T11:30:00.000Z", "2026-11-27T12:00:00.000Z")]
    assert day.spans(NOW)[1]["text"] == "Hello"


def test_a_time_out_of_order_or_ahead_never_makes_a_span_end_before_it_starts():
    day = PillowTimeline()
    day.record("HUGGING", "a", ago(hours=1), NOW)
    day.record("SHAKING", "b", ago(hours=2), NOW)  # an earlier stamp: the last one's time
    assert shown(day) == [("SHAKING", "2026-11-27T11:00:00.000Z", "2026-11-27T12:00:00.000Z")]
    day.record("HUGGING", "a", NOW + timedelta(hours=5), NOW)  # ahead: now
    assert day.changes[-1].at == NOW
    day.record("SHAKING", "b", NOW, NOW)  # the one shown for no time is replaced
    assert [(c.state, c.at) for c in day.changes] == [("SHAKING", ago(hours=1))]
    for span in day.spans(NOW):
        assert span["from"] <= span["until"]


def test_the_window_keeps_24_hours_and_cuts_the_first_span_at_its_start():
    day = PillowTimeline()
    day.record("HUGGING", "a", ago(hours=30), NOW)
    day.record("SHAKING", "b", ago(hours=26), NOW)
    day.record("SPINNING", "c", ago(hours=20), NOW)
    assert [change.state for change in day.changes] == ["SHAKING", "SPINNING"]
    assert shown(day) == [
        ("SHAKING", "2026-11-26T12:00:00.000Z", "2026-11-26T16:00:00.000Z"),
        ("SPINNING", "2026-11-26T16:00:00.000Z", "2026-11-27T12:00:00.000Z")]
    assert shown(day, hours=1) == [
        ("SPINNING", "2026-11-27T11:00:00.000Z", "2026-11-27T12:00:00.000Z")]


def test_over_the_cap_the_oldest_spans_merge_and_the_day_keeps_its_length():
    day = PillowTimeline()
    start = ago(hours=23)
    for number in range(MOST_CHANGES + 50):
        # The first span of each pair lasts longer: it is the one a merge keeps.
        offset = timedelta(seconds=number * 20 + (5 if number % 2 else 0))
        day.record("HUGGING" if number % 2 == 0 else "SHAKING", f"#{number}", start + offset, NOW)
    assert len(day.changes) == MOST_CHANGES
    assert day.changes[0].at == start  # still starts where the day did
    assert day.changes[-1].text == f"#{MOST_CHANGES + 49}"
    assert all(a.at <= b.at for a, b in zip(day.changes, day.changes[1:], strict=False))
    assert all((a.state, a.text) != (b.state, b.text)
               for a, b in zip(day.changes, day.changes[1:], strict=False))


def test_the_cap_merges_into_the_state_shown_longer(monkeypatch):
    monkeypatch.setattr(timeline_module, "MOST_CHANGES", 3)
    day = PillowTimeline()
    day.record("HUGGING", "a", ago(hours=5), NOW)
    day.record("SHAKING", "b", ago(hours=4, minutes=55), NOW)  # 5 min of HUGGING
    day.record("SPINNING", "c", ago(hours=1), NOW)  # ~4 h of SHAKING
    day.record("HUGGING", "a", ago(minutes=10), NOW)
    assert [(c.state, c.at) for c in day.changes] == [
        ("SHAKING", ago(hours=5)), ("SPINNING", ago(hours=1)), ("HUGGING", ago(minutes=10))]


def test_a_stored_day_is_taken_as_the_truth_and_later_changes_are_kept():
    stored = Timelines(["hall"])
    stored.record("hall", "HUGGING", "a", ago(hours=5), NOW)
    stored.record("hall", "SHAKING", "b", ago(hours=1), NOW)
    mine = Timelines(["hall", "den"])
    mine.record("hall", "SHAKING", "b", ago(hours=1), NOW)  # seen in the snapshot, stored too
    mine.record("hall", "SPINNING", "c", ago(minutes=5), NOW)  # after the stored day's last
    mine.adopt(Timelines.from_dict(stored.to_dict(), NOW), NOW)
    assert [c.state for c in mine.pillows["hall"].changes] == ["HUGGING", "SHAKING", "SPINNING"]
    assert mine.dirty  # SPINNING is not stored yet

    again = Timelines(["hall"])
    again.record("hall", "SHAKING", "b", ago(hours=1), NOW)
    again.adopt(Timelines.from_dict(stored.to_dict(), NOW), NOW)
    assert not again.dirty and [c.state for c in again.pillows["hall"].changes] == [
        "HUGGING", "SHAKING"]


def test_to_dict_and_from_dict_round_trip_to_the_microsecond():
    day = Timelines(["hall", "den"])
    day.record("hall", "HUGGING", "Someone is hugging me!", ago(seconds=90.123456), NOW)
    day.record("den", "SHAKING", "", ago(hours=2), NOW)
    read = Timelines.from_dict(day.to_dict(), NOW)
    assert read["hall"].changes == day.pillows["hall"].changes
    assert read["den"].changes == day.pillows["den"].changes


def stored(*changes, pillow="hall"):
    return {"version": 1, "pillows": {pillow: list(changes)}}


def change(state="HUGGING", text="hi", at="2026-11-27T11:00:00Z"):
    return {"state": state, "text": text, "at": at}


@pytest.mark.parametrize("data", [
    None, [], "text", {"version": 2, "pillows": {}}, {"version": 1},
    {"version": 1, "pillows": []},
    stored(pillow="Not An Id"),
    {"version": 1, "pillows": {"hall": "HUGGING"}},
    stored("HUGGING"),
    stored({"state": "HUGGING", "at": "2026-11-27T11:00:00Z"}),  # no text
    stored(change(state="hugging <b>")),
    stored(change(state=7)),
    stored(change(text="a\x07bell")),
    stored(change(text="x" * 201)),
    stored(change(text=["list"])),
    stored(change(at="yesterday")),
    stored(change(at=1764241200)),
    stored(change(at="1999-12-31T23:59:59Z")),
    stored(change(at="2026-11-27T12:00:06Z")),  # more than 5 s ahead of NOW
    stored(change(at="2026-11-27T11:00:00Z"), change("SHAKING", at="2026-11-27T10:00:00Z")),
    stored(*[change(at=f"2026-11-27T10:{n // 60:02d}:{n % 60:02d}Z", text=str(n))
             for n in range(MOST_CHANGES + 1)]),
])
def test_a_stored_timeline_that_could_not_have_been_shown_is_refused(data):
    with pytest.raises(BadTimeline):
        Timelines.from_dict(data, NOW)


def test_a_stored_timeline_within_the_rules_is_read():
    read = Timelines.from_dict(stored(change(at="2026-11-27T12:00:04Z"),
                                      change("SHAKING", None, "2026-11-27T12:00:04.5+00:00")), NOW)
    assert [(c.state, c.text) for c in read["hall"].changes] == [("HUGGING", "hi"),
                                                                 ("SHAKING", "")]
