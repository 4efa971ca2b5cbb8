"""The current state, its recent history, and the snapshot that carries both across restarts.

The snapshot is a plain dict (stored as JSON in a blob) so that a web process could later read
what a separate watcher process wrote, without sharing anything else. Whoever can write the queue
can write the blob too, so what it says is held to a message's rules before anything is shown.
"""

import logging
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from .messages import check_text
from .ordering import SECOND, Stamp, stored_time

log = logging.getLogger(__name__)

HISTORY_SIZE = 50
REMEMBERED_IDS = 256
SNAPSHOT_VERSION = 1
LONGEST_RESOLUTION = timedelta(days=7)  # a week date without its day


def isotime(value, timespec="milliseconds"):
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


@dataclass(frozen=True)
class Entry:
    """One state as shown: ``at`` orders states, ``received_at`` is when we applied it.

    ``at_resolution`` is how precisely ``at`` is known (see ``ordering``); screens never see it.
    """

    state: str
    text: str | None
    at: datetime | None
    received_at: datetime | None
    at_resolution: timedelta = SECOND

    def stamp(self):
        return Stamp(self.at, self.at_resolution) if self.at else None

    def to_dict(self):
        data = asdict(self)
        del data["at_resolution"]
        data["at"] = self.at and isotime(self.at)
        data["received_at"] = self.received_at and isotime(self.received_at)
        return data

    @classmethod
    def from_dict(cls, data, now):
        """An entry of a snapshot read at ``now``; ValueError or TypeError unless a message
        could have said it: a state name, a text that passes a message's checks, and times
        from 2000 to at most ``CLOCK_SKEW`` ahead of ``now`` (one far ahead would freeze the
        screens: every message would be older)."""
        def when(key):
            return stored_time(data[key], now, key) if data.get(key) else None

        if not isinstance(data["state"], str):
            raise TypeError("state is not a string")
        return cls(data["state"], check_text(data.get("text")), when("at"), when("received_at"),
                   _resolution(data.get("at_resolution")))


def _resolution(seconds):
    """A snapshot's ``at_resolution``; one written before it was kept has whole seconds."""
    if seconds is None:
        return SECOND
    seconds = float(seconds)
    if not 1e-6 <= seconds <= LONGEST_RESOLUTION.total_seconds():  # NaN fails this too
        raise ValueError(f"at_resolution {seconds!r} s is out of range")
    return timedelta(seconds=seconds)


class BadSnapshot(ValueError):
    """A snapshot that cannot be shown; the watcher logs it once and starts without it."""


class StateStore:
    """Applies parsed messages as received; an older message never replaces a newer state."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.current = Entry(catalog.initial.name, None, None, None)
        self.history = deque(maxlen=HISTORY_SIZE)
        self.applied_ids = deque(maxlen=REMEMBERED_IDS)
        self.dirty = False

    def outcome(self, message_id, stamp):
        """What ``apply`` does with message ``message_id`` happened at ``stamp``, changing
        nothing: "redelivered" (its id was applied already: its delete was lost), "older" (than
        the current state: consumed, not shown) or "applies".

        Older means older at the precision both times have: one that cannot be told apart from
        the current state's wins, as the later received.
        """
        if message_id in self.applied_ids:
            return "redelivered"
        current = self.current.stamp()
        return "older" if current is not None and stamp.older_than(current) else "applies"

    def apply(self, message, message_id, stamp, now=None):
        """Make ``message`` current unless ``outcome`` says it is a redelivery or older than
        what is shown; True if it was. ``stamp`` says when it happened (``ordering.Stamp``).
        """
        outcome = self.outcome(message_id, stamp)
        if outcome == "redelivered":
            return False
        self.applied_ids.append(message_id)
        self.dirty = True
        if outcome == "older":
            log.info("skipped %s from %s: older than the current state", message.state,
                     isotime(stamp.at, "microseconds"))
            return False
        before = self.shown()
        self.current = Entry(message.state, message.text, stamp.at, now or datetime.now(UTC),
                             stamp.resolution)
        if self.shown() != before:
            self.history.appendleft(self.current)
        return True

    def saved(self):
        """What ``reset`` goes back to: the store as it is now."""
        return self.current, list(self.history), list(self.applied_ids)

    def reset(self, saved):
        """Go back to ``saved`` (from ``saved()``), clean: what a refused save held is forgotten."""
        self.current, history, applied_ids = saved
        self.history.clear()
        self.history.extend(history)
        self.applied_ids.clear()
        self.applied_ids.extend(applied_ids)
        self.dirty = False

    def shown(self):
        """What a screen shows: the picture's state and the line of text."""
        return self.current.state, self.text()

    def text(self):
        return self.current.text or self.catalog[self.current.state].text

    def payload(self):
        """The ``state`` event and ``GET /api/state`` body."""
        state = self.catalog[self.current.state]
        data = self.current.to_dict()
        data.update(text=self.text(), image=f"/static/img/{state.image}", color=state.color)
        return data

    def history_payload(self):
        return [entry.to_dict() for entry in self.history]

    def snapshot(self):
        current = self.current.to_dict()
        if self.current.at is not None:
            # Exact and with its precision, so the first message after a restart is judged as
            # it would have been before.
            current.update(at=isotime(self.current.at, "microseconds"),
                           at_resolution=self.current.at_resolution.total_seconds())
        return {
            "version": SNAPSHOT_VERSION,
            "current": current,
            "history": self.history_payload(),
            "applied_ids": list(self.applied_ids),
        }

    def restore(self, snapshot, now=None):
        """Load a snapshot read at ``now``, or raise BadSnapshot and change nothing.

        Entries whose state left the catalog are dropped, never shown (the catalog changed).
        """
        if not snapshot:
            return  # none saved yet
        now = now or datetime.now(UTC)
        try:
            if snapshot["version"] != SNAPSHOT_VERSION:
                raise ValueError(f"version {snapshot['version']!r:.40} is not {SNAPSHOT_VERSION}")
            current = Entry.from_dict(snapshot["current"], now)
            entries = [Entry.from_dict(item, now) for item in snapshot.get("history", [])]
            applied_ids = list(snapshot.get("applied_ids", []))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise BadSnapshot(f"{type(exc).__name__}: {exc}") from None
        if not all(isinstance(item, str) for item in applied_ids):
            raise BadSnapshot("applied_ids must be message ids")
        self.history.clear()
        self.history.extend(entry for entry in entries if entry.state in self.catalog)
        if current.state in self.catalog:
            self.current = current
        else:
            log.warning("snapshot state %r is not in the catalog; showing the initial state",
                        current.state[:40])
        self.applied_ids.clear()  # restored again by a follower: the snapshot's ids, no others
        self.applied_ids.extend(applied_ids)
        self.dirty = False

