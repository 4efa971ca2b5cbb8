"""The queue stats as a value: counting, sampling, the day's window and caps, the round trip through
the stored form, and every way a stored form is refused (``BadStats``)."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.domain.queue_stats import (
    MOST_MINUTES,
    MOST_PER_MINUTE,
    BadStats,
    QueueStats,
    totals,
)

NOW = datetime(2026, 11, 27, 10, 30, 25, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def outcomes(*names):
    return [("default", name, NOW) for name in names]


def row_at(series, moment):
    key = moment.replace(second=0, microsecond=0).isoformat().replace("+00:00", "Z")
    [row] = [row for row in series if row["minute"] == key]
    return row


def test_outcomes_count_in_the_minute_they_were_handled():
    stats = QueueStats()
    stats.count(outcomes("applied", "applied", "skipped", "redelivered"), NOW)
    stats.count(outcomes("applied"), NOW + timedelta(seconds=20))
    stats.poisoned(2, NOW)
    stats.count(outcomes("skipped"), NOW + MINUTE)
    series = stats.series(NOW + MINUTE, hours=1)
    assert row_at(series, NOW) == {"minute": "2026-11-27T10:30:00Z", "applied": 3, "skipped": 1,
                                   "poisoned": 2, "depth": None, "oldest_age": None}
    assert row_at(series, NOW + MINUTE)["skipped"] == 1
    assert stats.poisoned_in(15, NOW + MINUTE) == 2
    assert stats.poisoned_in(1, NOW + MINUTE) == 0  # this minute only
    assert stats.counts_changed and stats.dirty


def test_redelivered_alone_and_nothing_poisoned_change_nothing():
    stats = QueueStats()
    stats.count(outcomes("redelivered"), NOW)
    stats.count([], NOW)
    stats.poisoned(0, NOW)
    assert not stats.dirty and stats.minutes == {}


def test_a_minute_keeps_its_last_depth_and_its_largest_oldest_age():
    stats = QueueStats()
    stats.sample(7, 40.0, NOW)
    stats.sample(3, 55.5, NOW + timedelta(seconds=15))
    stats.sample(0, None, NOW + timedelta(seconds=30))
    row = row_at(stats.series(NOW, 1), NOW)
    assert (row["depth"], row["oldest_age"]) == (0, 55.5)
    assert stats.dirty and not stats.counts_changed  # samples only: written less often


def test_the_series_is_dense_oldest_first_and_ends_this_minute():
    stats = QueueStats()
    stats.count(outcomes("applied"), NOW - 30 * MINUTE)
    series = stats.series(NOW, hours=1)
    assert len(series) == 60
    assert series[-1]["minute"] == "2026-11-27T10:30:00Z"
    assert series[0]["minute"] == "2026-11-27T09:31:00Z"
    assert [row["applied"] for row in series].count(1) == 1
    assert all(row["depth"] is None and row["oldest_age"] is None for row in series)
    assert len(stats.series(NOW)) == MOST_MINUTES
    for hours in (0, 25):
        with pytest.raises(ValueError, match="hours must be"):
            stats.series(NOW, hours)


def test_minutes_older_than_the_day_are_forgotten():
    stats = QueueStats()
    stats.count(outcomes("applied"), NOW - 24 * 60 * MINUTE)  # one minute too old by then
    stats.count(outcomes("applied"), NOW - (24 * 60 - 1) * MINUTE)  # the day's first minute
    stats.sample(1, 2.0, NOW)
    assert len(stats.minutes) == 2 and len(stats.unsaved) == 2
    assert sum(row["applied"] for row in stats.series(NOW)) == 1
    for minute in range(3 * MOST_MINUTES):
        stats.sample(minute, None, NOW + minute * MINUTE)
    assert len(stats.minutes) == MOST_MINUTES  # the cap is the day


def test_the_stored_form_round_trips():
    stats = QueueStats()
    stats.count(outcomes("applied", "skipped"), NOW - 5 * MINUTE)
    stats.poisoned(1, NOW - 2 * MINUTE)
    stats.sample(12, 3.25, NOW)
    stored = json.loads(json.dumps(stats.to_dict()))
    assert stored["version"] == 1 and len(stored["minutes"]) == 3
    back = QueueStats.from_dict(stored, NOW)
    assert back.series(NOW) == stats.series(NOW)
    assert not back.dirty  # what was read is what is stored


def test_adopt_keeps_the_stored_day_and_adds_what_was_not_saved():
    theirs = QueueStats()
    theirs.count(outcomes("applied", "applied"), NOW - 10 * MINUTE)
    theirs.sample(5, 60.0, NOW)
    stored = QueueStats.from_dict(theirs.to_dict(), NOW)

    mine = QueueStats()
    mine.count(outcomes("skipped"), NOW)  # recorded here before the read (e.g. it failed)
    mine.sample(2, 10.0, NOW)
    mine.adopt(stored, NOW)
    row = row_at(mine.series(NOW), NOW)
    assert (row["skipped"], row["depth"], row["oldest_age"]) == (1, 2, 60.0)
    assert row_at(mine.series(NOW), NOW - 10 * MINUTE)["applied"] == 2
    assert mine.dirty and mine.counts_changed

    # Saved: adopting the same stored day again counts nothing twice.
    saved = mine.to_dict()
    mine.take_unsaved()
    assert not mine.dirty
    mine.adopt(QueueStats.from_dict(saved, NOW), NOW)
    assert mine.series(NOW) == QueueStats.from_dict(saved, NOW).series(NOW)


def test_a_failed_save_gives_back_what_it_took_and_what_came_meanwhile():
    stats = QueueStats()
    stats.count(outcomes("applied"), NOW)
    taken = stats.take_unsaved()
    stats.count(outcomes("applied"), NOW)  # during the write
    stats.restore_unsaved(taken)
    assert stats.unsaved[NOW.replace(second=0)].applied == 2
    assert row_at(stats.series(NOW), NOW)["applied"] == 2


def test_totals_sum_counts_and_take_the_largest_samples():
    stats = QueueStats()
    stats.count(outcomes("applied", "skipped"), NOW - MINUTE)
    stats.count(outcomes("applied"), NOW)
    stats.sample(4, 9.5, NOW - MINUTE)
    stats.sample(1, 2.0, NOW)
    assert totals(stats.series(NOW, 1)) == {"applied": 2, "skipped": 1, "poisoned": 0,
                                            "depth": 4, "oldest_age": 9.5}
    assert totals(QueueStats().series(NOW, 1))["depth"] is None


def row(minute="2026-11-27T10:00:00Z", applied=1, skipped=0, poisoned=0, depth=None, age=None):
    return [minute, applied, skipped, poisoned, depth, age]


def stored(*rows, version=1):
    return {"version": version, "minutes": list(rows)}


@pytest.mark.parametrize("data", [
    None,
    [],
    "stats",
    {"minutes": []},  # no version
    stored(version=2),
    {"version": 1},  # no minutes
    {"version": 1, "minutes": {"2026-11-27T10:00:00Z": [1, 0, 0, None, None]}},
    stored(*[row(f"2026-11-27T{h:02}:{m:02}:00Z") for h in range(24) for m in range(60)],
           row("2026-11-28T00:00:00Z")),  # 1,441 rows
    stored(row()[:5]),  # a row too short
    stored(row() + [0]),  # too long
    stored({"minute": "2026-11-27T10:00:00Z"}),  # not a list
    stored(row(minute=1764237600)),  # not a string
    stored(row(minute="2026-11-27T10:00:00Z" + " " * 40)),  # too long to be a time
    stored(row(minute="yesterday")),
    stored(row(minute="1999-12-31T23:59:00Z")),  # before 2000
    stored(row(minute="2026-11-27T10:35:00Z")),  # ahead of the clock
    stored(row(minute="2026-11-27T10:00:30Z")),  # not the start of a minute
    stored(row(minute="2026-11-27T10:01:00Z"), row(minute="2026-11-27T10:00:00Z")),  # order
    stored(row(), row()),  # the same minute twice
    stored(row(applied=-1)),
    stored(row(skipped=1.0)),  # not whole
    stored(row(poisoned=True)),  # a boolean is not a count
    stored(row(applied=MOST_PER_MINUTE + 1)),
    stored(row(applied="3")),
    stored(row(depth=-1)),
    stored(row(depth=2.5)),
    stored(row(depth=2**63)),
    stored(row(age=-0.5)),
    stored(row(age="60")),
    stored(row(age=False)),
    stored(row(age=math.inf)),
    stored(row(age=math.nan)),
    stored(row(age=1e12)),
])
def test_stored_stats_a_watcher_could_not_have_written_are_refused(data):
    with pytest.raises(BadStats):
        QueueStats.from_dict(data, NOW)


def test_stored_stats_within_the_rules_are_read():
    day = QueueStats.from_dict(stored(
        row(minute="2026-11-26T10:00:00Z"),  # out of the day by now: dropped, not refused
        row(minute="2026-11-27T09:00:00+00:00", applied=0, depth=0, age=None),
        row(minute="2026-11-27T10:30:00Z", skipped=2, depth=3, age=42),
    ), NOW)
    assert len(day.minutes) == 2
    assert row_at(day.series(NOW), NOW) == {"minute": "2026-11-27T10:30:00Z", "applied": 1,
                                            "skipped": 2, "poisoned": 0, "depth": 3,
                                            "oldest_age": 42.0}
