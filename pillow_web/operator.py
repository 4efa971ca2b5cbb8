"""The operator console at ``/operator``: people sign in with the operator token, not a terminal.

Sign-in keeps a fingerprint of the token in the signed session cookie, so changing the token signs
everyone out. Every form carries a CSRF token kept in the session. Posting a state goes through
``api.enqueue`` like the pillow and the write API, so there is one queue and one history.
"""

import hashlib
import logging
import secrets

from azure.core.exceptions import AzureError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .api import enqueue
from .messages import Rejected
from .security import check_operator_token, token_ok
from .storage import describe

log = logging.getLogger(__name__)

bp = Blueprint("operator", __name__, url_prefix="/operator")


def _fingerprint(token):
    return hashlib.sha256(f"pillow-operator:{token}".encode()).hexdigest()[:32]


def signed_in():
    token = current_app.config["OPERATOR_TOKEN"]
    return bool(token) and session.get("operator") == _fingerprint(token)


def csrf_token():
    """This session's CSRF token, made on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.before_request
def guard():
    """Refuse every state-changing request whose CSRF token does not match the session's."""
    if not current_app.config["OPERATOR_TOKEN"]:
        return render_template("operator_signin.html", disabled=True), 403
    if request.method == "POST":
        given = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
        if not token_ok(session.get("csrf", ""), given):
            abort(400, "the form expired or did not come from this site; reload the page")
    return None


def _wants_json():
    return request.accept_mimetypes.best == "application/json"


def _done(message, status=200, **data):
    """A JSON answer for the console's script, or a flash and a redirect for a plain form."""
    if _wants_json():
        return jsonify(message=message, **data), status
    flash(message, "ok" if status < 400 else "error")
    return redirect(url_for("operator.console"))


@bp.get("/")
def console():
    if not signed_in():
        return render_template("operator_signin.html", csrf=csrf_token())
    pillow = current_app.extensions["pillow"]
    return render_template("operator.html", csrf=csrf_token(), states=pillow.catalog.states,
                           data=console_data(pillow))


@bp.post("/signin")
def signin():
    ok, wait = check_operator_token(request.form.get("token", ""))
    if wait:
        flash(f"Too many wrong tokens; try again in {wait} s.", "error")
        return render_template("operator_signin.html", csrf=csrf_token()), 429
    if not ok:
        flash("That is not the operator token.", "error")
        return render_template("operator_signin.html", csrf=csrf_token()), 401
    session.clear()  # a fresh session (and CSRF token) for the signed-in operator
    session["operator"] = _fingerprint(current_app.config["OPERATOR_TOKEN"])
    log.info("operator signed in from %s", request.remote_addr)
    return redirect(url_for("operator.console"))


@bp.post("/signout")
def signout():
    session.clear()
    return redirect(url_for("operator.console"))


@bp.post("/state")
def post_state():
    if not signed_in():
        return _done("Sign in first.", 401)
    pillow = current_app.extensions["pillow"]
    state, text = request.form.get("state", ""), request.form.get("text", "").strip() or None
    try:
        message_id = enqueue(pillow, state, text)
    except Rejected as exc:
        return _done(f"Not sent: {exc}.", 422)
    except AzureError as exc:
        return _done(f"Not sent: the queue is unreachable ({describe(exc)}).", 503)
    return _done(f"Queued {state.upper()}.", 202, queued=message_id)


@bp.post("/reload")
def reload_screens():
    if not signed_in():
        return _done("Sign in first.", 401)
    pillow = current_app.extensions["pillow"]
    pillow.push("reload", {})
    return _done(f"Asked {len(pillow.screens)} screen(s) to reload.", 202)


@bp.get("/data.json")
def data():
    """What the console shows, polled by its script every few seconds."""
    if not signed_in():
        return jsonify(error="sign in first"), 401
    return jsonify(console_data(current_app.extensions["pillow"]))


def _count(queue):
    try:
        return queue.get_queue_properties().approximate_message_count
    except AzureError as exc:
        log.info("could not count %s: %s", queue.queue_name, describe(exc))
        return None


def console_data(pillow):
    """Current state, recent history, queue and poison depth, watcher health, screens."""
    return {
        "current": pillow.store.payload(),
        "history": [{**entry, "text": entry["text"] or pillow.catalog[entry["state"]].text}
                    for entry in pillow.store.history_payload()],
        "queue_depth": _count(pillow.storage.queue),
        "poison_count": _count(pillow.storage.poison),
        "watcher": pillow.watcher.status(),
        "screens": len(pillow.screens),
    }


def init_app(app):
    # Lax: the session cookie is not sent with cross-site posts (CSRF tokens are the main guard).
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.register_blueprint(bp)
