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

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobLeaseClient

from .account import describe

log = logging.getLogger(__name__)

DURATION = 15  # seconds, Azure's shortest lease: a SIGKILLed holder is replaced soonest
MARGIN = 3  # seconds before the end of the period at which a holder that could not renew stops
RENEW_EVERY = 4  # seconds: two renewals may fail (or hang) before the margin is reached
TAKEN = {"LeaseAlreadyPresent"}
LOST = {"LeaseIdMismatchWithLeaseOperation", "LeaseNotPresentWithLeaseOperation", "LeaseLost",
        "LeaseIdMismatchWithBlobOperation", "LeaseNotPresentWithBlobOperation"}


class Lease:
    """The lease on ``blob`` (an SDK BlobClient), with a local deadline for ``held()``."""

    def __init__(self, blob, duration=DURATION, margin=MARGIN):
        self.blob = blob
        self.duration, self.margin = duration, margin
        self._client = BlobLeaseClient(blob)  # a random lease id, proposed on every acquire
        self._until = 0.0

    @property
    def id(self):
        return self._client.id

    def held(self):
        """Whether this process may consume: the lease is ours for at least ``margin`` more s."""
        return monotonic() < self._until

    def acquire(self):
        """Try once to take the lease; True if it is ours now (also if it already was)."""
        try:
            self.blob.upload_blob(b"", overwrite=False)  # a lease needs a blob to hold
        except ResourceExistsError:
            pass
        sent = monotonic()
        try:
            self._client.acquire(lease_duration=self.duration)
        except HttpResponseError as exc:
            if exc.error_code in TAKEN:
                return False
            raise
        self._until = sent + self.duration - self.margin
        return True

    def renew(self):
        """Extend the period; False if the lease was lost, the storage error if Azure failed."""
        sent = monotonic()
        try:
            self._client.renew()
        except HttpResponseError as exc:
            if exc.error_code in LOST or exc.status_code == 409:
                self._until = 0.0
                return False
            raise
        self._until = sent + self.duration - self.margin
        return True

    def release(self):
        """Give the lease up at once so a standby takes over without waiting for it to expire."""
        if not self.held():
            return
        self._until = 0.0
        try:
            self._client.release()
        except AzureError as exc:  # it expires by itself within the period
            log.warning("could not release the lease on %s: %s", self.blob.blob_name,
                        describe(exc))

    def keep(self, stopping, retry=1.0, changed=None):
        """Hold the lease until ``stopping`` is set: renew while held, else try to take it.

        ``changed(held)`` is called whenever holding starts or ends. Runs in its own greenlet.
        """
        was = False
        while not stopping.is_set():
            try:
                now_held = self.renew() if self.held() else self.acquire()
            except AzureError as exc:
                log.info("lease on %s: %s", self.blob.blob_name, describe(exc))
                now_held = self.held()  # a failed renewal keeps what time is left, no more
            if now_held != was and changed is not None:
                changed(now_held)
            was = now_held
            # Wake a little before the margin would end it, even if a renewal is slow.
            wait = RENEW_EVERY if now_held else retry
            if now_held:
                wait = max(0.1, min(wait, self._until - monotonic() - 0.5))
            stopping.wait(wait)
        if was and changed is not None:
            changed(False)
