"""Response headers for every page, the operator token check, and a brake on guessing it."""

import hmac
import logging
from collections import OrderedDict
from time import monotonic

from flask import current_app, request

log = logging.getLogger(__name__)

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def token_ok(configured, given):
    """Constant-time comparison; an empty configured token never matches."""
    if not configured or not isinstance(given, str):
        return False
    return hmac.compare_digest(configured.encode(), given.encode())


def check_operator_token(given):
    """Check ``given`` against the operator token, braking clients that keep guessing.

    Returns ``(True, 0)`` for the token, ``(False, 0)`` for anything else (counted against the
    client), and ``(False, seconds)`` while the client must wait before trying again.
    """
    throttle = current_app.extensions["pillow.throttle"]
    client = request.remote_addr or "unknown"
    wait = throttle.retry_after(client)
    if wait:
        return False, wait
    if token_ok(current_app.config["OPERATOR_TOKEN"], given):
        return True, 0
    throttle.failed(client)
    log.warning("rejected a wrong or missing operator token from %s (%s)", client, request.path)
    return False, 0


class Throttle:
    """Counts failed sign-ins per client; after ``limit`` within ``window`` s, refuse for a while.

    Bounded: the oldest clients are forgotten past ``max_clients``.
    """

    def __init__(self, limit=5, window=60.0, max_clients=10_000):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._failures = OrderedDict()

    def retry_after(self, client):
        """Seconds ``client`` must wait, or 0 if it may try now."""
        times = self._recent(client)
        if len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window - monotonic()) + 1)

    def failed(self, client):
        self._failures[client] = self._recent(client) + [monotonic()]
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def _recent(self, client):
        cutoff = monotonic() - self.window
        return [t for t in self._failures.get(client, []) if t > cutoff][-self.limit:]


def init_app(app):
    app.extensions["pillow.throttle"] = Throttle()

    @app.after_request
    def secure_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
