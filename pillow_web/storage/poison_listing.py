"""What the operator console lists of a poison queue, asked of storage as seldom as it can be.

The console asks every few seconds while it is open, and an idle dashboard's storage requests
are budgeted: the list is a peek (nothing hidden, no delivery counted), skipped while the count
says the queue is empty, and reused while the count stays the same, for up to ``FRESH`` s.
"""

from datetime import UTC, datetime
from time import monotonic

from .account import BATCH
from .poison import PoisonQueue

FRESH = 60.0  # seconds a peek (or a count of our own) is reused


class PoisonListing:
    """The first entries of one poison queue (up to 32, oldest first) and how many there are.

    ``known_count`` is the count the watcher keeps (``queue_figures()``), which costs nothing;
    without one this asks storage itself, at most once per ``FRESH`` s. Call ``stale()`` after
    changing the queue, so that the next listing asks again.
    """

    def __init__(self, storage):
        self.queue = PoisonQueue(storage)
        self._peeked = None  # (monotonic time, the count it was taken at, entries, as_of)
        self._counted = None  # (monotonic time, count) of the last count of our own

    def stale(self):
        self._peeked = self._counted = None

    def listing(self, known_count=None):
        """``(count, entries, as_of)``; storage errors come out as they are (see
        ``poison.as_unavailable``). ``as_of`` is when the entries were peeked (ISO)."""
        count, now = self._count(known_count), monotonic()
        if count == 0:
            return 0, [], datetime.now(UTC).isoformat()
        if self._peeked is None or self._peeked[1] != count or now - self._peeked[0] > FRESH:
            self._peeked = (now, count, self.queue.peek(BATCH), datetime.now(UTC).isoformat())
        entries, as_of = self._peeked[2], self._peeked[3]
        # A peek that did not fill a batch saw them all: closer than an approximate count.
        return (len(entries) if len(entries) < BATCH else max(count, BATCH)), entries, as_of

    def _count(self, known_count):
        if known_count is not None:
            return known_count
        if self._counted is None or monotonic() - self._counted[0] > FRESH:
            self._counted = (monotonic(), self.queue.count())
        return self._counted[1]
