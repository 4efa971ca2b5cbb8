"""Queue message format: parse what the pillow or an operator posted, or say exactly why not.

Three forms are accepted, raw UTF-8 or base64-encoded:

* a JSON object ``{"state": "HUGGING", "text": "...", "at": "2026-11-22T10:00:00Z"}``, which
  may name its pillow (``"pillow": "hall"``) when several share a queue
* a bare state name, ``hugging``
* the original pillow's Python tuple text, ``('HUGGING', 0.93)``, read with ``ast.literal_eval``

``parse`` returns a ``Message`` or raises ``Rejected`` with a reason meant for people; it raises
nothing else, whatever the input.
"""

import ast
import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .base64text import NOT_TEXT, base64_text
from .catalog import TEXT_MAX
from .ordering import CLOCK_SKEW, EARLIEST, SECOND, Stamp, ahead, resolution, trusted

MAX_CHARS = 4096
STATE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
PILLOW_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # it is part of URLs: /p/<id>
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A lone surrogate (from a JSON "\ud800" escape) cannot be encoded: it would break the page.
SURROGATE = re.compile(r"[\ud800-\udfff]")


class Rejected(ValueError):
    """The message cannot be used; ``str(exc)`` is the reason kept with it in the poison queue."""


@dataclass(frozen=True)
class Message:
    """A usable message; ``at_resolution`` is how precisely ``at`` was stated; ``pillow`` is
    the pillow it names (None: the queue's only one)."""

    state: str
    text: str | None = None
    at: datetime | None = None
    at_resolution: timedelta = SECOND
    pillow: str | None = None

    def stamp(self, inserted_on):
        """When it happened: ``at`` if ``ordering.trusted``, else the queue's ``inserted_on``."""
        sent = Stamp(self.at, self.at_resolution) if self.at else None
        return trusted(sent, inserted_on) if sent else Stamp(inserted_on, SECOND)


def parse(content, states, now=None):
    """Parse queue ``content`` (str) against the known ``states``: a container of upper names,
    or a function of the pillow a message names (None: it names none) that returns them, or
    raises Rejected when that pillow has no place here.

    With ``now`` (a sender checking its message) an ``at`` ahead of it is refused; the watcher
    passes none and judges ``at`` by the queue's insertion time instead (``Message.stamp``)."""
    if not isinstance(content, str):
        raise Rejected("message is not text")
    if len(content) > MAX_CHARS:
        raise Rejected(f"message is {len(content)} characters; the limit is {MAX_CHARS}")
    try:
        return _parse_text(content, states, now)
    except Rejected as raw_reason:
        decoded = base64_text(content)
        if decoded is None:
            raise
        if decoded is NOT_TEXT:
            raise Rejected(f"{raw_reason}; as base64 it does not decode to UTF-8 text") from None
        try:
            return _parse_text(decoded, states, now)
        except Rejected as exc:
            raise Rejected(f"base64 message: {exc}") from raw_reason


def _parse_text(text, states, now):
    text = text.strip()
    if not text:
        raise Rejected("message is empty")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        if text[0] in "{[\"":
            raise Rejected(f"invalid JSON: {exc.msg} at position {exc.pos}") from None
        if text[0] == "(":
            return _legacy(text, states)
        return Message(_state(text, states))
    except RecursionError:
        raise Rejected("invalid JSON: nested too deeply") from None
    if isinstance(value, str):
        return Message(_state(value, states))
    if not isinstance(value, dict):
        raise Rejected(f"a JSON message must be an object, not {_kind(value)}")
    pillow = _pillow(value.get("pillow"))
    return Message(_state(value.get("state"), states, pillow), check_text(value.get("text")),
                   *_at(value, now), pillow)


def _pillow(value):
    if value is None:
        return None
    if not isinstance(value, str) or not PILLOW_ID.match(value):
        shown = _excerpt(value) if isinstance(value, str) else _kind(value)
        raise Rejected(f"pillow {shown} is not a pillow id (a-z, 0-9, _ and -)")
    return value


def _unique_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Rejected("JSON object has duplicate keys")
    return dict(pairs)


def _no_constant(name):
    raise Rejected(f"JSON constant {name} is not allowed")


KINDS = {list: "an array", tuple: "a tuple", dict: "an object", bool: "a boolean", str: "a string"}


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, int | float | complex) and not isinstance(value, bool):
        return "a number"
    return KINDS.get(type(value), type(value).__name__)


def _state(value, states, pillow=None):
    if callable(states):
        states = states(pillow)
    if value is None:
        raise Rejected("message has no state")
    if not isinstance(value, str):
        raise Rejected(f"state must be a string, not {_kind(value)}")
    name = value.strip()
    if not STATE_NAME.match(name):
        raise Rejected(f"state {_excerpt(name)} is not a state name (letters, digits, _)")
    if name.upper() not in states:
        raise Rejected(f"unknown state {name.upper()!r}; known: {', '.join(states)}")
    return name.upper()


def check_text(value):
    """A message's (or a snapshot's) text, stripped, or None; Rejected if it may not be shown."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(f"text must be a string, not {_kind(value)}")
    if len(value) > TEXT_MAX:
        raise Rejected(f"text is {len(value)} characters; the limit is {TEXT_MAX}")
    if CONTROL.search(value):
        raise Rejected("text contains control characters")
    if SURROGATE.search(value):
        raise Rejected("text contains a lone surrogate, which is not valid Unicode")
    return value.strip() or None


def _at(body, now):
    """``(at, at_resolution)`` of the message ``body``."""
    value = body.get("at")
    if value is None:
        return None, SECOND
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected("at must be an ISO-8601 time string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(f"at {_excerpt(value)} is not an ISO-8601 time") from None
    try:
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise Rejected(f"at {_excerpt(value)} is out of range") from None
    # Quoted: fromisoformat takes any character between date and time, even a surrogate.
    if at < EARLIEST:
        raise Rejected(f"at {_excerpt(value)} is before 2000")
    if now is not None and ahead(at, now):
        raise Rejected(f"at {_excerpt(value)} is in the future (over {CLOCK_SKEW.seconds} s ahead)")
    return at, resolution(value)


def _legacy(text, states):
    """The original pillow's ``('HUGGING', 0.93)``: literals only, so nothing in it can run."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise Rejected("legacy tuple is not a plain Python literal") from None
    if isinstance(value, str):
        return Message(_state(value, states))
    if not isinstance(value, tuple) or not value:
        kind = "an empty tuple" if value == () else _kind(value)
        raise Rejected(f"legacy message must be a tuple like ('HUGGING', 0.93), not {kind}")
    return Message(_state(value[0], states))


def _excerpt(value, limit=40):
    return repr(value if len(value) <= limit else value[:limit] + "…")


def compose(state, text=None, at=None, pillow=None):
    """The JSON message an operator posts; stamped with the time now unless ``at`` is given;
    naming ``pillow`` if given (its queue serves several).

    The stamp has microseconds, so posts made within one second still apply in order (the
    queue's own insertion time has whole seconds only).
    """
    now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    body = {"state": state, "at": at or now}
    if text is not None:
        body["text"] = text
    if pillow is not None:
        body["pillow"] = pillow
    return json.dumps(body, ensure_ascii=False)


def encode(content, as_base64=False):
    """``content`` as queue text; base64 the way Azure Functions and older SDKs do, if asked."""
    return base64.b64encode(content.encode()).decode("ascii") if as_base64 else content
