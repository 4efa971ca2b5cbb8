"""Follow the state that another process consumes: read the snapshot blob whenever it changed.

A process that does not consume the queue (a standby watcher waiting for the lease, a web worker)
still has to show the right state to the screens it serves, including after it started late or
lost Redis for a while. The consuming watcher writes the snapshot before it pushes a change, so
the snapshot is never behind what a screen was shown. Reading it with the etag of the last read
costs one small conditional request when nothing changed.
"""

import logging

from azure.core.exceptions import AzureError

from ..domain.state import BadSnapshot
from ..storage.account import UNCHANGED, describe

log = logging.getLogger(__name__)


class SnapshotFollower:
    """Keeps ``store`` equal to the latest snapshot and calls ``changed()`` when it changed.

    ``refresh()`` is one conditional read: True if the store changed, False if not; a storage
    error is raised for the caller's health to record (``describe`` makes it one line).
    """

    def __init__(self, storage, store, changed):
        self.storage = storage
        self.store = store
        self.changed = changed
        self._etag = None
        self._refused = None  # the etag of a snapshot found unusable: said once, not per read

    def refresh(self):
        try:
            snapshot, etag = self.storage.load_snapshot_if_changed(self._etag)
            if snapshot is UNCHANGED:
                return False
            self._etag = etag
            if snapshot is None:
                return False
            self.store.restore(snapshot)
        except BadSnapshot as exc:  # not JSON, or not a snapshot: ignored until rewritten
            self._etag = getattr(exc, "etag", self._etag)
            if self._etag != self._refused:
                log.error("ignoring an unreadable snapshot: %s", exc)
                self._refused = self._etag
            return False
        self.changed()
        return True

    def forget(self):
        """Read the snapshot whole next time (e.g. before taking over the queue)."""
        self._etag = None

    def follow(self, stopping, every, polled=None):
        """Refresh every ``every`` s until ``stopping`` is set; ``polled(error)`` after each."""
        while not stopping.is_set():
            try:
                self.refresh()
            except AzureError as exc:
                if polled is not None:
                    polled(describe(exc))
            else:
                if polled is not None:
                    polled(None)
            stopping.wait(every)
