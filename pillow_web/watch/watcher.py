"""The watcher: one greenlet that drains the queue into the current state and pushes changes.

Each batch is handled as: parse, poison what cannot be used, apply the rest in the queue's order
(see ``ordering``), push the new state, save the snapshot, and only then delete. A crash at any
point loses nothing: whatever was not deleted comes back after the visibility timeout.
"""

import logging
import random
from datetime import UTC, datetime
from time import monotonic

import gevent
from azure.core.exceptions import AzureError, ServiceResponseTimeoutError
from gevent.event import Event

from ..domain.messages import Rejected, parse
from ..storage.account import BATCH, describe
from .link import Link

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
# A receive of at most 32 small messages: a queue that takes longer is down for screens. With the
# SDK's own timeouts and retries a hung endpoint (connections accepted, never answered) kept
# /healthz at 200 for 5 s and screens "live" for ~40 s.
RECEIVE_TIMEOUT = 1.5


class Watcher:
    def __init__(self, storage, store, settings, emit):
        self.storage = storage
        self.store = store
        self.emit = emit
        self.poll_min = settings["POLL_MIN"]
        self.poll_max = settings["POLL_MAX"]
        self.visibility_timeout = settings["VISIBILITY_TIMEOUT"]
        self.max_dequeue = settings["MAX_DEQUEUE"]
        self.link = Link(self.poll_max, storage.queue_name, emit)
        self._shown = store.shown()  # what screens got on connect; push only on a change
        # Set once the snapshot is read: until then nothing may show the store's state as real.
        self.loaded = Event()
        self._wake = Event()
        self._stopping = Event()
        self._greenlet = None
        self._deleting = None  # a full batch's deletes, running while the next batch is received

    def start(self):
        """Start the one watcher greenlet; it restarts its loop itself if that ever crashes."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._supervise)
            self.link.start_monitor(self._stopping)
        return self._greenlet

    def stop(self, timeout=5.0):
        """Let the batch in hand finish, save the snapshot and end the loop, within ``timeout``."""
        deadline = monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout)
            if self._deleting is not None:
                self._deleting.join(max(0.0, deadline - monotonic()))
            # Stuck in a hung request: what it had not deleted comes back after the timeout.
            self._greenlet.kill(block=False)
        if self.store.dirty:
            # Whatever the save misses is not lost: those messages were not deleted either.
            # A gevent.Timeout of its own: an AzureError raised inside the SDK would be retried.
            left = max(0.2, deadline - monotonic())
            timer = gevent.Timeout(left)
            try:
                with timer:
                    self.storage.save_snapshot(self.store.snapshot())
                self.store.dirty = False
            except gevent.Timeout as exc:
                if exc is not timer:
                    raise
                log.error("could not save the snapshot on stop: no answer within %.1f s", left)
            except AzureError as exc:
                log.error("could not save the snapshot on stop: %s", describe(exc))

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
        self._load()
        delay = self.poll_min
        while not self._stopping.is_set():
            try:
                handled = self.poll_once()
            except AzureError as exc:
                self.link.polled(describe(exc))
                handled, delay = 0, self.poll_max
            else:
                delay = self.poll_min if handled else min(self.poll_max, delay * 2)
            if handled >= BATCH:
                continue  # a full batch: more are likely waiting (a backlog), so poll at once
            # A little jitter keeps several dashboards on one queue from polling in lockstep.
            self._wait(delay * random.uniform(0.95, 1.0) if not handled else delay)

    def _load(self):
        """Create what is missing and restore the snapshot; retry until storage answers."""
        while not self._stopping.is_set():
            try:
                self.storage.ensure()
                snapshot = self.storage.load_snapshot()
            except AzureError as exc:
                self.link.polled(describe(exc))
                self._wait(self.poll_max)
                continue
            try:
                self.store.restore(snapshot)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.error("ignoring an unreadable snapshot: %s", exc)
            if not self.loaded.is_set():
                self._shown = None  # screens that connected while starting got no state: push it
                self.loaded.set()
            self._publish()
            return

    def _wait(self, seconds):
        self._wake.wait(seconds)
        self._wake.clear()

    def poll_once(self):
        """Receive and handle one batch; return how many messages it held."""
        batch = self._receive()
        self._join_deletes()
        self.link.polled()
        if batch:
            self._handle(batch)
        return len(batch)

    def _receive(self):
        # Behind a backlog's deletes (still running, see _handle) a receive may queue up in
        # Azurite; there the link monitor's staleness window is the guard instead.
        timer = gevent.Timeout(RECEIVE_TIMEOUT if self._deleting is None else None)
        try:
            with timer:
                return self.storage.receive(self.visibility_timeout)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise ServiceResponseTimeoutError(
                f"the queue did not answer within {RECEIVE_TIMEOUT:g} s") from None

    def _handle(self, batch):
        now = datetime.now(UTC)
        usable = []
        for message in batch:
            if message.dequeue_count > self.max_dequeue:
                reason = f"delivered {message.dequeue_count} times without being applied"
                self.storage.to_poison(message, reason)
                continue
            try:
                parsed = parse(message.content, self.store.catalog.names)
            except Rejected as exc:
                self.storage.to_poison(message, str(exc))
                continue
            usable.append((message, parsed))
        # In the queue's order, not sorted: a bare name's insertion time has whole seconds only,
        # so it has no place among times to the microsecond. apply() skips what is older than
        # the current state at the precision both have; the later received wins the rest.
        for message, parsed in usable:
            stamp = parsed.stamp(message.inserted_on or now)  # its at, unless far ahead of that
            if parsed.at and stamp.at != parsed.at and message.id not in self.store.applied_ids:
                ahead = (parsed.at - stamp.at).total_seconds()
                log.warning("message %s: at %s is %.0f s ahead of its insertion time; ordered "
                            "by that", message.id, parsed.at.isoformat(), ahead)
            self.store.apply(parsed, message.id, stamp, now)
        self._publish()
        if self.store.dirty:
            self.storage.save_snapshot(self.store.snapshot())
            self.store.dirty = False
        done = [message for message, _ in usable]
        if len(batch) >= BATCH:
            # A backlog: delete this batch (its snapshot is saved) while the next one is received.
            self._deleting = gevent.spawn(self._delete_quietly, done)
        else:
            self.storage.delete(done)

    def _delete_quietly(self, messages):
        """Delete in a greenlet of its own, returning the error for ``_join_deletes`` to raise."""
        try:
            self.storage.delete(messages)
        except AzureError as exc:
            return exc
        return None

    def _join_deletes(self):
        """Wait for the previous full batch's deletes; an error there is this poll's error."""
        deleting, self._deleting = self._deleting, None
        error = deleting.get() if deleting is not None else None
        if error is not None:
            raise error

    def _publish(self):
        """Push the state if what a screen shows changed; a burst thus ends in one push."""
        shown = self.store.shown()
        if shown != self._shown:
            self._shown = shown
            self.emit("state", self.store.payload())

    @property
    def ok(self):
        """Whether the last poll worked; None before the first one."""
        return self.link.ok

    def healthy(self):
        return self.link.healthy()

    def status(self):
        return self.link.status()
