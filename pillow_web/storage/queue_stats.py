"""The queue stats (``domain.queue_stats``) in a blob beside the snapshot,
``<queue>/snapshot.queue-stats.json``, and when to read and write it (``day_blob``).

The active watcher writes it at most once every ``EVERY`` seconds while counts changed, at most
once every ``SAMPLES_EVERY`` seconds while only samples did (an idle queue is sampled all day),
and on a clean stop; it reads it when it takes the queue over, so the day survives a restart.
Every other process reads it every ``EVERY`` seconds with the etag of its last read.
"""

import logging
from datetime import UTC, datetime
from time import monotonic

from ..domain.queue_stats import BadStats, QueueStats
from .day_blob import DayBlob, DayKeeper

log = logging.getLogger(__name__)

EVERY = 60.0  # seconds between a process's reads, or the writer's tries, of the stats blob
SAMPLES_EVERY = 600.0  # seconds between two writes of samples alone
KIND = "queue-stats"


class StatsBlob(DayBlob):
    """Reads (conditionally, by etag) and writes one queue's stats blob."""

    def __init__(self, storage):
        super().__init__(storage, KIND, QueueStats.from_dict, BadStats)


class StatsKeeper(DayKeeper):
    """One queue's ``QueueStats`` (``stats``), kept in step with its blob."""

    what = "queue stats"
    log = log

    def __init__(self, storage, writing=lambda: False):
        super().__init__(QueueStats(), StatsBlob(storage), writing)
        self._written = None  # monotonic time of the last write

    @property
    def stats(self):
        return self.kept

    def every(self):
        return EVERY

    def series(self, hours=24, now=None):
        return self.stats.series(now or datetime.now(UTC), hours)

    def due(self, final=False):
        if not self.stats.dirty:
            return False
        return (final or self.stats.counts_changed or self._written is None
                or monotonic() - self._written >= SAMPLES_EVERY)

    def adopt(self, stored, now):
        self.stats.adopt(stored or QueueStats(), now)

    def saving(self):
        data, unsaved = self.stats.to_dict(), self.stats.take_unsaved()
        return data, lambda: self.stats.restore_unsaved(unsaved)

    def saved(self):
        self._written = monotonic()
