"""The current state, its recent history, and the snapshot that carries both across restarts.

The snapshot is a plain dict (stored as JSON in a blob) so that a web process could later read
what a separate watcher process wrote, without sharing anything else.
"""

import logging
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from .ordering import SECOND, Stamp

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
    def from_dict(cls, data):
        def when(key):
            if not data.get(key):
                return None
            value = datetime.fromisoformat(data[key])
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value

        return cls(str(data["state"]), data.get("text"), when("at"), when("received_at"),
                   _resolution(data.get("at_resolution")))


def _resolution(seconds):
    """A snapshot's ``at_resolution``; one written before it was kept has whole seconds."""
    if seconds is None:
        return SECOND
    seconds = float(seconds)
    if not 1e-6 <= seconds <= LONGEST_RESOLUTION.total_seconds():  # NaN fails this too
        raise ValueError(f"at_resolution {seconds!r} s is out of range")
    return timedelta(seconds=seconds)


class StateStore:
    """Applies parsed messages as received; an older message never replaces a newer state."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.current = Entry(catalog.initial.name, None, None, None)
        self.history = deque(maxlen=HISTORY_SIZE)
        self.applied_ids = deque(maxlen=REMEMBERED_IDS)
        self.dirty = False

    def apply(self, message, message_id, stamp, now=None):
        """Make ``message`` current unless it is older than what is shown; True if it was.

        ``stamp`` says when it happened (``ordering.Stamp``). Older means older at the precision
        both times have: one that cannot be told apart from the current state's wins, as the
        later received.
        """
        if message_id in self.applied_ids:
            return False  # a redelivery of something already applied (its delete was lost)
        self.applied_ids.append(message_id)
        self.dirty = True
        current = self.current.stamp()
        if current is not None and stamp.older_than(current):
            log.info("skipped %s from %s: older than the current state", message.state,
                     isotime(stamp.at, "microseconds"))
            return False
        before = self.shown()
        self.current = Entry(message.state, message.text, stamp.at, now or datetime.now(UTC),
                             stamp.resolution)
        if self.shown() != before:
            self.history.appendleft(self.current)
        return True

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

    def restore(self, snapshot):
        """Load a snapshot; entries whose state left the catalog are dropped, never shown."""
        if not snapshot or snapshot.get("version") != SNAPSHOT_VERSION:
            return
        entries = [Entry.from_dict(item) for item in snapshot.get("history", [])]
        self.history.clear()
        self.history.extend(entry for entry in entries if entry.state in self.catalog)
        current = Entry.from_dict(snapshot["current"])
        if current.state in self.catalog:
            self.current = current
        else:
            log.warning("snapshot state %s is not in the catalog; showing the initial state",
                        current.state)
        self.applied_ids.extend(snapshot.get("applied_ids", []))
        self.dirty = False
