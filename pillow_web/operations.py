"""What an operator can do, one function each, shared by the write API, the console and the CLI.

A state is checked exactly as the watcher will check it, normalised (stripped, upper case) and
queued like the pillow's own messages, so there is one queue and one history. ``refusal`` maps
every error these raise to one status and one sentence; each front end only formats it.
"""

from dataclasses import dataclass

from .messages import Rejected, compose, parse
from .storage import StorageUnavailable


@dataclass(frozen=True)
class Queued:
    """A state on its way: the queue message's id and the state it names."""

    id: str
    state: str


def message_for(state, catalog, text=None, at=None):
    """The queue text for ``state``, checked against ``catalog``; raise Rejected if unusable."""
    if not isinstance(state, str):
        raise Rejected("state must be a string")
    content = compose(state.strip().upper(), text, at)
    parse(content, catalog.names)
    return content


def post_state(pillow, state, text=None, at=None):
    """Check and queue ``state``, then wake the watcher so screens change at once."""
    content = message_for(state, pillow.catalog, text, at)
    sent = pillow.storage.send(content)
    pillow.watcher.wake()
    return Queued(sent.id, state.strip().upper())


def reload_screens(pillow):
    """Ask every connected screen to reload its page; return how many were connected."""
    pillow.push("reload", {})
    return len(pillow.screens)


def refusal(exc):
    """``(status, reason)`` for an error raised by the functions above."""
    if isinstance(exc, Rejected):
        return 422, str(exc)
    if isinstance(exc, StorageUnavailable):
        return 503, f"the queue is unreachable ({exc})"
    raise TypeError(f"not an operation error: {exc!r}")


ERRORS = (Rejected, StorageUnavailable)
