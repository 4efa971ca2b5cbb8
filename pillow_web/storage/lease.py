"""One consumer per queue: an Azure blob lease on the queue's snapshot blob elects it.

This is how Azure's own queue and event processors coordinate. Whoever holds the lease consumes
the queue; the others stand by and try again. Two guards keep a holder from ever overlapping with
the next one:

* Time. The lease period starts when Azure handles the request, which is after we sent it, so a
  holder that counts its period from the moment it *sent* the acquire or renew, less a margin,
  always believes it has lost the lease before Azure frees it. ``held()`` is that local clock, and
  the watcher consumes only while it is true.
* Fencing. The lease is on the snapshot blob itself and every snapshot write carries the lease id,
  so a holder that hung past its period (a stopped process, a stalled VM) has its next write
  refused by Azure. The watcher deletes a batch only after its snapshot is written.
"""

import logging
from time import monotonic

import gevent
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceResponseTimeoutError,
)
from azure.storage.blob import BlobLeaseClient

from .account import describe, error_code

log = logging.getLogger(__name__)

DURATION = 15  # seconds, Azure's shortest lease: a SIGKILLed holder is replaced soonest
MARGIN = 3  # seconds before the end of the period at which a holder that could not renew stops
RENEW_EVERY = 4  # seconds: two renewals may fail (or hang) before the margin is reached
# A lease call that hangs is given up and tried again (after ``retry``), rather than waited out
# for the SDK's timeouts and retries (~30 s), so that a hung renewal is retried within the period.
CALL_TIMEOUT = 2.5
TAKEN = {"LeaseAlreadyPresent"}
LOST = {"LeaseIdMismatchWithLeaseOperation", "LeaseNotPresentWithLeaseOperation", "LeaseLost",
        "LeaseIdMismatchWithBlobOperation", "LeaseNotPresentWithBlobOperation"}


def refused_for_the_lease(exc):
    """Whether a write was refused because the lease is not (or no longer) the caller's."""
    code = error_code(exc) or ""
    return code in LOST or (getattr(exc, "status_code", None) == 412 and code.startswith("Lease"))


class Lease:
    """The lease on ``blob`` (an SDK BlobClient), with a local deadline for ``held()``."""

    def __init__(self, blob, duration=DURATION, margin=MARGIN):
        self.blob = blob
        self.duration, self.margin = duration, margin
        self._client = BlobLeaseClient(blob)  # a random lease id, proposed on every acquire
        self._until = 0.0
        self.why = None  # why the lease is not held (one line for the log), once it was tried
        self._failing = False  # a call failed since the last success: said once, not per retry

    @property
    def id(self):
        return self._client.id

    def held(self):
        """Whether this process may consume: the lease is ours for at least ``margin`` more s."""
        return monotonic() < self._until

    def confirmed(self):
        """Whether the last lease call worked. After one failed, storage may have lost the lease
        meanwhile and given it to another (Azurite forgets leases when it restarts): the holder
        consumes again once a renewal says the lease is still its own, or learns it is not."""
        return not self._failing

    def acquire(self):
        """Try once to take the lease; True if it is ours now (also if it already was)."""
        try:
            return self._acquire_once()
        except ResourceNotFoundError:
            pass  # no blob yet (a queue never consumed): a lease needs a blob to hold
        try:
            self.blob.upload_blob(b"", overwrite=False)
        except ResourceExistsError:
            pass
        return self._acquire_once()

    def _acquire_once(self):
        sent = monotonic()
        try:
            self._client.acquire(lease_duration=self.duration)
        except HttpResponseError as exc:
            if exc.error_code in TAKEN:
                self.why = "another process holds the lease"
                return False
            raise
        return self._held_from(sent)

    def renew(self):
        """Extend the period; False if the lease was lost, the storage error if Azure failed."""
        sent = monotonic()
        try:
            self._client.renew()
        except HttpResponseError as exc:
            if exc.error_code in LOST or exc.status_code == 409:
                self.forfeit("the lease was taken by another process")
                return False
            raise
        return self._held_from(sent)

    def _held_from(self, sent):
        """Ours until the period, counted from when the request was *sent*, less the margin."""
        self._until = sent + self.duration - self.margin
        self.why = None
        return True

    def forfeit(self, why):
        """Count the lease as lost now: taken, released, or a write under it refused by Azure."""
        self._until = 0.0
        self.why = why

    def release(self):
        """Give the lease up at once so a standby takes over without waiting for it to expire."""
        if not self.held():
            return
        self.forfeit("the lease was released")
        try:
            self._client.release()
        except AzureError as exc:  # it expires by itself within the period
            log.warning("could not release the lease on %s: %s", self.blob.blob_name,
                        describe(exc))

    def keep(self, stopping, retry=1.0, changed=None):
        """Hold the lease until ``stopping`` is set: renew while held, else try to take it.

        ``changed(held)`` is called after the first try and whenever holding starts or ends.
        Runs in its own greenlet.
        """
        was = None
        while not stopping.is_set():
            renewing = self.held()
            try:
                with gevent.Timeout(CALL_TIMEOUT, ServiceResponseTimeoutError(
                        f"no answer within {CALL_TIMEOUT:g} s")):
                    now_held = self.renew() if renewing else self.acquire()
            except AzureError as exc:
                self._failed(exc, renewing)
                now_held = self.held()  # a failed renewal keeps what time is left, no more
            else:
                self._failing = False
            if now_held != was and changed is not None:
                changed(now_held)
            was = now_held
            # Wake a little before the margin would end it, even if a renewal is slow; after a
            # failed renewal try again soon, not RENEW_EVERY later.
            wait = RENEW_EVERY if now_held and not self._failing else retry
            if now_held:
                wait = max(0.1, min(wait, self._until - monotonic() - 0.5))
            stopping.wait(wait)
        if was and changed is not None:
            changed(False)

    def _failed(self, exc, renewing):
        line = describe(exc)
        self.why = f"the lease could not be {'renewed' if renewing else 'taken'}: {line}"
        # Said once per outage: the watcher's link reports the outage itself.
        log.log(logging.DEBUG if self._failing else logging.INFO, "lease on %s: %s",
                self.blob.blob_name, line)
        self._failing = True
