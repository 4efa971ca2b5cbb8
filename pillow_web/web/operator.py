"""The operator console at ``/operator``: people sign in with the operator token, not a terminal.

Sign-in puts a random session id in the cookie and keeps the sign-in on the server
(``sessions.OperatorSessions``), so signing out, expiry and a changed token really end it. Every
form carries a CSRF token kept in the session. Posting a state goes through
``operations.post_state`` like the write API, so there is one queue and one history.
"""

import logging
import secrets
from datetime import timedelta

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

from . import operations
from .security import check_operator_token, token_ok
from .sessions import LIFETIME, OperatorSessions

log = logging.getLogger(__name__)

bp = Blueprint("operator", __name__, url_prefix="/operator")


def signed_in():
    sessions = current_app.extensions["pillow.sessions"]
    return sessions.valid(session.get("operator"), current_app.config["OPERATOR_TOKEN"])


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
    current_app.extensions["pillow.sessions"].end(session.get("operator"))
    session.clear()  # a fresh session (and CSRF token) for the signed-in operator
    session.permanent = True  # the browser forgets it when the server would (LIFETIME)
    session["operator"] = current_app.extensions["pillow.sessions"].start(
        current_app.config["OPERATOR_TOKEN"])
    log.info("operator signed in from %s", request.remote_addr)
    return redirect(url_for("operator.console"))


@bp.post("/signout")
def signout():
    current_app.extensions["pillow.sessions"].end(session.get("operator"))
    session.clear()
    return redirect(url_for("operator.console"))


@bp.post("/state")
def post_state():
    if not signed_in():
        return _done("Sign in first.", 401)
    pillow = current_app.extensions["pillow"]
    state, text = request.form.get("state", ""), request.form.get("text", "").strip() or None
    try:
        queued = operations.post_state(pillow, state, text)  # (the default pillow's)
    except operations.ERRORS as exc:
        status, reason = operations.refusal(exc)
        return _done(f"Not sent: {reason}.", status)
    if queued.warning:  # it still shows; the operator should know a clock runs fast
        return _done(f"Queued {queued.state}; note: {queued.warning}.", 202, queued=queued.id,
                     warning=queued.warning)
    return _done(f"Queued {queued.state}.", 202, queued=queued.id)


@bp.post("/reload")
def reload_screens():
    if not signed_in():
        return _done("Sign in first.", 401)
    screens = operations.reload_screens(current_app.extensions["pillow"])
    return _done(f"Asked {screens} screen(s) to reload.", 202)


@bp.get("/data.json")
def data():
    """What the console shows, polled by its script every few seconds."""
    if not signed_in():
        return jsonify(error="sign in first"), 401
    return jsonify(console_data(current_app.extensions["pillow"]))


def console_data(pillow):
    """Current state, recent history, queue and poison depth, watcher health, screens."""
    return {
        "current": pillow.store.payload(),
        "history": [{**entry, "text": entry["text"] or pillow.catalog[entry["state"]].text}
                    for entry in pillow.store.history_payload()],
        "queue_depth": pillow.storage.depth(),
        "poison_count": pillow.storage.poison_count(),
        "watcher": pillow.health(detail=True),  # with the redacted error line
        "screens": pillow.screen_count(),  # of every web worker
    }


@bp.after_request
def no_store(response):
    """Operator pages hold the queue's contents and a CSRF token: no cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.extensions["pillow.sessions"] = OperatorSessions()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=LIFETIME)
    # Lax: the session cookie is not sent with cross-site posts (CSRF tokens are the main guard).
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.register_blueprint(bp)
