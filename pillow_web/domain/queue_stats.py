"""The queue over the day: per minute, the messages applied, skipped and poisoned, and samples of
how many wait (the depth) and how old the oldest waiting one is.

The active watcher counts what it does with each batch and samples the queue at most every 15 s
(``watch.sampler``); the console draws the minutes and ``pillow-web queue stats`` prints them. The
stats are kept in a blob beside the snapshot, which anyone with storage access could write:
``QueueStats.from_dict`` refuses anything a watcher could not have written (``BadStats``).
"""

import math
from dataclasses import dataclass
from datetime import UTC, timedelta

from .ordering import stored_time
from .state import isotime

MINUTE = timedelta(minutes=1)
MOST_MINUTES = 24 * 60  # the day: a minute older than that is forgotten
MOST_PER_MINUTE = 10_000_000  # more than any queue delivers in a minute (Azure: ~2,000 a second)
MOST_DEPTH = 2**63 - 1  # the approximate count is a 64-bit number
MOST_AGE = 100 * 365 * 86400.0  # seconds: a message may live forever (time-to-live -1), not longer
COUNTED = ("applied", "skipped")  # the consumer's outcomes counted ("redelivered" is neither)
VERSION = 1


class BadStats(ValueError):
    """Stored stats that cannot be shown; they are logged and left unused."""


@dataclass
class Minute:
    """What one minute saw: counts, the last depth sampled and the largest oldest age (s)."""

    applied: int = 0
    skipped: int = 0
    poisoned: int = 0
    depth: int | None = None
    oldest_age: float | None = None

    def add(self, other):
        """Take in ``other``, a later part of the same minute."""
        self.applied += other.applied
        self.skipped += other.skipped
        self.poisoned += other.poisoned
        if other.depth is not None:
            self.depth = other.depth
        if other.oldest_age is not None:
            self.oldest_age = max(self.oldest_age or 0.0, other.oldest_age)

    @property
    def counted(self):
        return bool(self.applied or self.skipped or self.poisoned)

    def row(self, minute):
        return {"minute": isotime(minute, "seconds"), "applied": self.applied,
                "skipped": self.skipped, "poisoned": self.poisoned, "depth": self.depth,
                "oldest_age": self.oldest_age}


def minute_of(moment):
    """The start of the minute (UTC) that ``moment`` falls in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class QueueStats:
    """One queue's minutes of the last 24 hours, and what of them is not saved yet.

    ``dirty`` says a save would store something new; ``counts_changed`` that a count is among
    it (samples alone are worth a write less often).
    """

    def __init__(self, minutes=None):
        self.minutes = dict(minutes or {})  # minute start -> Minute
        self.unsaved = {}  # minute start -> Minute: recorded here since the last save or adopt

    @property
    def dirty(self):
        return bool(self.unsaved)

    @property
    def counts_changed(self):
        return any(minute.counted for minute in self.unsaved.values())

    def _record(self, now, **what):
        start = minute_of(now)
        for minutes in (self.minutes, self.unsaved):
            minutes.setdefault(start, Minute()).add(Minute(**what))
        self.trim(now)

    def count(self, outcomes, now):
        """Count the consumer's ``(pillow, outcome, at)`` of one batch in the minute of ``now``."""
        found = [outcome for _, outcome, _ in outcomes]
        applied, skipped = (found.count(outcome) for outcome in COUNTED)
        if applied or skipped:
            self._record(now, applied=applied, skipped=skipped)

    def poisoned(self, count, now):
        if count > 0:
            self._record(now, poisoned=count)

    def sample(self, depth, oldest_age, now):
        """Note how many messages wait (None: not known) and the oldest one's age in seconds
        (None: nothing waits, or not known)."""
        self._record(now, depth=depth, oldest_age=oldest_age)

    def trim(self, now):
        """Forget the minutes that left the day."""
        start = minute_of(now) - (MOST_MINUTES - 1) * MINUTE
        for minutes in (self.minutes, self.unsaved):
            for old in [minute for minute in minutes if minute < start]:
                del minutes[old]

    def poisoned_in(self, minutes, now):
        """Messages poisoned in the last ``minutes`` minutes (this one included)."""
        start = minute_of(now) - (minutes - 1) * MINUTE
        return sum(each.poisoned for minute, each in self.minutes.items() if minute >= start)

    def series(self, now, hours=24):
        """Every minute of the last ``hours`` (1-24), oldest first, as dicts of minute (ISO),
        applied, skipped, poisoned, depth and oldest_age: 0 and None where nothing was noted."""
        if not 1 <= hours <= 24:
            raise ValueError(f"hours must be from 1 to 24, not {hours}")
        last = minute_of(now)
        empty = Minute()
        return [self.minutes.get(minute, empty).row(minute)
                for minute in (last - index * MINUTE for index in range(hours * 60 - 1, -1, -1))]

    def adopt(self, stored, now):
        """Take ``stored`` (``from_dict``'s) as the truth, plus what was recorded here and not
        saved yet; ``dirty`` then says whether that adds anything to it."""
        minutes = {minute: Minute(**vars(each)) for minute, each in stored.minutes.items()}
        for minute, mine in self.unsaved.items():
            minutes.setdefault(minute, Minute()).add(mine)
        self.minutes = dict(sorted(minutes.items()))
        self.trim(now)

    def take_unsaved(self):
        """What is not saved yet, now being saved: ``restore_unsaved`` it if the save fails."""
        unsaved, self.unsaved = self.unsaved, {}
        return unsaved

    def restore_unsaved(self, unsaved):
        for minute, each in unsaved.items():
            later = self.unsaved.get(minute)
            self.unsaved[minute] = Minute(**vars(each))
            if later is not None:
                self.unsaved[minute].add(later)

    def to_dict(self):
        return {"version": VERSION, "minutes": [
            [isotime(minute, "seconds"), each.applied, each.skipped, each.poisoned, each.depth,
             each.oldest_age] for minute, each in sorted(self.minutes.items())]}

    @staticmethod
    def from_dict(data, now):
        """The ``QueueStats`` stored in ``data``, read at ``now``; BadStats unless a watcher
        could have written it: at most ``MOST_MINUTES`` rows ``[minute, applied, skipped,
        poisoned, depth, oldest_age]``, whole minutes from 2000 to at most ``CLOCK_SKEW``
        ahead of ``now`` in order, counts and depth whole numbers in range, ages in seconds."""
        try:
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError(f"not queue stats of version {VERSION}")
            rows = data["minutes"]
            if not isinstance(rows, list) or len(rows) > MOST_MINUTES:
                raise ValueError(f"minutes must be a list of at most {MOST_MINUTES} rows")
            read = [_row(row, now) for row in rows]
            if any(later[0] <= earlier[0] for earlier, later in zip(read, read[1:], strict=False)):
                raise ValueError("minutes out of order or repeated")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise BadStats(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        stats = QueueStats(dict(read))
        stats.trim(now)
        return stats


def totals(series):
    """Sums of a ``series``' counts, and its largest depth and oldest age (None: none noted)."""
    def largest(field):
        return max((row[field] for row in series if row[field] is not None), default=None)

    return {"applied": sum(row["applied"] for row in series),
            "skipped": sum(row["skipped"] for row in series),
            "poisoned": sum(row["poisoned"] for row in series),
            "depth": largest("depth"), "oldest_age": largest("oldest_age")}


def _row(row, now):
    if not isinstance(row, list) or len(row) != 6:
        raise ValueError("a row must be [minute, applied, skipped, poisoned, depth, oldest_age]")
    at, applied, skipped, poisoned, depth, oldest_age = row
    if not isinstance(at, str) or len(at) > 40:
        raise ValueError("minute must be an ISO-8601 time string")
    minute = stored_time(at, now, "minute").astimezone(UTC)
    if minute != minute_of(minute):
        raise ValueError(f"minute {at[:40]!r} is not the start of a minute")
    for name, value in (("applied", applied), ("skipped", skipped), ("poisoned", poisoned)):
        _whole(name, value, MOST_PER_MINUTE)
    if depth is not None:
        _whole("depth", depth, MOST_DEPTH)
    if oldest_age is not None:
        if isinstance(oldest_age, bool) or not isinstance(oldest_age, int | float):
            raise TypeError("oldest_age must be a number of seconds or null")
        if not (math.isfinite(oldest_age) and 0 <= oldest_age <= MOST_AGE):
            raise ValueError(f"oldest_age {oldest_age!r:.40} is out of range")
    return minute, Minute(applied, skipped, poisoned, depth,
                          None if oldest_age is None else float(oldest_age))


def _whole(name, value, most):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number")
    if not 0 <= value <= most:
        raise ValueError(f"{name} {value} is out of range")
