"""What an operator can do, one function each, shared by the write API, the console and the CLI.

A state is checked exactly as the watcher will check it, normalised (stripped, upper case) and
queued like the pillow's own messages, so there is one queue and one history. ``refusal`` maps
every error these raise to one status and one sentence; each front end only formats it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain.messages import Rejected, compose, parse
from ..domain.ordering import Stamp
from ..domain.state import isotime
from ..storage.account import StorageUnavailable


@dataclass(frozen=True)
class Queued:
    """A state on its way: the queue message's id, the state it names, and what the operator
    should know about it (why it is not stamped with this server's time), if anything."""

    id: str
    state: str
    warning: str | None = None


class Outdated(ValueError):
    """A post's own ``at`` is older than the state shown: it would be consumed, never shown."""


def message_for(state, catalog, text=None, at=None, pillow=None):
    """The queue text for ``state``, checked against ``catalog``, naming ``pillow`` if given (its
    queue serves several); raise Rejected if unusable."""
    return _checked(state, catalog, text, at, pillow)[0]


def _checked(state, catalog, text, at, pillow=None):
    """``(queue text, parsed message)``, parsed exactly as the watcher will parse it."""
    if not isinstance(state, str):
        raise Rejected("state must be a string")
    content = compose(state.strip().upper(), text, at, pillow)
    return content, parse(content, catalog.names, datetime.now(UTC))


def post_state(dashboard, state, text=None, at=None, pillow=None):
    """Check and queue ``state`` so that it shows, then wake the watcher so screens change at once.

    A post is stamped by this server's clock. Should the state shown be stamped later (a sender's
    clock runs fast, by at most ``ordering.CLOCK_SKEW``), the post would be skipped as older: it
    takes that state's time instead, and the warning says so. A post with an ``at`` of its own
    older than the state shown is refused (Outdated), not queued to be skipped. ``pillow`` is
    a ``LivePillow`` of ``dashboard`` (None: the default one).
    """
    pillow = pillow or dashboard.default
    named = pillow.id if pillow.shared_queue else None  # else as always: the queue's only one
    content, posted = _checked(state, pillow.catalog, text, at, named)
    name, warning, shown = state.strip().upper(), None, pillow.store.current.stamp()
    if shown is not None and Stamp(posted.at, posted.at_resolution).older_than(shown):
        if at is not None:
            raise Outdated(f"at {at!r:.40} is older than the state shown, stamped "
                           f"{isotime(shown.at)}; leave out at to show {name} now")
        ahead = (shown.at - posted.at).total_seconds()
        warning = (f"the state shown is stamped {ahead:.3g} s ahead of this server's clock (a "
                   f"sender's clock runs fast), so {name} is stamped with its time to replace it")
        content = compose(name, text, isotime(shown.at, "microseconds"), named)
    sent = pillow.storage.send(content)
    dashboard.wake_watcher(pillow)
    return Queued(sent.id, name, warning)


def reload_screens(pillow):
    """Ask every connected screen (of every web worker) to reload its page; return how many
    were connected."""
    pillow.push("reload", {})
    return pillow.screen_count()


def refusal(exc):
    """``(status, reason)`` for an error raised by the functions above."""
    if isinstance(exc, Outdated):
        return 409, str(exc)
    if isinstance(exc, Rejected):
        return 422, str(exc)
    if isinstance(exc, StorageUnavailable):
        return 503, f"the queue is unreachable ({exc})"
    raise TypeError(f"not an operation error: {exc!r}")


ERRORS = (Outdated, Rejected, StorageUnavailable)
