"""Consuming the queue while this process holds the lease: one batch at a time, fenced.

Each batch is handled as: parse, poison what cannot be used, apply the rest in the queue's order
(see ``ordering``), save the snapshot under the lease, push the new state, and only then delete.
So nothing is pushed or deleted that the snapshot does not hold, and a crash at any point loses
nothing: whatever was not deleted comes back after the visibility timeout. A holder whose lease
was taken (it hung past its period) has its save refused by Azure and stops there.
"""

import logging
import random
from datetime import UTC, datetime

import gevent
from azure.core.exceptions import AzureError, HttpResponseError, ServiceResponseTimeoutError

from ..domain.forecast import admit
from ..domain.messages import Rejected
from ..metrics import (
    DELETE_ERRORS,
    POISONED,
    POLL_DURATION,
    RECEIVE_ERRORS,
    count_handled,
    poison_class,
    start_counting,
)
from ..storage.account import BATCH, describe
from ..storage.lease import refused_for_the_lease

log = logging.getLogger(__name__)

# A receive of at most 32 small messages: a queue that takes longer is down for screens. With the
# SDK's own timeouts and retries a hung endpoint (connections accepted, never answered) kept
# /healthz at 200 for 5 s and screens "live" for ~40 s.
RECEIVE_TIMEOUT = 1.5


class LeaseLost(Exception):
    """The lease is no longer ours: nothing more may be saved, pushed or deleted."""


class Consumer:
    """Receives and handles batches for the watcher; ``lease`` is set for each run of it.
    ``sampler`` (a ``sampler.QueueSampler``, if given) learns what each receive tells."""

    def __init__(self, storage, store, settings, link, publish, sampler=None):
        self.storage = storage
        self.store = store
        self.link = link
        self.publish = publish  # push the state if what screens show changed
        self.sampler = sampler
        self.poll_min = settings["POLL_MIN"]
        self.poll_max = settings["POLL_MAX"]
        self.visibility_timeout = settings["VISIBILITY_TIMEOUT"]
        self.max_dequeue = settings["MAX_DEQUEUE"]
        self.lease = None
        self._saved = None  # the store as the snapshot holds it: what a refused save goes back to
        self._deleting = None  # a full batch's deletes, running while the next batch is received
        self.queue = storage.queue_name
        start_counting(self.queue, store.stores)

    def remember(self):
        """The store now equals the snapshot (just read or saved)."""
        self._saved = self.store.saved()

    def consume(self, stopping, wait):
        """Poll until ``stopping`` is set, backing off while the queue is empty; ``wait(s)``
        sleeps (the watcher's, which a post or a change of lease cuts short). LeaseLost ends it.
        """
        delay = self.poll_min
        while not stopping.is_set():
            try:
                with POLL_DURATION.labels(self.queue).time():
                    handled = self.poll_once()
            except AzureError as exc:
                self.link.polled(describe(exc))
                handled, delay = 0, self.poll_max
            else:
                delay = self.poll_min if handled else min(self.poll_max, delay * 2)
            if handled >= BATCH:
                continue  # a full batch: more are likely waiting (a backlog), so poll at once
            # A little jitter keeps dashboards from polling in lockstep.
            wait(delay * random.uniform(0.95, 1.0) if not handled else delay)

    def poll_once(self):
        """Receive and handle one batch; return how many messages it held."""
        self._check("before a receive")
        if not self.lease.confirmed():  # (found by the chaos run: see Lease.confirmed)
            self.link.polled(self.lease.why)
            return 0
        batch = self._receive()
        if self.sampler is not None:
            self.sampler.received(batch)
        self._join_deletes()
        self.link.polled()
        if batch:
            self._handle(batch)
        elif self.store.dirty:
            self._commit()  # an earlier save failed; its messages were not deleted either
        return len(batch)

    def _check(self, when, left=""):
        if not self.lease.held():
            raise LeaseLost(f"{when} ({self.lease.why or 'it ran out'}){left}")

    def _receive(self):
        # Behind a backlog's deletes (still running, see _handle) a receive may queue up in
        # Azurite; there the link monitor's staleness window is the guard instead.
        timer = gevent.Timeout(RECEIVE_TIMEOUT if self._deleting is None else None)
        try:
            with timer:
                return self.storage.receive(self.visibility_timeout)
        except AzureError:
            RECEIVE_ERRORS.labels(self.queue).inc()
            raise
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            RECEIVE_ERRORS.labels(self.queue).inc()
            raise ServiceResponseTimeoutError(
                f"the queue did not answer within {RECEIVE_TIMEOUT:g} s") from None

    def _handle(self, batch):
        # E.g. a process stopped (SIGSTOP) while it waited: the new holder gets them instead.
        self._check("during a receive", f"; {len(batch)} messages received left to the new holder")
        now = datetime.now(UTC)
        usable = []
        for message in batch:
            try:  # the rule `pillow-web queue peek` and the console forecast with
                parsed = admit(message.content, message.dequeue_count, self.store.states_for,
                               self.max_dequeue)
            except Rejected as exc:
                self._poison(message, str(exc))
                continue
            usable.append((message, parsed))
        # In the queue's order, not sorted: a bare name's insertion time has whole seconds only,
        # so it has no place among times to the microsecond. apply() skips what is older than
        # the current state at the precision both have; the later received wins the rest.
        outcomes = []  # (pillow, "applied", "skipped" or "redelivered", its time), for metrics
        for message, parsed in usable:
            stamp = parsed.stamp(message.inserted_on or now)  # its at, unless far ahead of that
            seen = message.id in self.store.store_for(parsed).applied_ids
            if parsed.at and stamp.at != parsed.at and not seen:
                ahead = (parsed.at - stamp.at).total_seconds()
                log.warning("message %s: at %s is %.0f s ahead of its insertion time; ordered "
                            "by that", message.id, parsed.at.isoformat(), ahead)
            applied = self.store.apply(parsed, message.id, stamp, now)
            outcome = "applied" if applied else "redelivered" if seen else "skipped"
            outcomes.append((parsed.pillow or self.store.first, outcome, stamp.at))
        self._commit()
        count_handled(self.queue, outcomes)  # (not before: a refused save counts nothing)
        if self.sampler is not None:
            self.sampler.handled(outcomes)
        done = [message for message, _ in usable]
        if len(batch) >= BATCH:
            # A backlog: delete this batch (its snapshot is saved) while the next one is received.
            self._deleting = gevent.spawn(self._delete_quietly, done)
        else:
            try:
                self.storage.delete(done)
            except AzureError:
                DELETE_ERRORS.labels(self.queue).inc()
                raise

    def _poison(self, message, reason):
        self.storage.to_poison(message, reason)
        POISONED.labels(self.queue, poison_class(reason)).inc()
        if self.sampler is not None:
            self.sampler.poisoned()

    def _commit(self):
        """Save the snapshot under the lease, then push: screens never see an unsaved state."""
        if self.store.dirty:
            try:
                self.save()
            except HttpResponseError as exc:
                if not refused_for_the_lease(exc):
                    raise
                self._roll_back()
                self.lease.forfeit("Azure refused a snapshot save under it")
                raise LeaseLost("at a snapshot save, which Azure refused; the batch in hand "
                                "was neither pushed nor deleted") from None
        self._check("before a push", "; the batch was saved, not pushed")  # a newer holder
        # may have pushed newer states since: screens must not step back
        self.publish()

    def save(self):
        """Write the store to the snapshot, fenced by the lease id."""
        self.storage.save_snapshot(self.store.snapshot(), lease=self.lease.id)
        self.store.dirty = False
        self.remember()

    def _roll_back(self):
        """Forget what the refused save held: it was neither pushed nor deleted, and the new
        holder applies it from the queue."""
        self.store.reset(self._saved)

    def _delete_quietly(self, messages):
        """Delete in a greenlet of its own, returning the error for ``_join_deletes`` to raise."""
        try:
            self.storage.delete(messages)
        except AzureError as exc:
            DELETE_ERRORS.labels(self.queue).inc()
            return exc
        return None

    def _join_deletes(self):
        """Wait for the previous full batch's deletes; an error there is this poll's error."""
        deleting, self._deleting = self._deleting, None
        error = deleting.get() if deleting is not None else None
        if error is not None:
            raise error

    def finish_deletes(self, timeout=None):
        """Let a full batch's deletes end (its snapshot is saved) before the loop stops."""
        deleting, self._deleting = self._deleting, None
        if deleting is not None:
            deleting.join(timeout)
