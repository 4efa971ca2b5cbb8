"""The watcher: one greenlet that drains the queue into the current state and pushes changes.

Each batch is handled as: parse, poison what cannot be used, apply the rest oldest first, push the
new state, save the snapshot, and only then delete. A crash at any point loses nothing: whatever
was not deleted comes back after the visibility timeout.
"""

import logging
import random
from datetime import UTC, datetime
from time import monotonic

import gevent
from azure.core.exceptions import AzureError
from gevent.event import Event

from .messages import Rejected, parse
from .state import isotime
from .storage import BATCH, describe

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0


class Watcher:
    def __init__(self, storage, store, settings, emit):
        self.storage = storage
        self.store = store
        self.emit = emit
        self.poll_min = settings["POLL_MIN"]
        self.poll_max = settings["POLL_MAX"]
        self.visibility_timeout = settings["VISIBILITY_TIMEOUT"]
        self.max_dequeue = settings["MAX_DEQUEUE"]
        self.ok = None  # None until the first poll: neither live nor known to be down
        self.last_poll = self.last_ok = self.changed_at = None
        self.last_error = None
        self._last_ok_clock = None
        self._shown = store.shown()  # what screens got on connect; push only on a change
        self._wake = Event()
        self._stopping = Event()
        self._greenlet = None
        self._deleting = None  # a full batch's deletes, running while the next batch is received

    def start(self):
        """Start the one watcher greenlet; it restarts its loop itself if that ever crashes."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._supervise)
        return self._greenlet

    def stop(self, timeout=5.0):
        """Let the batch in hand finish, then end the loop."""
        self._stopping.set()
        self._wake.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout)
            if self._deleting is not None:
                self._deleting.join(timeout)
            # Stuck in a hung request: what it had not deleted comes back after the timeout.
            self._greenlet.kill(block=False)
        if self.store.dirty:
            try:
                self.storage.save_snapshot(self.store.snapshot())
                self.store.dirty = False
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
                self._set_status(False, f"watcher crashed: {describe(exc)}")
                self._wait(RESTART_DELAY)

    def _run(self):
        self._load()
        delay = self.poll_min
        while not self._stopping.is_set():
            try:
                handled = self.poll_once()
            except AzureError as exc:
                self._set_status(False, describe(exc))
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
                self._set_status(False, describe(exc))
                self._wait(self.poll_max)
                continue
            try:
                self.store.restore(snapshot)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.error("ignoring an unreadable snapshot: %s", exc)
            self._publish()
            return

    def _wait(self, seconds):
        self._wake.wait(seconds)
        self._wake.clear()

    def poll_once(self):
        """Receive and handle one batch; return how many messages it held."""
        batch = self.storage.receive(self.visibility_timeout)
        self._join_deletes()
        self._set_status(True, None)
        if batch:
            self._handle(batch)
        return len(batch)

    def _handle(self, batch):
        now = datetime.now(UTC)
        usable = []
        for message in batch:
            if message.dequeue_count > self.max_dequeue:
                reason = f"delivered {message.dequeue_count} times without being applied"
                self.storage.to_poison(message, reason)
                continue
            try:
                parsed = parse(message.content, self.store.catalog.names, now)
            except Rejected as exc:
                self.storage.to_poison(message, str(exc))
                continue
            usable.append((parsed.at or message.inserted_on or now, message, parsed))
        usable.sort(key=lambda item: item[0])  # stable: ties keep the queue's order
        for at, message, parsed in usable:
            self.store.apply(parsed, message.id, at, now)
        self._publish()
        if self.store.dirty:
            self.storage.save_snapshot(self.store.snapshot())
            self.store.dirty = False
        done = [message for _, message, _ in usable]
        if len(batch) >= BATCH:
            # A backlog: delete this batch (its snapshot is saved) while the next one is received.
            self._deleting = gevent.spawn(self.storage.delete, done)
        else:
            self.storage.delete(done)

    def _join_deletes(self):
        """Wait for the previous full batch's deletes; an error there is this poll's error."""
        deleting, self._deleting = self._deleting, None
        if deleting is not None:
            deleting.get()

    def _publish(self):
        """Push the state if what a screen shows changed; a burst thus ends in one push."""
        shown = self.store.shown()
        if shown != self._shown:
            self._shown = shown
            self.emit("state", self.store.payload())

    def _set_status(self, ok, error):
        now = datetime.now(UTC)
        self.last_poll = now
        if ok:
            self.last_ok, self._last_ok_clock = now, monotonic()
        if ok != self.ok:
            self.ok, self.changed_at, self.last_error = ok, now, error
            if ok:
                log.info("queue %s reachable", self.storage.queue_name)
            else:
                log.warning("queue %s unreachable: %s", self.storage.queue_name, error)
            self.emit("status", self.status())
        elif error:
            self.last_error = error

    def healthy(self):
        """The last poll worked and was recent enough (a hung request counts as down)."""
        window = 3 * self.poll_max + 2
        return bool(self.ok) and monotonic() - self._last_ok_clock < window

    def status(self):
        """The ``status`` event and the body of ``/healthz``."""
        return {
            "queue_ok": self.healthy(),
            "since": self.changed_at and isotime(self.changed_at),
            "last_poll": self.last_poll and isotime(self.last_poll),
            "last_ok": self.last_ok and isotime(self.last_ok),
            "last_error": self.last_error,
        }
