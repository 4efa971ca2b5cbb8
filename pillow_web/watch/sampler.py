"""A queue's figures: how many messages wait (depth), how old the oldest is, how many were
poisoned. One cache per queue serves the console, ``/metrics``, the warnings and the fleet.

Each storage request counts against an idle dashboard's budget (about one a second), so:

- While this process consumes the queue, its own receives tell the figures for free: an empty
  receive means nothing visible waits; a batch tells the oldest age. The depth is asked only
  while batches come, at most once per ``ASK_EVERY``; the poison count at most once per
  ``POISON_EVERY``, sooner after this process poisons something or ``invalidate_poison_count``.
  Every ``ASK_EVERY`` at most, the figures are a sample of the queue stats.
- A process that does not consume uses the active watcher's figures (its fleet report) while they
  are fresh; else it asks storage when asked: at the first look for every figure, then one
  request per ``ASK_EVERY`` for the queue, in turn: the oldest message (a peek of one, which also
  tells whether anything waits), the depth, the poison count. The oldest message's insertion
  time is kept, so its age keeps growing between two asks.
"""

from datetime import UTC, datetime
from time import monotonic

import gevent

from ..domain.state import isotime
from ..storage.account import StorageUnavailable
from ..storage.peek import peek

ASK_EVERY = 15.0  # seconds between two requests for a queue's figures (the poison count: below)
POISON_EVERY = 60.0  # seconds between two poison counts while nothing changes the poison queue
ASK_TIMEOUT = 2.0  # a request made for a page waits this long at most; then the figure is unknown
FIGURES = ("depth", "oldest_age", "poison_count", "as_of")
TURNS = ("oldest", "depth", "poison_count")  # what a process that does not consume asks, in turn
BELIEVED = ASK_EVERY * len(TURNS)  # how old a figure may be on such a process: one round of turns


def age(inserted_on, now):
    """Seconds since ``inserted_on`` (None: not known), never below 0 (another clock)."""
    return None if inserted_on is None else max(0.0, (now - inserted_on).total_seconds())


def asked(request):
    """``request()``, or None if it takes longer than ``ASK_TIMEOUT``."""
    with gevent.Timeout(ASK_TIMEOUT, False):  # False: give up silently
        return request()
    return None


class SampledFigures:
    """``queue_figures()`` and ``invalidate_poison_count()`` of a watcher with a ``sampler``."""

    def queue_figures(self, ask=True):
        """The queue's ``{"depth", "oldest_age", "poison_count", "as_of"}`` (see ``sampler``):
        from this process's receives while it consumes, else asked sparingly; with ``ask``
        false, only what is known (``/healthz`` must never wait for storage)."""
        return self.sampler.figures(ask)

    def invalidate_poison_count(self):
        self.sampler.invalidate_poison_count()


class QueueSampler:
    """The figures of ``storage``'s queue; ``stats`` (a ``QueueStats``) gets the samples and
    counts while ``consuming()``; ``reported()`` gives the active watcher's figures from
    elsewhere (its fleet report), or None."""

    def __init__(self, storage, stats, consuming, reported=lambda: None):
        self.storage = storage
        self.stats = stats
        self.consuming = consuming
        self.reported = reported
        self.depth = self.oldest_on = self.poison_count = None  # oldest_on: its insertion time
        self.as_of = None  # when what waits was last known (a receive, a depth, a peek)
        self._poison_asked = None  # monotonic time of the last poison count (None: ask next)
        self._poisoned_here = False  # this process poisoned since: count again soon
        self._recount = False  # the console changed the poison queue: count it on next ask
        self._own_count_until = 0.0  # monotonic time until which that count beats a report's
        self._depth_asked = self._sampled = self._asked = None  # monotonic times
        self._backlog_depth = None  # the depth asked since the last empty receive
        self._turn = 0

    def figures(self, ask=True):
        """``{"depth", "oldest_age", "poison_count", "as_of"}`` (None: not known). Only a
        process that does not consume asks storage here, and only with ``ask``: a consumer
        asks in its own loop (``received``)."""
        if self.consuming():
            return self._figures()
        if self._recount and ask:
            self._recount = False
            self._ask_poison_count()
            self._own_count_until = monotonic() + POISON_EVERY
        reported = self.reported()
        if fresh(reported):
            figures = {key: reported.get(key) for key in FIGURES}
            if monotonic() < self._own_count_until:  # newer than the watcher's
                figures["poison_count"] = self.poison_count
            return figures
        if ask:
            self._ask_in_turn()
        return self._figures()

    def _figures(self):
        return {"depth": self.depth, "oldest_age": age(self.oldest_on, datetime.now(UTC)),
                "poison_count": self.poison_count, "as_of": self.as_of and isotime(self.as_of)}

    def invalidate_poison_count(self):
        """The poison queue changed (the console requeued or deleted): count it on next ask."""
        self._poison_asked, self._recount = None, not self.consuming()

    # The consumer's side.

    def received(self, batch):
        """One receive worked and brought ``batch`` (maybe empty)."""
        now, clock = datetime.now(UTC), monotonic()
        if not batch:
            depth, oldest_on, self._backlog_depth = 0, None, None
        else:
            oldest_on = min((message.inserted_on for message in batch if message.inserted_on),
                            default=None)
            if self._depth_asked is None or clock - self._depth_asked >= ASK_EVERY:
                self._depth_asked = clock
                self._backlog_depth = asked(self.storage.depth)
            depth = self._backlog_depth if self._backlog_depth is not None else len(batch)
        self.depth, self.oldest_on, self.as_of = depth, oldest_on, now
        if self._sampled is None or clock - self._sampled >= ASK_EVERY:
            self._sampled = clock
            self.stats.sample(depth, age(oldest_on, now), now)
        if self._poison_due():
            self._ask_poison_count()

    def handled(self, outcomes):
        """The outcomes of one batch, saved and pushed (the consumer's)."""
        self.stats.count(outcomes, datetime.now(UTC))

    def poisoned(self, count=1):
        self.stats.poisoned(count, datetime.now(UTC))
        if self.poison_count is not None:
            self.poison_count += count
        self._poisoned_here = True

    # Asking storage.

    def _poison_due(self):
        if self._poison_asked is None:
            return True
        since = monotonic() - self._poison_asked
        return since >= POISON_EVERY or (self._poisoned_here and since >= ASK_EVERY)

    def _ask_poison_count(self):
        self._poison_asked, self._poisoned_here = monotonic(), False  # first: a call that
        self.poison_count = asked(self.storage.poison_count)  # comes meanwhile asks nothing

    def _ask_in_turn(self):
        clock = monotonic()
        if self._asked is not None and clock - self._asked < ASK_EVERY:
            return
        first, self._asked = self._asked is None, clock
        for turn in TURNS if first else [TURNS[self._turn]]:  # the first look fills them all,
            if not self._ask(turn):  # unless storage does not answer: then one wait at most
                break
        self._turn = 0 if first else (self._turn + 1) % len(TURNS)

    def _ask(self, turn):
        """Ask storage for one figure; whether it answered."""
        if turn == "poison_count":
            self._ask_poison_count()
            return self.poison_count is not None
        if turn == "depth":
            depth = asked(self.storage.depth)
            if depth is not None:
                self.depth, self.as_of = depth, datetime.now(UTC)
                if depth == 0:
                    self.oldest_on = None
            return depth is not None
        return self._peek_oldest()

    def _peek_oldest(self):
        try:
            waiting = asked(lambda: peek(self.storage, 1))
        except StorageUnavailable:
            waiting = None
        if waiting is None:
            return False
        now = datetime.now(UTC)
        self.oldest_on = waiting[0].inserted_on if waiting else None
        if not waiting:
            self.depth = 0
        self.as_of = now
        return True


def fresh(figures):
    """Whether ``figures`` (another process's) tell what waits as of ``ASK_EVERY`` ago or less."""
    try:
        since = datetime.now(UTC) - datetime.fromisoformat(figures["as_of"])
    except (KeyError, TypeError, ValueError):  # none, or not a time with its zone
        return False
    return abs(since.total_seconds()) < ASK_EVERY
