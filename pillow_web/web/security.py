"""Response headers for every page, the operator token check, and a brake on guessing it."""

import hmac
import logging
import re
from collections import OrderedDict, deque
from time import monotonic

from flask import current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import ConfigError
from . import hosts

log = logging.getLogger(__name__)

CSP_WITHOUT_FRAMES = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
])
CSP = CSP_WITHOUT_FRAMES + "; frame-ancestors 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Over HTTPS only (directly or through a trusted proxy): browsers that saw it use https:// for
# this host for a year, so the token never goes out in clear text by a typed http:// address.
HSTS = "max-age=31536000"
# The pages FRAME_ANCESTORS lets other sites embed: the kiosks and the overview, which show
# nothing but the public state and have no buttons. Never the console (clickjacking) or errors.
EMBEDDABLE = frozenset({"views.kiosk", "views.pillow_kiosk", "views.overview"})
# An origin as CSP's frame-ancestors takes it, without wildcards or paths: scheme://host[:port].
ORIGIN = re.compile(r"https?://(?P<host>[^/:?#@\[\]]+|\[[0-9A-Fa-f:.]+\])(:(?P<port>[0-9]{1,5}))?")
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"({LABEL}\.)*{LABEL}")


def frame_ancestors(setting):
    """The origins of FRAME_ANCESTORS (space separated) as a list, or ConfigError naming the
    first that is neither ``http(s)://host[:port]`` nor ``'self'``."""
    origins = setting.split()
    for origin in origins:
        match = ORIGIN.fullmatch(origin)
        if origin != "'self'" and not (
                match and (match["host"].startswith("[") or HOST_NAME.fullmatch(match["host"]))
                and (match["port"] is None or 0 < int(match["port"]) < 65536)):
            raise ConfigError(f"setting FRAME_ANCESTORS: {origin!r} is not an origin "
                              "(http(s)://host[:port], or 'self')")
    return origins


def token_ok(configured, given):
    """Constant-time comparison; an empty configured token never matches."""
    if not configured or not isinstance(given, str):
        return False
    return hmac.compare_digest(configured.encode(), given.encode())


def check_operator_token(given):
    """Check ``given`` against the operator token, braking clients that keep guessing.

    Returns ``(True, 0)`` for the token, ``(False, 0)`` for anything else, and
    ``(False, seconds)`` while the client must wait before trying again. Only a wrong token
    counts: a missing one is no guess, and any web page can make a browser send one, so counting
    it would let a page lock the operator out from the operator's own address.
    """
    if not given:
        return False, 0
    throttle = current_app.extensions["pillow.throttle"]
    client = request.remote_addr or "unknown"
    wait = throttle.retry_after(client)
    if wait:
        return False, wait
    if token_ok(current_app.config["OPERATOR_TOKEN"], given):
        return True, 0
    throttle.failed(client)
    log.warning("rejected a wrong operator token from %s (%s)", client, request.path)
    return False, 0


class Throttle:
    """Counts wrong tokens per client; after ``limit`` within ``window`` s, refuse for a while.

    A global brake on top: once more than ``global_limit`` wrong tokens arrived within the window
    from all clients together (guessing spread over many addresses), each client that guessed
    wrong must sit out the window after a single failure. A client with no recent failure, the
    operator among them, is always checked at once: the brake slows guessing and never locks out
    the right token. Bounded: the oldest clients are forgotten past ``max_clients``.
    """

    def __init__(self, limit=5, window=60.0, max_clients=10_000, global_limit=20):
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self.global_limit = global_limit
        self._failures = OrderedDict()
        self._all = deque(maxlen=global_limit + 1)  # times of the latest failures, any client

    def retry_after(self, client):
        """Seconds ``client`` must wait, or 0 if it may try now."""
        times, attacked = self._recent(client), self.under_attack()
        if not times or len(times) < (1 if attacked else self.limit):
            return 0
        since = times[-1] if attacked else times[0]  # sit out from the last or the first failure
        return max(1, int(since + self.window - monotonic()) + 1)

    def under_attack(self):
        """Whether more than ``global_limit`` wrong tokens came in within the window."""
        return len(self._all) > self.global_limit and self._all[0] > monotonic() - self.window

    def failed(self, client):
        now = monotonic()
        self._failures[client] = self._recent(client) + [now]
        self._failures.move_to_end(client)
        self._all.append(now)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def _recent(self, client):
        cutoff = monotonic() - self.window
        return [t for t in self._failures.get(client, []) if t > cutoff][-self.limit:]


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the page came over HTTPS, directly or through a
    trusted proxy, so it is never sent back in clear text."""

    def get_cookie_secure(self, app):
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_app(app):
    app.extensions["pillow.throttle"] = Throttle()
    ancestors = frame_ancestors(app.config["FRAME_ANCESTORS"])
    # CSP's frame-ancestors alone decides: X-Frame-Options cannot name other origins.
    embeddable = {name: value for name, value in HEADERS.items() if name != "X-Frame-Options"}
    embeddable["Content-Security-Policy"] = (f"{CSP_WITHOUT_FRAMES}; "
                                             f"frame-ancestors {' '.join(ancestors)}")
    app.session_interface = SessionCookies()
    if app.config["SECURE_COOKIES"]:  # e.g. TLS ends at a proxy that sends no X-Forwarded-Proto
        app.config["SESSION_COOKIE_SECURE"] = True
    hosts.init_app(app)  # inside ProxyFix: a trusted proxy's X-Forwarded-Host is the host
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        # Behind nginx and the like, every request comes from the proxy's address: believe its
        # X-Forwarded-* headers (and only that many hops of them) so the token brake counts real
        # clients, and redirects and cookies follow the scheme the client used.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=hops)

    @app.after_request
    def secure_headers(response):
        headers = HEADERS
        if ancestors and request.endpoint in EMBEDDABLE and response.status_code == 200:
            headers = embeddable
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
