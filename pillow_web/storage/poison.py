"""The poison queue for people: see what the watcher could not use, send it back, or drop it.

Each operation first claims the entries (receives them, hidden for ``HIDE`` s) because only a
received message can be deleted; whatever it did not consume is made visible again at once. A
requeue deletes an entry only after its original is back on the main queue, so a failure in
between leaves at worst a duplicate, never a loss.
"""

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from azure.core.exceptions import AzureError, ResourceNotFoundError

log = logging.getLogger(__name__)

HIDE = 60  # seconds a claimed entry stays hidden should this process die before releasing it


@dataclass(frozen=True)
class Entry:
    """One poisoned message; ``content`` is the start of the original when ``blob`` holds it."""

    id: str
    poisoned_at: str
    reason: str
    content: str
    blob: str | None
    original_id: str | None  # the id the message had on the main queue
    message: object  # the received poison-queue message (its pop receipt deletes it)


def visible(text, limit=80):
    """``text`` on one line, control and other invisible characters escaped, cut at ``limit``."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def _entry(message):
    """Read a poison record; anything else found in the queue is shown and requeued as it is."""
    try:
        record = json.loads(message.content)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("content"), str):
        record = {"reason": "not a poison record", "content": message.content}
    blob, original_id = record.get("content_blob"), record.get("message_id")
    return Entry(message.id, str(record.get("poisoned_at") or message.inserted_on or ""),
                 str(record.get("reason", "")), record["content"],
                 blob if isinstance(blob, str) else None,
                 original_id if isinstance(original_id, str) else None, message)


class PoisonQueue:
    def __init__(self, storage):
        self.storage = storage
        self.queue = storage.poison

    def count(self):
        return self.queue.get_queue_properties().approximate_message_count

    @contextmanager
    def claimed(self, limit=None):
        """Yield up to ``limit`` entries (all if None) and a set to add the ids consumed to."""
        received = self.queue.receive_messages(
            messages_per_page=min(32, limit or 32), max_messages=limit, visibility_timeout=HIDE)
        entries = {}
        for message in received:
            entries.setdefault(message.id, _entry(message))
        consumed = set()
        try:
            yield list(entries.values()), consumed
        finally:
            for entry in entries.values():
                if entry.id not in consumed:
                    try:
                        self.queue.update_message(entry.message, visibility_timeout=0)
                    except AzureError as exc:  # it comes back by itself after HIDE seconds
                        log.warning("could not release poisoned message %s: %s", entry.id, exc)

    def entries(self, limit=None):
        """Up to ``limit`` entries, oldest first (the queue itself only roughly keeps order)."""
        with self.claimed(limit) as (entries, _):
            return sorted(entries, key=lambda entry: (entry.message.inserted_on, entry.poisoned_at))

    def find(self, entry_id):
        """The entry whose id, or whose original message's id, is ``entry_id``; None if none."""
        with self.claimed() as (entries, _):
            return next((entry for entry in entries if entry_id in (entry.id, entry.original_id)),
                        None)

    def original(self, entry):
        """The full original content, read from its blob if it was too big to keep inline."""
        if not entry.blob:
            return entry.content
        data = self.storage.container.get_blob_client(entry.blob).download_blob().readall()
        return data.decode("utf-8")

    def requeue(self, ids=None):
        """Send the originals of ``ids`` (every entry if None) back to the main queue.

        Returns the ids requeued; ids may be a poison entry's id or the original message's id.
        """
        done = []
        with self.claimed() as (entries, consumed):
            for entry in entries:
                if ids is not None and entry.id not in ids and entry.original_id not in ids:
                    continue
                self.storage.send(self.original(entry))
                self._delete(entry)
                consumed.add(entry.id)
                done.append(entry.id)
        return done

    def purge(self):
        """Delete every entry and its kept content; return how many."""
        with self.claimed() as (entries, consumed):
            for entry in entries:
                self._delete(entry)
                consumed.add(entry.id)
        return len(consumed)

    def _delete(self, entry):
        self.queue.delete_message(entry.message)
        if entry.blob:
            try:
                self.storage.container.delete_blob(entry.blob)
            except ResourceNotFoundError:
                pass
        log.info("removed poisoned message %s", entry.id)
