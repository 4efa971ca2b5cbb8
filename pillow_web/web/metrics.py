"""``GET /metrics`` (Prometheus text format) and who may read it, in every role.

Open to a client on this machine's loopback that came through no proxy (a local reverse proxy
would otherwise open it to everyone it serves; with TRUSTED_PROXIES the proxy's client address
is the one judged), and to any client with ``Authorization: Bearer <token>``: the metrics token
or the operator token. A wrong token counts towards the same brake as the operator token's.
"""

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from ..live_metrics import exposition, scrape_registry
from .security import token_ok

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
TOKENS = ("METRICS_TOKEN", "OPERATOR_TOKEN")
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED")


def local(environ, trusted_proxies):
    """Whether the request comes from this machine, not relayed by a proxy."""
    relayed = not trusted_proxies and any(environ.get(name) for name in PROXY_HEADERS)
    return environ.get("REMOTE_ADDR") in LOOPBACK and not relayed


def bearer(environ):
    """The bearer token of the request's Authorization header, or None."""
    scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    return (given.strip() or None) if scheme.lower() == "bearer" else None


def access(environ, settings, throttle):
    """``(status, retry_after)`` of a request for the metrics: 200, 401, or 429 while the client
    must wait (``throttle``, a ``security.Throttle``) after too many wrong tokens."""
    if local(environ, settings["TRUSTED_PROXIES"]):
        return 200, 0
    given = bearer(environ)
    if given is None:  # no guess: not counted (see security.check_operator_token)
        return 401, 0
    client = environ.get("REMOTE_ADDR") or "unknown"
    wait = throttle.retry_after(client)
    if wait:
        return 429, wait
    if any(token_ok(settings[name], given) for name in TOKENS):
        return 200, 0
    throttle.failed(client)
    log.warning("rejected a wrong metrics token from %s", client)
    return 401, 0


def refusal(status, wait):
    """``(body, headers)`` of a refused request."""
    if status == 429:
        return {"error": f"too many bad tokens; try again in {wait} s"}, {"Retry-After": str(wait)}
    return ({"error": "send Authorization: Bearer <metrics token>, or ask from this machine"},
            {"WWW-Authenticate": "Bearer"})


@bp.get("/metrics")
def metrics():
    """This process's metrics, for Prometheus."""
    status, wait = access(request.environ, current_app.config,
                          current_app.extensions["pillow.throttle"])
    if status != 200:
        body, headers = refusal(status, wait)
        return jsonify(body), status, headers
    body, content_type = exposition(current_app.extensions["pillow.metrics"],
                                    request.headers.get("Accept"))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


def init_app(app):
    """Register ``/metrics`` (after ``security.init_app``: it uses its brake)."""
    app.extensions["pillow.metrics"] = scrape_registry(app.extensions["pillow"],
                                                       app.config["BUILD_ID"])
    app.register_blueprint(bp)
