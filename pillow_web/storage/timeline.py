"""The day of states (``domain.timeline``) in a blob beside the snapshot, and when to read and
write it.

The active watcher writes it at most once every ``EVERY`` seconds, and only when it changed, and
on a clean stop; it reads it when it takes the queue over, so the day survives a restart. Every
other process (a standby, a web worker) records the changes it finds in the snapshot and reads the
blob every ``EVERY`` seconds with the etag of its last read: unchanged, that is one small request,
so an idle dashboard makes at most 1/60 of a request a second more per queue.
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

from ..domain.timeline import BadTimeline, Timelines
from .account import UNCHANGED, describe

log = logging.getLogger(__name__)

EVERY = 60.0  # seconds between a process's reads or writes of the timeline blob


def timeline_blob_name(storage):
    """``<queue>/snapshot.timeline.json``: beside the snapshot blob, under no lease."""
    return storage.snapshot_blob.blob_name.removesuffix(".json") + ".timeline.json"


class TimelineBlob:
    """Reads (conditionally, by etag) and writes one queue's timeline blob."""

    def __init__(self, storage):
        self.blob = storage.container.get_blob_client(timeline_blob_name(storage))
        self.etag = None  # of the last version read or written

    def load_if_changed(self, now):
        """``{pillow: PillowTimeline}``, None if there is none, UNCHANGED if it still has the
        etag of the last read or write; BadTimeline (with ``etag``) if it is unusable."""
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
            return Timelines.from_dict(json.loads(data), now)
        except ValueError as exc:  # not JSON (UnicodeDecodeError too), or a BadTimeline
            raise BadTimeline(str(exc)) from None

    def save(self, data):
        written = self.blob.upload_blob(json.dumps(data, ensure_ascii=False).encode(),
                                        overwrite=True)
        self.etag = written.get("etag")


class TimelineKeeper:
    """One queue's ``Timelines``, kept in step with its blob.

    ``record(payload)`` notes a ``state`` event shown; ``writing()`` says whether this process
    writes the blob (the active watcher) or only reads it.
    """

    def __init__(self, storage, pillows, writing=lambda: False):
        self.timelines = Timelines(pillows)
        self.blob = TimelineBlob(storage)
        self.writing = writing
        self.loaded = False  # whether the blob was read: a writer never writes before that
        self._refused = None  # the etag of a blob found unusable: logged once, not per read
        self._greenlet = None

    def record(self, payload):
        """Note that the screens of ``payload["pillow"]`` show this ``state`` event, since the
        watcher applied it (``received_at``; the initial state: now)."""
        now = datetime.now(UTC)
        try:
            at = datetime.fromisoformat(payload["received_at"]).astimezone(UTC)
        except (KeyError, TypeError, ValueError):
            at = now
        self.timelines.record(payload["pillow"], payload["state"], payload["text"] or "", at,
                              now)

    def spans(self, pillow, hours=24, now=None):
        return self.timelines.spans(pillow, now or datetime.now(UTC), hours)

    def start(self, stopping):
        """Read now, then every ``EVERY`` s read (or, writing, save) until ``stopping`` is set."""
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
            if stopping.wait(EVERY):
                return

    def load(self):
        """Read the blob if it changed and take it as the truth up to its last change; True
        unless storage failed (then the next try reads it)."""
        now = datetime.now(UTC)
        try:
            stored = self.blob.load_if_changed(now)
        except BadTimeline as exc:
            if self.blob.etag != self._refused:
                log.error("ignoring an unreadable timeline %s: %s", self.blob.blob.blob_name, exc)
                self._refused = self.blob.etag
            self.loaded = True  # the next save replaces it
            return True
        except AzureError as exc:
            # (debug: the watcher's link logs the outage itself, once)
            log.debug("could not read the timeline: %s", describe(exc))
            return False
        if stored is not UNCHANGED:
            self.timelines.adopt(stored or {}, now)
        self.loaded = True
        return True

    def save(self):
        """Write the timelines if they changed since they were read or written (and they were
        read: else the day stored would be lost)."""
        if not (self.loaded and self.timelines.dirty):
            return
        self.timelines.dirty = False
        try:
            self.blob.save(self.timelines.to_dict())
        except AzureError as exc:
            self.timelines.dirty = True
            log.warning("could not save the timeline: %s", describe(exc))
