"""The watcher as a web worker (``serve --role web``) sees it: from the snapshot and from Redis.

A web worker consumes nothing. Its store follows the snapshot blob (``SnapshotFollower``, every
``POLL_MAX``), so a worker that starts late or lost Redis for a while serves the current state
and catches up. The watcher pushes each change through Redis, usually long before the follower
reads it; the follower pushes a change to its own screens (its room, not through Redis) only if
Redis did not bring that state, or a newer one, already (while Redis is away, or a push was
lost). The watcher's status comes from Redis (``Fleet``): the report the active watcher writes
every beat, with its queue's figures (``queue_figures``), which the worker asks storage for only
while no fresh report has them.
"""

import logging
from datetime import UTC, datetime
from time import monotonic

import gevent
from gevent.event import Event

from ..domain.state import isotime
from ..fleet import MESSAGE_QUEUE_DOWN
from ..watch.day_keeping import DayKeeping
from ..watch.follower import SnapshotFollower
from ..watch.link import public_reason
from ..watch.sampler import QueueSampler, SampledFigures

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5  # seconds between looks at whether the screens' status changed
PUBLIC = ("status", "queue_ok", "since", "last_poll", "last_ok", "reason")  # of a watcher's report
NO_WATCHER = "no active watcher"  # the public reason while none reported within the TTL


class RemoteWatcher(SampledFigures):
    """``loaded``, ``status()`` (for screens), ``health()`` (for /healthz and the console) and
    ``queue_figures()``, like the all-in-one's watcher; ``start()`` and ``stop()`` its
    greenlets."""

    def __init__(self, storage, store, settings, fleet, push_here):
        self.store = store  # the QueueState of the pillows on ``queue``
        self.queue = storage.queue_name
        self.fleet = fleet
        self.push_here = push_here  # push(event, data) to this process's screens only
        self.every = settings["POLL_MAX"]
        self.window = 3 * self.every + 2  # as the watcher's link: reads older than this are stale
        self.follower = SnapshotFollower(storage, store, self._changed)
        self.days = DayKeeping(storage, store.stores)  # read only: the watcher writes them
        self.timeline, self.stats = self.days.timeline, self.days.stats
        self.sampler = QueueSampler(storage, self.stats.stats, lambda: False, self._figures)
        self.loaded = Event()  # set once the snapshot (or that there is none) was read
        self.snapshot_error = None  # the last read's redacted error line, None if it worked
        self._read_ok = None  # monotonic time of the last good read
        self._started = None
        self._stopping = Event()
        self._greenlets = []
        self._announced = None
        self._since = datetime.now(UTC)  # when the screens' status last changed
        self._pushed = {}  # by pillow, the state last pushed here or found brought by Redis

    def start(self):
        if not self._greenlets:
            self._started = monotonic()
            self._greenlets = [gevent.spawn(self._follow), gevent.spawn(self._announce)]
            self.days.start(self._stopping)
        return self._greenlets[0]

    def stop(self, timeout=5.0):
        self._stopping.set()
        self.days.stop()
        gevent.killall(self._greenlets, timeout=timeout)

    def wake(self):
        self.fleet.wake_watcher(self.queue)

    def _follow(self):
        while not self._stopping.is_set():
            try:
                self.follower.follow(self._stopping, self.every, self._read)
            except Exception as exc:  # a bug: log it and keep following
                log.exception("could not read the snapshot")
                self.snapshot_error = f"{type(exc).__name__}: {exc}"[:300]
                self._stopping.wait(self.every)

    def _read(self, error):
        """One read's outcome: ``error`` is a storage error's redacted line, None if it worked."""
        self.snapshot_error = error
        if error is None:
            self._read_ok = monotonic()
            if not self.loaded.is_set():
                self.loaded.set()
                # Screens that connected while starting got no state, whatever Redis brought.
                for pillow in self.store.stores:
                    self._pushed[pillow] = self.store.payload(pillow)
                    self.timeline.record(self._pushed[pillow])
                    self.push_here("state", self._pushed[pillow])

    def _changed(self):
        if not self.loaded.is_set():
            return
        for pillow in self.store.stores:
            payload = self.store.payload(pillow)
            if payload == self._pushed.get(pillow):
                continue  # the snapshot changed for another pillow on this queue
            self._pushed[pillow] = payload
            self.timeline.record(payload)
            if not self.fleet.shown.has(payload):  # Redis brought it, or a newer one
                self.push_here("state", payload)

    def _announce(self):
        """Push ``status`` to this process's screens whenever what they should show changes."""
        while not self._stopping.wait(CHECK_EVERY):
            status = self.status()
            shown = (status["status"], status["queue_ok"], status["reason"])
            if shown == self._announced or status["status"] == "starting":
                continue
            if self._announced is not None:
                self._since = datetime.now(UTC)
            self._announced = shown
            self.push_here("status", {**self.status(), "pillows": list(self.store.stores)})

    def _figures(self):
        """The active watcher's queue figures, as its last report gave them (None: none)."""
        return (self.fleet.watcher_reports.get(self.queue) or {}).get("figures")

    def _starting(self):
        return not self.loaded.is_set() and (self._started is None
                                             or monotonic() - self._started < self.window)

    def _snapshot_ok(self):
        return self._read_ok is not None and monotonic() - self._read_ok < self.window

    def status(self):
        """The ``status`` event: whether the pillow's data reaches this worker's screens.

        That is the active watcher's own report (its queue) while the snapshot reads work. While
        Redis is unreachable the last report stands: the screens still get every change from the
        snapshot, so they are not told the pillow went silent.
        """
        report = self.fleet.watcher_reports.get(self.queue) or {}
        if self._starting():
            status, reason = "starting", None
        elif not self._snapshot_ok():
            status, reason = "degraded", public_reason(self.snapshot_error)
        elif not report:
            status, reason = "degraded", NO_WATCHER
        else:
            return {key: report.get(key) for key in PUBLIC}
        return {"status": status, "queue_ok": False, "since": isotime(self._since),
                "last_poll": report.get("last_poll"), "last_ok": report.get("last_ok"),
                "reason": reason}

    def health(self, detail=False):
        """``/healthz``: the screens' status, and "degraded" too while Redis is unreachable or
        no watcher reported within its TTL; ``reason`` and the ``*_ok`` fields say which."""
        health = self.status()
        message_queue_ok, report = self.fleet.healthy(), self.fleet.watcher_reports.get(self.queue)
        health.update(role="web", snapshot_ok=self._snapshot_ok(),
                      message_queue_ok=message_queue_ok,
                      watcher_reported=message_queue_ok and report is not None)
        if health["status"] != "starting" and not message_queue_ok:  # the first cause to fix
            health.update(status="degraded", queue_ok=False, reason=MESSAGE_QUEUE_DOWN)
        if detail:
            health.update(snapshot_error=self.snapshot_error, message_queue=self.fleet.shown_url,
                          message_queue_error=self.fleet.error,
                          last_error=(report or {}).get("last_error"))
        return health
