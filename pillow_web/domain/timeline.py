"""A day of states per pillow: what its screens showed over the last 24 hours, as spans.

Each change of what a screen shows (the state and its line of text) starts a span that lasts
until the next change. The console draws the spans and ``GET /api/history`` serves them. The
timeline is kept in a blob beside the snapshot, which anyone with storage access could write:
``Timelines.from_dict`` holds it to a message's rules and refuses anything else (``BadTimeline``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .catalog import NAME
from .messages import PILLOW_ID, check_text
from .ordering import stored_time
from .state import isotime

WINDOW = timedelta(hours=24)
MOST_CHANGES = 2000  # per pillow: over it, the two oldest spans become one (see ``_cap``)
VERSION = 1


class BadTimeline(ValueError):
    """A stored timeline that cannot be shown; it is logged and left unused."""


@dataclass(frozen=True)
class Change:
    """From ``at`` on, the screens showed ``state`` with ``text``."""

    at: datetime
    state: str
    text: str

    def shows(self, state, text):
        return (self.state, self.text) == (state, text)


class PillowTimeline:
    """One pillow's changes, oldest first, within ``WINDOW`` and ``MOST_CHANGES``."""

    def __init__(self, changes=()):
        self.changes = list(changes)

    def record(self, state, text, at, now):
        """Note that the screens show ``state`` and ``text`` since ``at``; True if that is a
        change. A time before the last change (another process's clock) counts as the last's;
        one ahead of ``now``, as ``now``."""
        at = min(at, now)
        if self.changes and self.changes[-1].shows(state, text):
            return False
        if self.changes and at <= self.changes[-1].at:
            at = self.changes.pop().at  # the one it replaces was shown for no time at all
            if self.changes and self.changes[-1].shows(state, text):
                return True
        self.changes.append(Change(at, state, text))
        self.trim(now)
        return True

    def trim(self, now):
        """Forget what ended before the window; merge the oldest spans while over the cap."""
        start = now - WINDOW
        while len(self.changes) > 1 and self.changes[1].at <= start:
            del self.changes[0]
        while len(self.changes) > MOST_CHANGES:
            self._cap()

    def _cap(self):
        """The two oldest spans become one, of the state shown longer: the day keeps its length,
        losing detail only at its far end."""
        first, second, third = self.changes[:3]
        kept = first if second.at - first.at >= third.at - second.at else second
        self.changes[:2] = [Change(first.at, kept.state, kept.text)]
        if third.shows(kept.state, kept.text):
            del self.changes[1]

    def spans(self, now, hours=24):
        """The spans of the last ``hours``: dicts of state, text, from and until (ISO times)."""
        start = now - timedelta(hours=hours)
        spans = []
        for index, change in enumerate(self.changes):
            until = self.changes[index + 1].at if index + 1 < len(self.changes) else now
            if until <= start:
                continue
            spans.append({"state": change.state, "text": change.text,
                          "from": isotime(max(change.at, start)), "until": isotime(until)})
        return spans

    def after(self, at):
        """The changes later than ``at`` (None: all of them)."""
        return [change for change in self.changes if at is None or change.at > at]


class Timelines:
    """The timelines of the pillows of one queue; ``dirty`` while unsaved changes are held."""

    def __init__(self, pillows):
        self.pillows = {pillow: PillowTimeline() for pillow in pillows}
        self.dirty = False

    def record(self, pillow, state, text, at, now):
        if pillow in self.pillows and self.pillows[pillow].record(state, text, at, now):
            self.dirty = True

    def spans(self, pillow, now, hours=24):
        return self.pillows[pillow].spans(now, hours)

    def adopt(self, stored, now):
        """Take the stored timelines (``from_dict``'s) as the truth up to their last change,
        and keep what this process recorded after it. ``dirty`` then says whether that adds
        anything to what is stored."""
        self.dirty = False
        for pillow, mine in self.pillows.items():
            theirs = stored.get(pillow)
            if theirs is None:
                self.dirty = self.dirty or bool(mine.changes)
                continue
            last = theirs.changes[-1].at if theirs.changes else None
            newer = mine.after(last)
            merged = PillowTimeline(theirs.changes)
            for change in newer:
                self.dirty = merged.record(change.state, change.text, change.at, now) or self.dirty
            merged.trim(now)
            self.pillows[pillow] = merged

    def to_dict(self):
        return {"version": VERSION, "pillows": {
            pillow: [{"at": isotime(change.at, "microseconds"), "state": change.state,
                      "text": change.text} for change in timeline.changes]
            for pillow, timeline in self.pillows.items()}}

    @staticmethod
    def from_dict(data, now):
        """``{pillow: PillowTimeline}`` of a stored timeline read at ``now``; BadTimeline unless
        each change could have been shown: a pillow id, a state name, a text that passes a
        message's checks, times from 2000 to at most ``CLOCK_SKEW`` ahead of ``now``, in order,
        and at most ``MOST_CHANGES`` of them."""
        try:
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError(f"not a timeline of version {VERSION}")
            pillows = data["pillows"]
            if not isinstance(pillows, dict):
                raise TypeError("pillows must be an object of lists by pillow id")
            return {pillow: PillowTimeline(_changes(pillow, changes, now))
                    for pillow, changes in pillows.items()}
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise BadTimeline(f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _changes(pillow, changes, now):
    if not isinstance(pillow, str) or not PILLOW_ID.match(pillow):
        raise ValueError(f"{str(pillow)[:40]!r} is not a pillow id")
    if not isinstance(changes, list) or len(changes) > MOST_CHANGES:
        raise ValueError(f"{pillow}: a list of at most {MOST_CHANGES} changes is expected")
    checked = [_change(item, now) for item in changes]
    if any(later.at < earlier.at for earlier, later in zip(checked, checked[1:], strict=False)):
        raise ValueError(f"{pillow}: changes out of order")
    return checked


def _change(item, now):
    state, text, at = item["state"], item["text"], item["at"]
    if not isinstance(state, str) or not NAME.match(state):
        raise ValueError(f"{str(state)[:40]!r} is not a state name")
    if not isinstance(at, str) or len(at) > 40:
        raise ValueError("at must be an ISO-8601 time string")
    return Change(stored_time(at, now, "at").astimezone(UTC), state, check_text(text) or "")
