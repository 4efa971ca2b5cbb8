"""Numbered messages for the failover benchmark: a steady sender of ``#1``, ``#2``, ... and a
poller that collects every id the snapshot names, each a thread on a fixed schedule."""

import threading
import time
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import AzureError

from pillow_web.domain.messages import compose
from pillow_web.storage.account import UNCHANGED, Storage, StorageUnavailable

CONTAINER = "pillow-web"  # config/default.toml; the snapshot is <container>/<queue>/snapshot.json
RATE = 10.0  # messages per second, the whole run
NAMES = ("HUGGING", "PUNCHING", "SHAKING", "SPINNING", "THROWING")


def number(payload):
    text = (payload or {}).get("text") or ""
    return int(text[1:]) if text.startswith("#") else 0


class Loop(threading.Thread):
    """A daemon thread running ``step()`` every ``every`` s, on a fixed schedule, until closed."""

    def __init__(self, every):
        super().__init__(daemon=True)
        self.every, self.stopping = every, threading.Event()

    def run(self):
        due = time.monotonic()
        while not self.stopping.wait(max(0.0, due - time.monotonic())):
            due += self.every
            self.step()

    def close(self):
        self.stopping.set()
        if self.is_alive():
            self.join(10)


class Sender(Loop):
    """``#1``, ``#2``, ... at ``RATE``/s, ``at`` i ms after the first; ``sent``: (id, i, time)."""

    def __init__(self, connection_string, queue):
        super().__init__(1 / RATE)
        self.storage, self.sent, self.failed = Storage(connection_string, queue, CONTAINER), [], 0
        self.first, self.i = datetime.now(UTC), 0

    def step(self):
        self.i += 1
        at = (self.first + timedelta(milliseconds=self.i)).isoformat()
        try:
            message = self.storage.send(compose(NAMES[self.i % len(NAMES)], f"#{self.i}", at))
            self.sent.append((message.id, self.i, time.time()))
        except StorageUnavailable:
            self.failed += 1


class SnapshotPoller(Loop):
    """Every id a snapshot named; ``gaps``: reads that may have missed some (> 256 between)."""

    def __init__(self, connection_string, queue):
        super().__init__(0.2)
        self.storage = Storage(connection_string, queue, CONTAINER)
        self.etag, self.last, self.current, self.snapshot = None, None, 0, None
        self.applied, self.reads, self.gaps, self.errors = set(), 0, 0, 0

    def step(self):
        try:
            snapshot, etag = self.storage.load_snapshot_if_changed(self.etag)
        except AzureError:
            self.errors += 1
            return
        if snapshot is UNCHANGED or snapshot is None:
            return
        ids = snapshot.get("applied_ids", [])
        self.etag, self.reads, self.snapshot = etag, self.reads + 1, snapshot
        self.gaps += self.last is not None and self.last not in ids
        self.applied.update(ids)
        self.last, self.current = (ids[-1] if ids else None), number(snapshot["current"])
