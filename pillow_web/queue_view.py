"""The messages waiting in a pillow's queue as the console and ``pillow-web queue peek`` show
them: each with what the dashboard would do with it (``domain.forecast``)."""

from .domain.forecast import forecast
from .domain.state import isotime

CONTENT_SHOWN = 4200  # more than a usable message may hold (messages.MAX_CHARS)


def waiting_rows(live, waiting, max_dequeue, now=None):
    """JSON-ready rows of ``waiting`` (``[Waiting]``, in the queue's order), forecast against
    the state of ``live``'s queue (a ``live_pillows.LivePillow``). Texts are raw: whoever shows
    them escapes them (the page with textContent, the CLI with ``storage.poison.visible``)."""
    forecasts = forecast(waiting, live.queue_state, max_dequeue, now)
    return [{
        "id": message.id,
        "inserted_on": message.inserted_on and isotime(message.inserted_on),
        "dequeue_count": message.dequeue_count,
        "content": _text(message.content)[:CONTENT_SHOWN],
        "length": len(_text(message.content)),
        "outcome": told.outcome,
        "pillow": told.pillow,
        "state": told.state,
        "text": told.text,
        "reason": told.reason,
        "summary": told.summary(),
    } for message, told in zip(waiting, forecasts, strict=True)]


def _text(content):
    """``content`` as text: a message that is not (the watcher poisons it) is shown as repr."""
    return content if isinstance(content, str) else repr(content)
