"""The day of states (``domain.timeline``) in a blob beside the snapshot, and when to read and
write it (``day_blob``).

The active watcher writes it at most once every ``EVERY`` seconds, and only when it changed, and
on a clean stop; it reads it when it takes the queue over, so the day survives a restart. Every
other process (a standby, a web worker) records the changes it finds in the snapshot and reads the
blob every ``EVERY`` seconds with the etag of its last read: unchanged, that is one small request,
so an idle dashboard makes at most 1/60 of a request a second more per queue.
"""

import logging
from datetime import UTC, datetime

from ..domain.timeline import BadTimeline, Timelines
from .day_blob import DayBlob, DayKeeper, day_blob_name

log = logging.getLogger(__name__)

EVERY = 60.0  # seconds between a process's reads or writes of the timeline blob
KIND = "timeline"


def timeline_blob_name(storage):
    """``<queue>/snapshot.timeline.json``: beside the snapshot blob, under no lease."""
    return day_blob_name(storage, KIND)


class TimelineBlob(DayBlob):
    """Reads (conditionally, by etag) and writes one queue's timeline blob."""

    def __init__(self, storage):
        super().__init__(storage, KIND, Timelines.from_dict, BadTimeline)


class TimelineKeeper(DayKeeper):
    """One queue's ``Timelines``, kept in step with its blob.

    ``record(payload)`` notes a ``state`` event shown; ``writing()`` says whether this process
    writes the blob (the active watcher) or only reads it.
    """

    what = "timeline"
    log = log

    def __init__(self, storage, pillows, writing=lambda: False):
        super().__init__(Timelines(pillows), TimelineBlob(storage), writing)

    @property
    def timelines(self):
        return self.kept

    def every(self):
        return EVERY

    def record(self, payload):
        """Note that the screens of ``payload["pillow"]`` show this ``state`` event, since the
        watcher applied it (``received_at``; the initial state: now)."""
        now = datetime.now(UTC)
        try:
            at = datetime.fromisoformat(payload["received_at"]).astimezone(UTC)
        except (KeyError, TypeError, ValueError):
            at = now
        self.timelines.record(payload["pillow"], payload["state"], payload["text"] or "", at,
                              now)

    def spans(self, pillow, hours=24, now=None):
        return self.timelines.spans(pillow, now or datetime.now(UTC), hours)

    def adopt(self, stored, now):
        """The stored timelines are the truth up to their last change (see ``Timelines``)."""
        self.timelines.adopt(stored or {}, now)

    def saving(self):
        self.timelines.dirty = False

        def undo():
            self.timelines.dirty = True

        return self.timelines.to_dict(), undo
