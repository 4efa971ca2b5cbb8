"""The ``PILLOW_MESSAGE_QUEUE`` URL: checked at start, and shown only without its password."""

import re
from urllib.parse import urlsplit

SCHEMES = ("redis", "rediss", "unix")  # what redis-py (python-socketio's Redis manager) opens


def redact_url(url):
    """``url`` with any password in it (``user:password@``, ``?password=``) shown as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:  # redis://user:secret@host, redis://:secret@host and redis://secret@host
        user, _, host = netloc.rpartition("@")
        netloc = (f"{user.split(':', 1)[0]}:***" if ":" in user else "***") + "@" + host
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def check_message_queue(url):
    """Raise ConfigError (the URL in it redacted) unless ``url`` is empty or a Redis URL with a
    host (or a socket path)."""
    from .config import ConfigError  # config calls this while it loads

    try:
        _check(url)
    except ValueError as exc:
        raise ConfigError(f"setting MESSAGE_QUEUE {exc}") from None


def _check(url):
    if not url:
        return
    shown = redact_url(url)[:200]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"is not a valid URL: {shown!r}") from None
    if parts.scheme not in SCHEMES:
        raise ValueError("must be a redis://, rediss:// or unix:// URL (e.g. "
                         f"redis://127.0.0.1:6379/0), not {shown!r}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"names no host: {shown!r}")
    if parts.scheme == "unix" and not parts.path:
        raise ValueError(f"names no socket path: {shown!r}")
