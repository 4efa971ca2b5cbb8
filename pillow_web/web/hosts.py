"""ALLOWED_HOSTS: answer only to the names the dashboard is reached by.

A web page on another site can make its own name resolve to a kiosk's LAN address (DNS
rebinding); the browser then sends that site's name as ``Host`` and lets the page read the
dashboard's answers as its own. Checked as WSGI middleware inside ``ProxyFix``, so it covers
``/socket.io/`` too and a trusted proxy's ``X-Forwarded-Host`` counts.
"""

import logging
import re

from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import ConfigError

log = logging.getLogger(__name__)

HOST = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}
# Probes reach these by address (the image's HEALTHCHECK, a Kubernetes probe), and they say
# nothing private: "alive", and the queue's health in generic words.
EXEMPT = {"/livez", "/healthz"}
REFUSED = b"This server does not answer to that host name (see ALLOWED_HOSTS).\n"


def parse(text):
    """The (host, port or None) pairs of a comma-separated ALLOWED_HOSTS; an empty set: any."""
    allowed = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        match = HOST.match(entry)
        if not match or (match.group(2) and not 0 < int(match.group(2)) < 65536):
            raise ConfigError(f"setting ALLOWED_HOSTS: {entry[:100]!r} is not a host name, an "
                              "address or one of them with :port")
        port = match.group(2) and int(match.group(2))
        allowed.add((match.group(1).lower().rstrip("."), port))
    return frozenset(allowed)


class AllowedHosts:
    """WSGI middleware: 400 for a request whose ``Host`` is not allowed (or missing)."""

    def __init__(self, app, allowed):
        self.app, self.allowed = app, allowed

    def allows(self, environ):
        if environ.get("PATH_INFO") in EXEMPT:
            return True
        match = HOST.match(environ.get("HTTP_HOST", ""))
        if not match:
            return False
        host = match.group(1).lower().rstrip(".")
        port = int(match.group(2) or DEFAULT_PORTS.get(environ.get("wsgi.url_scheme"), 0))
        return (host, None) in self.allowed or (host, port) in self.allowed

    def __call__(self, environ, start_response):
        if self.allows(environ):
            return self.app(environ, start_response)
        log.debug("refused a request for host %r", environ.get("HTTP_HOST", "")[:100])
        start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                           ("Content-Length", str(len(REFUSED)))])
        return [REFUSED]


def init_app(app):
    """Wrap ``app.wsgi_app`` when ALLOWED_HOSTS is set; call before ``ProxyFix`` wraps it."""
    allowed = parse(app.config["ALLOWED_HOSTS"])
    if allowed:
        app.wsgi_app = AllowedHosts(app.wsgi_app, allowed)
        app.extensions["pillow.hosts"] = app.wsgi_app


def websocket_hook(app):
    """A ``pre_start_hook`` for gevent-websocket, or None with no ALLOWED_HOSTS.

    gevent-websocket answers a WebSocket handshake (101) before the app runs; the hook says True
    for a request from a host not allowed, so that the app answers it instead (with 400).
    """
    guard = app.extensions.get("pillow.hosts")
    if guard is None:
        return None
    check = lambda environ, _: guard.allows(environ)  # noqa: E731  (a WSGI "app" for ProxyFix)
    hops = app.config["TRUSTED_PROXIES"]
    if hops:  # what the app will see: the trusted proxy's X-Forwarded-Host, -Port and -Proto
        check = ProxyFix(check, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    return lambda handler: not check(dict(handler.environ), None)
