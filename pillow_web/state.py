"""The current state, its recent history, and the snapshot that carries both across restarts.

The snapshot is a plain dict (stored as JSON in a blob) so that a web process could later read
what a separate watcher process wrote, without sharing anything else.
"""

import logging
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

HISTORY_SIZE = 50
REMEMBERED_IDS = 256
SNAPSHOT_VERSION = 1


def isotime(value):
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Entry:
    """One state as shown: ``at`` orders states, ``received_at`` is when we applied it."""

    state: str
    text: str | None
    at: datetime | None
    received_at: datetime | None

    def to_dict(self):
        data = asdict(self)
        data["at"] = self.at and isotime(self.at)
        data["received_at"] = self.received_at and isotime(self.received_at)
        return data

    @classmethod
    def from_dict(cls, data):
        def when(key):
            return datetime.fromisoformat(data[key]) if data.get(key) else None

        return cls(str(data["state"]), data.get("text"), when("at"), when("received_at"))


class StateStore:
    """Applies parsed messages in time order; an older message never replaces a newer state."""

    def __init__(self, catalog):
        self.catalog = catalog
        self.current = Entry(catalog.initial.name, None, None, None)
        self.history = deque(maxlen=HISTORY_SIZE)
        self.applied_ids = deque(maxlen=REMEMBERED_IDS)
        self.dirty = False

    def apply(self, message, message_id, at, now=None):
        """Make ``message`` current unless it is older than what is shown; True if it was."""
        if message_id in self.applied_ids:
            return False  # a redelivery of something already applied (its delete was lost)
        self.applied_ids.append(message_id)
        self.dirty = True
        if self.current.at is not None and at < self.current.at:
            log.info("skipped %s from %s: older than the current state", message.state, at)
            return False
        before = self.shown()
        self.current = Entry(message.state, message.text, at, now or datetime.now(UTC))
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
        return {
            "version": SNAPSHOT_VERSION,
            "current": self.current.to_dict(),
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
