"""The watcher: the one greenlet that keeps the current state and pushes its changes to screens.

Only the process that holds the lease on the queue's snapshot blob (``storage.lease``) consumes
the queue (``consumer``); every other one stands by: it follows the snapshot with conditional
reads (``follower``), so its own screens stay current, and takes over once the lease is free.
A clean stop finishes the batch in hand, saves, and releases the lease at once.
"""

import logging
from time import monotonic

import gevent
from azure.core.exceptions import AzureError
from gevent.event import Event

from ..storage.account import describe
from ..storage.lease import Lease
from .consumer import Consumer, LeaseLost
from .day_keeping import DayKeeping, within
from .follower import SnapshotFollower
from .link import Link
from .sampler import QueueSampler, SampledFigures

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
LEASE_RETRY = 1.0  # seconds between a standby's tries: it takes over this soon after a release
DELETES_GRACE = 5.0  # seconds a holder that lost the lease waits for deletes of a saved batch


class Watcher(SampledFigures):
    """Watches one queue for the pillows it serves: ``store`` is their ``QueueState``.

    ``emit(event, data)`` pushes to screens while this process consumes the queue; standing by,
    ``standby_emit`` does if given (e.g. to this process's own screens only).
    """

    def __init__(self, storage, store, settings, emit, standby_emit=None):
        self.storage = storage
        self.store = store
        self._emits = emit, standby_emit or emit
        self.poll_max = settings["POLL_MAX"]
        self.link = Link(self.poll_max, storage.queue_name, self._emit_status)
        self.days = DayKeeping(storage, store.stores, lambda: self.role == "active")
        self.timeline, self.stats = self.days.timeline, self.days.stats
        self.sampler = QueueSampler(storage, self.stats.stats, lambda: self.role == "active")
        self.consumer = Consumer(storage, store, settings, self.link, self._publish, self.sampler)
        self.follower = SnapshotFollower(storage, store, self._publish)
        self._shown = {}  # by pillow, what its screens got; push only on a change
        # Set once the snapshot is read: until then nothing may show the store's state as real.
        self.loaded = Event()
        self.lease = None  # a new one (a new lease id) for every start
        self._wake, self._stopping = Event(), Event()
        self._greenlet = self._keeper = None

    @property
    def role(self):
        """"active" while this process consumes the queue, else "standby"."""
        return self.link.role

    def emit(self, event, data):
        self._emits[self.role != "active"](event, data)

    def _emit_status(self, event, status):
        self.emit(event, {**status, "pillows": list(self.store.stores)})

    def start(self):
        """Start the watcher greenlet (after a stop, under a new lease); it outlives crashes."""
        if self._greenlet is None:
            self._stopping, self._keeping, self._decided = Event(), Event(), Event()
            self.lease = self.consumer.lease = Lease(self.storage.snapshot_blob)
            self.link.logged_role = None
            self._greenlet = gevent.spawn(self._supervise)
            self.link.start_monitor(self._stopping)
            self.days.start(self._stopping)
        return self._greenlet

    def stop(self, timeout=5.0):
        """Finish the batch in hand, save the snapshot, release the lease; within ``timeout``."""
        deadline = monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout)
            self.consumer.finish_deletes(max(0.0, deadline - monotonic()))
            # Stuck in a hung request: what it had not deleted comes back after the timeout.
            self._greenlet.kill(block=False)
            self._greenlet = None
        held = self.lease is not None and self.lease.held()
        if self.store.dirty and held:
            # Whatever the save misses is not lost: those messages were not deleted either.
            within(deadline, "save the snapshot", self.consumer.save)
        self.days.stop()
        if held:
            self.days.save_on_stop(deadline)
        if self._keeper is not None:
            self._keeping.set()
            self._keeper.kill(block=False)  # it may be in a hung renewal
            self._keeper = None
            if held:
                within(deadline, "release the lease", self.lease.release)
        self.link.role = "standby"

    def wake(self):
        """Poll now instead of after the current back-off (a post just arrived)."""
        self._wake.set()

    def _supervise(self):
        while not self._stopping.is_set():
            try:
                self._run()
            except Exception as exc:  # the loop must outlive any bug in one batch
                log.exception("watcher crashed; restarting in %.0f s", RESTART_DELAY)
                self.link.polled(f"watcher crashed: {describe(exc)}")
                self._wait(RESTART_DELAY)

    def _run(self):
        self._prepare()
        if self._keeper is None:
            self._keeper = gevent.spawn(self.lease.keep, self._keeping, LEASE_RETRY,
                                        self._lease_changed)
        gevent.wait([self._decided, self._stopping], count=1)  # its first try, to log the role
        reason = None
        while not self._stopping.is_set():
            if self.lease.held():
                self.link.take_role("active")
                reason = self._consume()
            else:
                self.link.take_role("standby", reason or self.lease.why or "the lease is not ours")
                self._stand_by()
                reason = None

    def _prepare(self):
        """Create what is missing (a lease needs the container); retry until storage answers."""
        while not self._stopping.is_set():
            try:
                self.storage.ensure()
                return
            except AzureError as exc:
                self.link.polled(describe(exc))
                self._wait(self.poll_max)

    def _lease_changed(self, held):
        self._decided.set()
        self._wake.set()  # a standby takes over, a holder stops, without waiting out a poll

    def _stand_by(self):
        """Follow the snapshot while another process holds the lease."""
        self.follower.forget()  # read it whole: the store may hold what this process applied
        while not self._stopping.is_set() and not self.lease.held():
            try:
                self.follower.refresh()
            except AzureError as exc:
                self.link.polled(describe(exc))
            else:
                self.link.polled()
                self._mark_loaded()
            self._wait(self.poll_max)

    def _consume(self):
        """Consume while the lease is ours; return why it stopped (None when stopping)."""
        try:
            if self._take_over():
                self.consumer.consume(self._stopping, self._wait)
        except LeaseLost as exc:
            return str(exc)
        finally:
            if not self._stopping.is_set():  # (a stop waits for them itself)
                self.consumer.finish_deletes(DELETES_GRACE)
        return None

    def _take_over(self):
        """Read the snapshot whole before the first receive: the last holder wrote it last."""
        self.follower.forget()
        while not self._stopping.is_set():
            if not self.lease.held():
                raise LeaseLost(f"while reading the snapshot ({self.lease.why or 'it ran out'})")
            try:
                self.follower.refresh()
            except AzureError as exc:
                self.link.polled(describe(exc))
                self._wait(self.poll_max)
                continue
            self.consumer.remember()
            self._mark_loaded()
            self.days.load()  # the day so far, as the last holder saved it
            return True
        return False

    def _mark_loaded(self):
        if not self.loaded.is_set():
            self._shown = {}  # screens that connected while starting got no state: push it
            self.loaded.set()
            self._publish()

    def _wait(self, seconds):
        self._wake.wait(seconds)
        self._wake.clear()

    def _publish(self):
        """Push the state if what a screen shows changed; a burst thus ends in one push."""
        if not self.loaded.is_set():
            return  # the first read pushes it (_mark_loaded)
        for pillow, store in self.store.stores.items():
            shown = store.shown()
            if shown != self._shown.get(pillow):
                self._shown[pillow], payload = shown, self.store.payload(pillow)
                self.timeline.record(payload)
                self.emit("state", payload)

    @property
    def ok(self):
        """Whether the last poll (or, standing by, snapshot read) worked; None before one."""
        return self.link.ok

    def healthy(self):
        return self.link.healthy()

    def status(self):
        return self.link.status()
