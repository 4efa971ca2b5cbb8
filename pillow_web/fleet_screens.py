"""The screens connected now: what each says of itself when it connects, and the list that each
process shares with the others through Redis (``Fleet.serve_screens``), for the console.

A kiosk or overview page sends, with its Socket.IO connect, ``{"page": "/p/hall", "build":
"abc123def456", "screen": "Lobby"}`` besides the pillow it shows. Any page can send anything
there: every key is optional, only strings are kept, cut short and without control characters,
and whatever else it holds is ignored (never a reason to refuse the screen).
"""

import json
import re
import unicodedata
from datetime import UTC, datetime

from .domain.state import isotime

NAME_MAX, PAGE_MAX, BUILD_MAX = 40, 200, 40  # characters kept of each
LISTED = 200  # screens each process lists in Redis; the console shows as many, and counts the rest
# Control characters, and the marks that reorder or hide the text around them.
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def clean(value, limit):
    """``value`` if a string, without control characters and cut to ``limit``; else None."""
    if not isinstance(value, str):
        return None
    kept = "".join(char for char in value[:4 * limit]
                   if unicodedata.category(char) not in ("Cc", "Cs", "Zl", "Zp"))
    return HIDDEN.sub("", kept).strip()[:limit].strip() or None


def screen_info(auth, since):
    """What the console lists of a screen that connected at ``since`` with ``auth``."""
    auth = auth if isinstance(auth, dict) else {}
    return {"name": clean(auth.get("screen"), NAME_MAX), "page": clean(auth.get("page"), PAGE_MAX),
            "build": clean(auth.get("build"), BUILD_MAX), "since": isotime(since)}


def listed_screens(dashboard, build):
    """The console's list: the first ``LISTED`` of ``dashboard.screen_list()``, each marked
    with whether its page is of ``build`` (None: it did not say)."""
    return [{**screen, "same_build": screen["build"] == build if screen["build"] else None}
            for screen in dashboard.screen_list()[:LISTED]]


def swap_screens(client, key, process, count, screens, ttl):
    """Write this process's screen ``count`` and (at most ``LISTED`` of) its ``screens`` under
    ``key + process`` for ``ttl`` s; return ``(count, screens)`` of every other process."""
    mine = key + process
    client.set(mine, json.dumps({"count": count, "screens": screens[:LISTED]}), ex=ttl)
    others = [name for name in client.scan_iter(match=key + "*", count=1000) if name != mine]
    total, listed = 0, []
    for value in client.mget(others) if others else []:
        their_count, theirs = read_screens(value)
        total += their_count
        listed += theirs
    return total, listed


def read_screens(text):
    """``(count, screens)`` of another process's entry; a count alone is an older process's."""
    if (text or "").isdigit():
        return int(text), []
    entry = json_object(text) or {}
    if type(entry.get("count")) is not int or entry["count"] < 0:
        return 0, []
    screens = entry.get("screens") if isinstance(entry.get("screens"), list) else []
    listed = [_checked(screen) for screen in screens[:LISTED]]
    return entry["count"], [screen for screen in listed if screen is not None]


def _checked(screen):
    """A screen as another process listed it, held to ``screen_info``'s rules; None if not."""
    if not isinstance(screen, dict) or not isinstance(screen.get("since"), str):
        return None
    try:
        since = datetime.fromisoformat(screen["since"][:40])
    except ValueError:
        return None
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    return screen_info({"screen": screen.get("name"), "page": screen.get("page"),
                        "build": screen.get("build")}, since)


def json_object(text):
    """A JSON object another process wrote to Redis (e.g. a watcher's report), or None (none,
    or not one of ours)."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
