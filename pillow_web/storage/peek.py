"""Peek at the messages waiting in a queue: read them without receiving them.

A peek changes neither a message's visibility nor its dequeue count, so looking never delays
what the watcher applies or brings a message closer to the poison queue.
"""

from azure.core.exceptions import AzureError

from ..domain.forecast import Waiting
from .account import BATCH, StorageUnavailable, describe


def peek(storage, limit=BATCH):
    """Up to ``limit`` (1-32, Azure's most) messages waiting in ``storage``'s queue, in the
    queue's order, as ``Waiting``; StorageUnavailable (one redacted line) if it cannot say."""
    if not 1 <= limit <= BATCH:
        raise ValueError(f"a peek reads 1 to {BATCH} messages, not {limit}")
    try:
        messages = storage.queue.peek_messages(max_messages=limit)
    except AzureError as exc:
        raise StorageUnavailable(describe(exc)) from None
    return [Waiting(message.id, message.content, message.inserted_on, message.dequeue_count)
            for message in messages]
