"""One poisoned message as people see it: the record the watcher wrote, read back."""

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One poisoned message; ``content`` is the start of the original when ``blob`` holds it."""

    id: str
    poisoned_at: str
    reason: str
    content: str
    blob: str | None
    original_id: str | None  # the id the message had on the main queue
    message: object  # the poison-queue message (if received, its pop receipt deletes it)


def visible(text, limit=80):
    """``text`` on one line, control and other invisible characters escaped, cut at ``limit``."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def entry_of(message):
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


def oldest_first(entry):
    """Sort key: the queue itself only roughly keeps order."""
    return entry.message.inserted_on, entry.poisoned_at
