"""The operator write API: ``POST /api/state`` puts a message on the queue, like the pillow does.

Every write goes through the queue so there is one history; the watcher is woken so screens change
at once instead of at its next poll.
"""

from flask import Blueprint, current_app, jsonify, request

from . import operations
from .security import check_operator_token

bp = Blueprint("api", __name__, url_prefix="/api")

BODY_MAX = 2048


def error(status, message, **extra):
    return jsonify(error=message, **extra), status


def authorize():
    """None if the request may write, else the error response to send."""
    if not current_app.config["OPERATOR_TOKEN"]:
        return error(403, "the write API is disabled; set PILLOW_OPERATOR_TOKEN to enable it")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    ok, wait = check_operator_token(given.strip() if scheme.lower() == "bearer" else None)
    if wait:
        response = error(429, f"too many bad tokens; try again in {wait} s")
        response[0].headers["Retry-After"] = str(wait)
        return response
    if not ok:
        response = error(401, "send Authorization: Bearer <operator token>")
        response[0].headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


@bp.post("/state")
def post_state():
    """Queue a state for the default pillow: ``{"state": "HUGGING", "text": "optional", "at":
    "optional ISO time"}``."""
    return _post(None)


@bp.post("/pillows/<pillow_id>/state")
def post_pillow_state(pillow_id):
    """Queue a state for pillow ``pillow_id``, as ``POST /api/state`` does for the default."""
    return _post(pillow_id)


def _post(pillow_id):
    refused = authorize()
    if refused:
        return refused
    dashboard = current_app.extensions["pillow"]
    pillow = dashboard.pillow(pillow_id)
    if pillow is None:
        return error(404, f"there is no pillow {pillow_id!r:.40}",
                     known_pillows=list(dashboard.pillows))
    if (request.content_length or 0) > BODY_MAX:
        return error(413, f"body is over {BODY_MAX} bytes")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # Python's JSON parser gives up on ~1,000 levels of nesting
        body = None
    if not isinstance(body, dict):
        return error(400, "body must be a JSON object like {\"state\": \"HUGGING\"}")
    try:
        queued = operations.post_state(dashboard, body.get("state"), body.get("text"),
                                       body.get("at"), pillow)
    except operations.ERRORS as exc:
        status, reason = operations.refusal(exc)
        extra = {"known_states": pillow.catalog.names} if status == 422 else {}
        return error(status, reason, **extra)
    # A warning says why the post is not stamped with the server's time (it still shows).
    warning = {"warning": queued.warning} if queued.warning else {}
    return jsonify(queued=queued.id, state=queued.state, **warning), 202


@bp.post("/reload")
def reload_screens():
    """Make every connected screen reload its page (after changing images or the catalog)."""
    refused = authorize()
    if refused:
        return refused
    return jsonify(screens=operations.reload_screens(current_app.extensions["pillow"])), 202


def init_app(app):
    app.register_blueprint(bp)
