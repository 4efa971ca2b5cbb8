"""Warnings a person would want about a queue and its pillows, in plain words.

Three rules, each off at 0: the oldest waiting message is older than ``waiting_age`` seconds
(messages wait but nothing consumes them), messages went to poison in the last
``poison_minutes``, and a pillow sent nothing for its ``silent_after`` seconds (it may be off or
offline). Each warning is ``{"kind": "waiting" | "poison" | "silent", "pillow": id | None,
"message": text}``; the text never quotes a message, so ``/healthz`` may show it to anyone.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SILENT_STATE = "NOTCONNECTED"  # what a kiosk shows of a silent pillow, if its catalog has it


@dataclass(frozen=True)
class Thresholds:
    """A queue's thresholds: the WARN_WAITING_AGE and WARN_POISON_MINUTES settings."""

    waiting_age: int = 120  # seconds; 0: no warning
    poison_minutes: int = 15  # 0: no warning


def duration(seconds):
    """``seconds`` as a person says it, to the unit below the largest: "45 s", "6 min",
    "2 h 5 min", "3 d 4 h" (rounded down: a message "6 min old" is at least that old)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} min"
    if hours < 24:
        return f"{hours} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    return f"{days} d" + (f" {hours % 24} h" if hours % 24 else "")


def silent_since(last_message_at, silent_after, now):
    """When the pillow last sent something, if that is over ``silent_after`` seconds before
    ``now`` (0: never silent); None while it is not silent, or sent nothing yet."""
    if not silent_after or last_message_at is None:
        return None
    return last_message_at if now - last_message_at > timedelta(seconds=silent_after) else None


def waiting_warning(oldest_age, waiting_age, pillow=None):
    """The "waiting" warning while the oldest waiting message is older than ``waiting_age``
    seconds (``oldest_age`` None: nothing waits, or not known), else None."""
    if not waiting_age or oldest_age is None or oldest_age <= waiting_age:
        return None
    return {"kind": "waiting", "pillow": pillow,
            "message": f"the oldest waiting message is {duration(oldest_age)} old: messages "
                       "wait but are not being consumed"}


def poison_warning(poisoned, minutes, poison_count=None, pillow=None):
    """The "poison" warning while ``poisoned`` messages (None: not known) went to poison in the
    last ``minutes``; ``poison_count``, if known, is how many the poison queue holds."""
    if not minutes or not poisoned:
        return None
    went = "1 message went" if poisoned == 1 else f"{poisoned} messages went"
    held = f" ({poison_count} in all)" if poison_count is not None else ""
    return {"kind": "poison", "pillow": pillow,
            "message": f"{went} to poison in the last {minutes} min{held}"}


def silence_warning(pillow, name, last_message_at, silent_after, now):
    """The "silent" warning while pillow ``pillow`` (called ``name``) is silent, else None."""
    since = silent_since(last_message_at, silent_after, now)
    if since is None:
        return None
    shown = since.astimezone(UTC)
    at = shown.strftime("%H:%M" if now - since < timedelta(hours=24) else "%Y-%m-%d %H:%M")
    return {"kind": "silent", "pillow": pillow,
            "message": f"no message from {name} for {duration((now - since).total_seconds())} "
                       f"(since {at} UTC): it may be off or offline"}


def queue_warnings(figures, poisoned, thresholds, pillows, queue_pillow=None, now=None):
    """The warnings of one queue, in the order above.

    ``figures``: the queue's figures (``oldest_age`` s, ``poison_count``; None: not known);
    ``poisoned``: messages poisoned in the last ``thresholds.poison_minutes`` (None: not known);
    ``pillows``: ``(id, name, last message's time or None, silent_after)`` of each pillow of the
    queue wanted; ``queue_pillow``: the pillow the queue's own warnings name (its only one; None
    for a queue several pillows share).
    """
    now = now or datetime.now(UTC)
    figures = figures or {}
    found = [waiting_warning(figures.get("oldest_age"), thresholds.waiting_age, queue_pillow),
             poison_warning(poisoned, thresholds.poison_minutes, figures.get("poison_count"),
                            queue_pillow)]
    found += [silence_warning(*pillow, now) for pillow in pillows]
    return [warning for warning in found if warning is not None]
