"""A day kept in a blob beside the snapshot (the timeline, the queue stats), and when to read and
write it.

The active watcher writes its day (``writing()``) when ``due``, and on a clean stop; it reads the
blob when it takes the queue over, so the day survives a restart. Every other process (a standby,
a web worker) reads the blob every ``every()`` seconds with the etag of its last read: unchanged,
that is one small request. A blob that cannot be used is logged once and replaced by the next
write.
"""

import json
import logging
from datetime import UTC, datetime

import gevent
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
)

from .account import UNCHANGED, describe


def day_blob_name(storage, kind):
    """``<queue>/snapshot.<kind>.json``: beside the snapshot blob, under no lease."""
    return storage.snapshot_blob.blob_name.removesuffix(".json") + f".{kind}.json"


class DayBlob:
    """Reads (conditionally, by etag) and writes one queue's blob of ``kind``; ``read(data,
    now)`` turns what it holds into the day, raising ``bad`` (a ValueError) if it cannot."""

    def __init__(self, storage, kind, read, bad):
        self.blob = storage.container.get_blob_client(day_blob_name(storage, kind))
        self.read, self.bad = read, bad
        self.etag = None  # of the last version read or written

    def load_if_changed(self, now):
        """The stored day, None if there is none, UNCHANGED if it still has the etag of the
        last read or write; ``bad`` (the etag noted) if it is unusable."""
        options = ({"etag": self.etag, "match_condition": MatchConditions.IfModified}
                   if self.etag else {})
        try:
            download = self.blob.download_blob(**options)
            data = download.readall()
        except ResourceNotFoundError:
            self.etag = None
            return None
        except (ResourceNotModifiedError, ResourceModifiedError):  # Azure: 304; Azurite: 412
            return UNCHANGED
        self.etag = download.properties.etag
        try:
            return self.read(json.loads(data), now)
        except ValueError as exc:  # not JSON (UnicodeDecodeError too), or unusable
            raise self.bad(str(exc)) from None

    def save(self, data):
        written = self.blob.upload_blob(json.dumps(data, ensure_ascii=False).encode(),
                                        overwrite=True)
        self.etag = written.get("etag")


class DayKeeper:
    """One queue's day, ``kept`` in step with its ``DayBlob``.

    A subclass says what it keeps (``what``, for the log, and its module's ``log``), how often
    it reads or writes (``every()``), and when a save is due (``due``); ``writing()`` says
    whether this process writes the blob (the active watcher) or only reads it.
    """

    what = "day"
    log = logging.getLogger(__name__)

    def __init__(self, kept, blob, writing=lambda: False):
        self.kept = kept
        self.blob = blob
        self.writing = writing
        self.loaded = False  # whether the blob was read: a writer never writes before that
        self._refused = None  # the etag of a blob found unusable: logged once, not per read
        self._greenlet = None

    def every(self):
        """Seconds between two reads (or, writing, tries to save)."""
        raise NotImplementedError

    def due(self, final=False):
        """Whether ``kept`` holds something worth a write now (``final``: on a clean stop)."""
        return self.kept.dirty

    def start(self, stopping):
        """Read now, then every ``every()`` s read (or, writing, save) until ``stopping``."""
        self.stop()
        self._greenlet = gevent.spawn(self._keep, stopping)

    def stop(self):
        """End ``start``'s greenlet (the watcher saves what changed on a clean stop)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)  # it may be in a hung request
            self._greenlet = None

    def _keep(self, stopping):
        while True:
            if not self.writing() or not self.loaded:
                self.load()
            if self.writing():
                self.save()
            if stopping.wait(self.every()):
                return

    def load(self):
        """Read the blob if it changed and adopt it; True unless storage failed (then the next
        try reads it)."""
        now = datetime.now(UTC)
        try:
            stored = self.blob.load_if_changed(now)
        except self.blob.bad as exc:
            if self.blob.etag != self._refused:
                self.log.error("ignoring an unreadable %s %s: %s", self.what,
                               self.blob.blob.blob_name, exc)
                self._refused = self.blob.etag
            self.loaded = True  # the next save replaces it
            return True
        except AzureError as exc:
            # (debug: the watcher's link logs the outage itself, once)
            self.log.debug("could not read the %s: %s", self.what, describe(exc))
            return False
        if stored is not UNCHANGED:
            self.adopt(stored, now)
        self.loaded = True
        return True

    def adopt(self, stored, now):
        """Take ``stored`` (None: no blob yet) as the truth, keeping what is newer here."""
        raise NotImplementedError

    def save(self, final=False):
        """Write the day if a write is ``due`` (and the blob was read: else the day stored
        would be lost)."""
        if not (self.loaded and self.due(final)):
            return
        data, undo = self.saving()
        try:
            self.blob.save(data)
        except AzureError as exc:
            undo()
            self.log.warning("could not save the %s: %s", self.what, describe(exc))
        else:
            self.saved()

    def saving(self):
        """``(what to write, how to take it back if the write fails)``; the kept day is clean
        from now on (what is recorded during the write is not)."""
        raise NotImplementedError

    def saved(self):
        """A write worked."""
