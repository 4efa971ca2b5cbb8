"""Messages in base64, as Azure Functions and older SDKs put them on a queue."""

import base64
import binascii
import re

BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
NOT_TEXT = object()


def base64_text(content):
    """Decoded text if ``content`` is strict base64, NOT_TEXT if it decodes to bytes, else None."""
    stripped = content.strip()
    if not BASE64.match(stripped):
        return None
    try:
        data = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_TEXT
