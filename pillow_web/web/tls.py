"""HTTPS served directly: the certificate and key named by TLS_CERT and TLS_KEY, checked at start.

Served over gevent's SSL sockets (``ssl`` is patched by then), so WebSockets work as wss://.
"""

import ssl
from pathlib import Path

from ..config import ConfigError

PEM_MARKERS = {"TLS_CERT": (b"-----BEGIN CERTIFICATE-----", "PEM certificate"),
               "TLS_KEY": (b"PRIVATE KEY-----", "PEM private key")}


def server_context(settings):
    """An SSL context serving TLS_CERT with TLS_KEY, or None when neither is set.

    Whatever makes them unusable (one set without the other, a file missing or unreadable, not
    PEM, an encrypted key, a key of another certificate) is one ``ConfigError`` line.
    """
    paths = {name: settings[name].strip() for name in PEM_MARKERS}
    if not any(paths.values()):
        return None
    if not all(paths.values()):
        raise ConfigError("settings TLS_CERT and TLS_KEY go together: set both (PEM files of the"
                          " certificate and its key) or neither")
    for name, path in paths.items():
        marker, what = PEM_MARKERS[name]
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            reason = exc.strerror or exc
            raise ConfigError(f"setting {name}: cannot read {path}: {reason}") from None
        if marker not in data:
            raise ConfigError(f"setting {name}: {path} holds no {what}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(Path(paths["TLS_CERT"]).expanduser(),
                                Path(paths["TLS_KEY"]).expanduser(), password=_encrypted)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise ConfigError(f"settings TLS_CERT and TLS_KEY do not match: {paths['TLS_KEY']} is"
                              f" not the key of {paths['TLS_CERT']}") from None
        raise ConfigError(f"settings TLS_CERT and TLS_KEY cannot be used: {exc.reason or exc}"
                          ) from None
    return context


def _encrypted():
    """Asked for only when the key is encrypted: a server has no one to type its password."""
    raise ConfigError("setting TLS_KEY: the key is encrypted; give it unencrypted, in a file only"
                      " the service can read")
