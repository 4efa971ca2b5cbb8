"""The operator write API: ``POST /api/state`` puts a message on the queue, like the pillow does.

Every write goes through the queue so there is one history; the watcher is woken so screens change
at once instead of at its next poll.
"""

from azure.core.exceptions import AzureError
from flask import Blueprint, current_app, jsonify, request

from .messages import Rejected, compose, parse
from .security import check_operator_token
from .storage import describe

bp = Blueprint("api", __name__, url_prefix="/api")

BODY_MAX = 2048


def enqueue(pillow, state, text=None, at=None):
    """Check a message as the watcher would, queue it, wake the watcher; return its queue id."""
    if not isinstance(state, str):
        raise Rejected("state must be a string")
    content = compose(state.strip(), text, at)
    parse(content, pillow.catalog.names)
    sent = pillow.storage.send(content)
    pillow.watcher.wake()
    return sent.id


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
    """Queue a state: ``{"state": "HUGGING", "text": "optional", "at": "optional ISO time"}``."""
    refused = authorize()
    if refused:
        return refused
    if (request.content_length or 0) > BODY_MAX:
        return error(413, f"body is over {BODY_MAX} bytes")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "body must be a JSON object like {\"state\": \"HUGGING\"}")
    pillow = current_app.extensions["pillow"]
    try:
        message_id = enqueue(pillow, body.get("state"), body.get("text"), body.get("at"))
    except Rejected as exc:
        return error(422, str(exc), known_states=pillow.catalog.names)
    except AzureError as exc:
        return error(503, f"the queue is unreachable: {describe(exc)}")
    return jsonify(queued=message_id, state=body["state"].strip().upper()), 202


@bp.post("/reload")
def reload_screens():
    """Make every connected screen reload its page (after changing images or the catalog)."""
    refused = authorize()
    if refused:
        return refused
    pillow = current_app.extensions["pillow"]
    pillow.push("reload", {})
    return jsonify(screens=len(pillow.screens)), 202


def init_app(app):
    app.register_blueprint(bp)
