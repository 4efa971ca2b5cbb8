"""When one message is older than another, at the precision both times are known to.

A time stands for the span its precision leaves open: the queue's insertion time (used for a
message without ``at``) for its whole second, an ``at`` down to its last digit (``…:05Z`` a
second, ``…:05.123Z`` a millisecond). A message is older than another only when its span ends
before the other's begins. When the spans overlap (say a bare name inserted in the second in which
an operator's post was stamped to the microsecond) they cannot be ordered, and the message
received later wins.

Only the queue's clock is trusted outright: a sender's ``at`` counts only while it is at most
``CLOCK_SKEW`` ahead of the time the queue inserted the message (see ``trusted``).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SECOND = timedelta(seconds=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no pillow sent anything before
# How far a sender's `at` may run ahead of a clock we trust (the queue's insertion time, or this
# server's clock for a snapshot or an operator's own `at`). An honest `at` precedes its insertion:
# it is at most the second the insertion time leaves out ahead of it, plus the sender's clock
# error, which NTP keeps far below a second. Further ahead the sender's clock is wrong, and every
# second trusted there is a second in which later states look "older": so a few seconds only.
CLOCK_SKEW = timedelta(seconds=5)
# The parts of what datetime.fromisoformat reads: a date (calendar or week; extended or basic),
# then any one separator, hh[:mm[:ss]] and a fraction, which Python takes as of a second wherever
# it stands ("T10.5" is 10:00:00.5; after seconds, "05123" and "05:123" are 05.123 too). The zone
# that may follow does not change the precision. (Week dates whose separator Python itself can
# only guess at, such as "2026-W47-1430", are read on a best-effort basis too.)
ISO_PARTS = re.compile(
    r"\d{4}(?:-?\d\d-?\d\d|-?W\d\d(?P<weekday>-?\d)?)"
    r"(?:.(?P<hour>\d\d)(?::?(?P<minute>\d\d)(?::?(?P<second>\d\d))?)?"
    r"(?:(?(second)[.,:]?|[.,])(?P<fraction>\d+))?)?",
    re.ASCII,
)
UNITS = (("second", SECOND), ("minute", timedelta(minutes=1)), ("hour", timedelta(hours=1)))


def resolution(iso_text):
    """How precisely ``iso_text`` (a time ``datetime.fromisoformat`` accepted) states it."""
    parts = ISO_PARTS.match(iso_text)
    if parts is None:
        return SECOND
    if parts["fraction"]:  # datetime keeps microseconds: more digits say no more
        return timedelta(microseconds=10 ** max(0, 6 - len(parts["fraction"])))
    for unit, size in UNITS:
        if parts[unit]:
            return size
    week = "W" in parts[0] and not parts["weekday"]
    return timedelta(days=7 if week else 1)


@dataclass(frozen=True)
class Stamp:
    """When a message happened, as ``[at, at + resolution)``."""

    at: datetime
    resolution: timedelta = SECOND

    def older_than(self, other):
        """True only if this span ends before ``other``'s begins; overlapping spans are not."""
        return other.at - self.at >= self.resolution  # a difference: never out of range


def ahead(at, clock):
    """Whether ``at`` is further ahead of ``clock`` (a time we trust) than an honest clock runs."""
    return at - clock > CLOCK_SKEW


def stored_time(text, now, name):
    """The time ``name`` of something read back from storage at ``now`` (UTC if it has no
    zone); ValueError unless a message could have said it: from 2000 to at most ``CLOCK_SKEW``
    ahead of ``now`` (one far ahead would freeze the screens: every message would be older)."""
    value = datetime.fromisoformat(text)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if value < EARLIEST or ahead(value, now):
        raise ValueError(f"{name} {text[:40]!r} is before 2000 or more than "
                         f"{CLOCK_SKEW.seconds} s ahead of this server's clock")
    return value


def trusted(stamp, inserted_on):
    """``stamp``, or the insertion second if ``stamp`` is too far ahead of the queue's clock.

    A time far ahead would make every later message "older" until the clock caught up: a fast
    clock or a hostile sender could freeze the screens. A time far behind is believed (a pillow
    that was offline sends what it buffered).
    """
    return Stamp(inserted_on, SECOND) if ahead(stamp.at, inserted_on) else stamp
