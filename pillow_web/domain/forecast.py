"""What the watcher would do with the messages waiting in a queue, told without consuming them.

``admit`` is the watcher's rule for one received message (poison it, or parse it); ``forecast``
runs a whole peeked batch through that rule and the state's ordering on a copy of the queue's
state, in the queue's order, so each message is judged against the states the ones before it
would have made current.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from .messages import Message, Rejected, parse
from .pillows import QueueState

OUTCOMES = ("shows", "older", "redelivered", "poison")


@dataclass(frozen=True)
class Waiting:
    """A message as a peek sees it: ``dequeue_count`` is how often it was delivered so far (the
    watcher's receive makes it one more)."""

    id: str
    content: str
    inserted_on: datetime | None
    dequeue_count: int


@dataclass(frozen=True)
class Forecast:
    """What one waiting message would do: ``outcome`` is one of ``OUTCOMES``; ``pillow``,
    ``state`` and ``text`` (the message's own line, None: the state's) unless it goes to poison,
    ``reason`` (the poison queue's) if it does."""

    outcome: str
    pillow: str | None = None
    state: str | None = None
    text: str | None = None
    reason: str | None = None

    def summary(self):
        """One line for people (the text in it is raw: escape it where it is shown)."""
        if self.outcome == "shows":
            return f'shows {self.state} "{self.text}"' if self.text else f"shows {self.state}"
        if self.outcome == "older":
            return "older than the current state: consumed, not shown"
        if self.outcome == "redelivered":
            return "already applied: deleted, not shown again"
        return f"goes to poison: {self.reason}"


def admit(content, dequeue_count, states_for, max_dequeue) -> Message:
    """The parsed message, or Rejected with the reason it is poisoned with: delivered more than
    ``max_dequeue`` times (``dequeue_count`` as the watcher's receive counts it), or whatever
    ``messages.parse`` refuses against ``states_for`` (``QueueState.states_for``)."""
    if dequeue_count > max_dequeue:
        raise Rejected(f"delivered {dequeue_count} times without being applied")
    return parse(content, states_for)


def forecast(waiting, queue_state, max_dequeue, now=None):
    """``[Forecast]`` of ``waiting`` (``[Waiting]``, in the queue's order) against
    ``queue_state``, which is left as it is: the batch runs on a copy."""
    now = now or datetime.now(UTC)
    state = QueueState(list(queue_state.pillows.values()))
    state.reset(queue_state.saved())
    return [_one(message, state, max_dequeue, now) for message in waiting]


def _one(message, state, max_dequeue, now):
    try:
        parsed = admit(message.content, message.dequeue_count + 1, state.states_for, max_dequeue)
    except Rejected as exc:
        return Forecast("poison", reason=str(exc))
    stamp = parsed.stamp(message.inserted_on or now)  # as the watcher stamps it
    store = state.store_for(parsed)
    outcome = store.outcome(message.id, stamp)
    if outcome == "applies":
        store.apply(parsed, message.id, stamp, now)
        outcome = "shows"
    elif outcome == "older":
        store.applied_ids.append(message.id)  # as apply does: consumed once, then redelivered
    return Forecast(outcome, parsed.pillow or state.first, parsed.state, parsed.text)
