"""What a watcher keeps of the day beside the snapshot: its timeline of states and its queue
stats, read and written together (``storage.day_blob``); and the stop's time limit for them."""

import logging
from time import monotonic

import gevent
from azure.core.exceptions import AzureError

from ..storage.account import describe
from ..storage.queue_stats import StatsKeeper
from ..storage.timeline import TimelineKeeper

log = logging.getLogger(__name__)


def within(deadline, what, call):
    """Run ``call`` with what is left of a stop's time (at least 0.2 s) until ``deadline`` (a
    monotonic time). A gevent.Timeout of its own: an AzureError raised inside the SDK would be
    retried."""
    left = max(0.2, deadline - monotonic())
    timer = gevent.Timeout(left)
    try:
        with timer:
            call()
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        log.error("could not %s on stop: no answer within %.1f s", what, left)
    except AzureError as exc:
        log.error("could not %s on stop: %s", what, describe(exc))


class DayKeeping:
    """The ``timeline`` and ``stats`` keepers of one queue; ``writing()`` while this process
    is the queue's active watcher (every other one reads them)."""

    def __init__(self, storage, pillows, writing=lambda: False):
        self.timeline = TimelineKeeper(storage, pillows, writing)
        self.stats = StatsKeeper(storage, writing)

    def start(self, stopping):
        self.timeline.start(stopping)
        self.stats.start(stopping)

    def stop(self):
        self.timeline.stop()
        self.stats.stop()

    def load(self):
        """Read both as the last holder saved them (on taking the queue over)."""
        self.timeline.load()
        self.stats.load()

    def save_on_stop(self, deadline):
        within(deadline, "save the timeline", lambda: self.timeline.save())
        within(deadline, "save the queue stats", lambda: self.stats.save(final=True))
