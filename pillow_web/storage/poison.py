"""The poison queue for people: see what the watcher could not use, send it back, or drop it.

Each operation first claims the entries (receives them, hidden for ``HIDE`` s) because only a
received message can be deleted; whatever it did not consume is made visible again at once. A
requeue deletes an entry only after its original is back on the main queue, so a failure in
between leaves at worst a duplicate, never a loss. Requeueing or purging them all goes batch by
batch (see ``PoisonQueue.drain``), however many there are. Only ``peek`` looks without claiming,
for a page that asks every few seconds. Web views call it all inside ``as_unavailable``.
"""

import logging
from contextlib import contextmanager
from time import monotonic

from azure.core.exceptions import AzureError, ResourceNotFoundError

from .account import BATCH, StorageUnavailable, describe
from .poison_entry import Entry, entry_of, oldest_first, visible

__all__ = ["HIDE", "Entry", "PoisonQueue", "as_unavailable", "visible"]

log = logging.getLogger(__name__)

HIDE = 60  # seconds a claimed entry stays hidden should this process die before releasing it


@contextmanager
def as_unavailable():
    """A storage error inside comes out as StorageUnavailable (one redacted line), for callers
    that must not know the SDK's exceptions: the web views."""
    try:
        yield
    except AzureError as exc:
        raise StorageUnavailable(describe(exc)) from None


class PoisonQueue:
    def __init__(self, storage):
        self.storage = storage
        self.queue = storage.poison

    def count(self):
        return self.queue.get_queue_properties().approximate_message_count

    def peek(self, limit=BATCH):
        """Up to ``limit`` (at most 32) entries, oldest first, without claiming them: none is
        hidden and no delivery is counted. They cannot be deleted (no pop receipt)."""
        peeked = self.queue.peek_messages(max_messages=min(limit, BATCH))
        return sorted((entry_of(message) for message in peeked), key=oldest_first)

    @contextmanager
    def claimed(self, limit=None, wanted=()):
        """Yield up to ``limit`` entries (all if None) and a set to add the ids consumed to.

        With ``wanted`` (entry or original ids) it stops receiving after the batch that brought
        the last of them: the rest of the queue is not claimed for nothing.
        """
        received = self.queue.receive_messages(
            messages_per_page=min(BATCH, limit or BATCH), max_messages=limit,
            visibility_timeout=HIDE)
        with self._held(received.by_page(), wanted) as held:
            yield held

    @contextmanager
    def _claimed_batch(self, size):
        """As ``claimed``, in one receive of at most ``size`` (≤ 32) entries."""
        pages = self.queue.receive_messages(messages_per_page=size,
                                            visibility_timeout=HIDE).by_page()
        with self._held([next(pages, [])]) as held:
            yield held

    @contextmanager
    def _held(self, pages, wanted=()):
        entries, missing = {}, set(wanted)
        for page in pages:  # a page's messages are all claimed: each is kept, to be released
            came_back = False
            for message in page:
                # Its hold ran out: every entry was seen already.
                came_back = came_back or message.id in entries
                entry = entries[message.id] = entry_of(message)  # the newest pop receipt is valid
                missing -= {entry.id, entry.original_id}
            if came_back or (wanted and not missing):
                break
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
            return sorted(entries, key=oldest_first)

    def find(self, entry_id):
        """The entry whose id, or whose original message's id, is ``entry_id``; None if none."""
        with self.claimed(wanted={entry_id}) as (entries, _):
            return next((entry for entry in entries if entry_id in (entry.id, entry.original_id)),
                        None)

    def original(self, entry):
        """The full original content, read from its blob if it was too big to keep inline."""
        if not entry.blob:
            return entry.content
        data = self.storage.container.get_blob_client(entry.blob).download_blob().readall()
        return data.decode("utf-8")

    def requeue(self, ids):
        """Send the originals of ``ids`` back to the main queue; return the ids requeued.

        ``ids`` may hold poison entries' ids or the original messages' ids.
        """
        return self._each_of(ids, self._requeue_one)

    def delete(self, ids):
        """Delete the entries ``ids`` (as for ``requeue``) and their kept content; return the
        ids deleted."""
        return self._each_of(ids, self._delete)

    def _each_of(self, ids, act):
        done = []
        with self.claimed(wanted=ids) as (entries, consumed):
            for entry in entries:
                if entry.id in ids or entry.original_id in ids:
                    act(entry)
                    consumed.add(entry.id)
                    done.append(entry.id)
        return done

    def requeue_all(self, limit=None, on_done=None, stopping=None):
        """Send every entry's original back to the main queue (see ``drain``); return how many."""
        return self.drain(self._requeue_one, limit, on_done, stopping)

    def purge(self, limit=None, on_done=None, stopping=None):
        """Delete every entry and its kept content (see ``drain``); return how many."""
        return self.drain(self._delete, limit, on_done, stopping)

    def drain(self, act, limit=None, on_done=None, stopping=None):
        """Apply ``act`` to the entries, one batch of at most 32 at a time; return how many.

        It stops when a receive brings no entry it has not handled yet (the queue is empty, or
        only entries this run handled came back), after ``limit`` entries (give the count at
        the start: Azure's approximate count is never below the real one, so that bounds the
        entries there were then), or between batches once ``stopping()`` is true.
        ``on_done()`` is called after each entry; an error stops it, raised as it came, and
        the entries of the batch not done are released.

        Nothing is handled twice in one run: an entry handled is deleted, so it cannot be
        received again, and should one come back all the same it is skipped; entries not
        reached are released and simply come in a later batch. The limit keeps a run finite
        when entries keep arriving, e.g. a live watcher poisoning again what was requeued. A
        batch is given up (its rest released) once it has been held HIDE / 2 s, so no entry is
        acted on after its hold could have run out and another reader received it.
        """
        done, handled = 0, set()
        while (limit is None or done < limit) and not (stopping and stopping()):
            size = BATCH if limit is None else min(BATCH, limit - done)
            with self._claimed_batch(size) as (entries, consumed):
                fresh = [entry for entry in entries if entry.id not in handled]
                if not fresh:
                    break
                held_since = monotonic()
                for entry in fresh:
                    if monotonic() - held_since > HIDE / 2:
                        break
                    handled.add(entry.id)
                    act(entry)
                    consumed.add(entry.id)
                    done += 1
                    if on_done:
                        on_done()
        return done

    def _requeue_one(self, entry):
        self.storage.send(self.original(entry))
        self._delete(entry)

    def _delete(self, entry):
        self.queue.delete_message(entry.message)
        if entry.blob:
            try:
                self.storage.container.delete_blob(entry.blob)
            except ResourceNotFoundError:
                pass
        log.debug("removed poisoned message %s", entry.id)
