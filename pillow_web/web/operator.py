"""The operator console at ``/operator``: people sign in with the operator token, not a terminal.

Sign-in puts a random session id in the cookie and keeps the sign-in on the server
(``sessions.OperatorSessions``), so signing out, expiry and a changed token really end it. Every
form carries a CSRF token kept in the session. Posting a state goes through
``operations.post_state`` like the write API, so there is one queue and one history.

The console shows one pillow, ``?pillow=<id>`` (default: the default pillow). With several, a
picker lists every pillow with its health and its queue's figures.
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

from ..fleet_screens import listed_screens
from . import operations
from .history import console_timeline
from .security import check_operator_token, token_ok
from .sessions import LIFETIME, OperatorSessions
from .views import kiosk_url, live_or_404

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


def _dashboard():
    return current_app.extensions["pillow"]


def console_url(live=None):
    """The console of ``live``: with one pillow, ``/operator/`` as always."""
    if live is None or len(_dashboard().pillows) == 1:
        return url_for("operator.console")
    return url_for("operator.console", pillow=live.id)


def _wants_json():
    return request.accept_mimetypes.best == "application/json"


def _done(message, status=200, back=None, **data):
    """A JSON answer for the script, or a flash and a redirect to ``back``'s console."""
    if _wants_json():
        return jsonify(message=message, **data), status
    flash(message, "ok" if status < 400 else "error")
    return redirect(console_url(back))


@bp.get("/")
def console():
    if not signed_in():
        return render_template("operator_signin.html", csrf=csrf_token())
    dashboard, live = _dashboard(), live_or_404(request.args.get("pillow"))
    return render_template("operator.html", csrf=csrf_token(), states=live.catalog.states,
                           data=console_data(dashboard, live), pillow=live,
                           kiosk=kiosk_url(live),
                           several=len(dashboard.pillows) > 1)


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
    dashboard, pillow_id = _dashboard(), request.form.get("pillow", "")
    live = dashboard.pillow(pillow_id)
    if live is None:
        return _done(f"Not sent: there is no pillow {pillow_id!r:.40}.", 404)
    state, text = request.form.get("state", ""), request.form.get("text", "").strip() or None
    try:
        queued = operations.post_state(dashboard, state, text, pillow=live)
    except operations.ERRORS as exc:
        status, reason = operations.refusal(exc)
        return _done(f"Not sent: {reason}.", status, live)
    where = f" for {live.name}" if len(dashboard.pillows) > 1 else ""
    if queued.warning:  # it still shows; the operator should know a clock runs fast
        return _done(f"Queued {queued.state}{where}; note: {queued.warning}.", 202, live,
                     queued=queued.id, warning=queued.warning)
    return _done(f"Queued {queued.state}{where}.", 202, live, queued=queued.id)


@bp.post("/reload")
def reload_screens():
    """Every screen of every pillow reloads; the pillow field only says which console to show."""
    if not signed_in():
        return _done("Sign in first.", 401)
    dashboard = _dashboard()
    screens = operations.reload_screens(dashboard)
    return _done(f"Asked {screens} screen(s) to reload.", 202,
                 dashboard.pillow(request.form.get("pillow")))


@bp.get("/data.json")
def data():
    """What the console shows, polled by its script every few seconds."""
    if not signed_in():
        return jsonify(error="sign in first"), 401
    return jsonify(console_data(_dashboard(), live_or_404(request.args.get("pillow"))))


def console_data(dashboard, live=None):
    """``live``'s (None: the default pillow's) current state, recent history, the last 24 h as
    spans, its queue's figures (depth, oldest message's age, poison count), the warnings, watcher
    health, and the screens (a count and a list); with several pillows also ``pillows``, each
    one's health and queue figures for the picker.

    The figures come from each queue's watcher, which keeps them for every caller: a poll of
    the console costs no storage request of its own."""
    live = live or dashboard.default
    several = len(dashboard.pillows) > 1
    figures = {each.storage.queue_name: each.watcher.queue_figures()
               for each in (dashboard.queues if several else [live])}
    shown = figures[live.storage.queue_name]
    data = {
        "current": live.store.payload(),
        "history": [{**entry, "text": entry["text"] or live.catalog[entry["state"]].text}
                    for entry in live.store.history_payload()],
        "queue_depth": shown["depth"],
        "oldest_age": shown["oldest_age"],
        "poison_count": shown["poison_count"],
        "warnings": dashboard.warnings(live),
        "watcher": dashboard.health(detail=True),  # with the redacted error line
        "screens": dashboard.screen_count(),  # of every web worker, of every pillow
        "screen_list": listed_screens(dashboard, current_app.config["BUILD_ID"]),
        "timeline": console_timeline(live),
    }
    if several:
        health = data["watcher"]["pillows"]  # each pillow's is its queue's
        data["watcher"] = dashboard.queue_health(live.watcher, detail=True)
        data["pillows"] = [
            {"id": each.id, "name": each.name, "status": health[each.id]["status"],
             "queue_depth": figures[each.storage.queue_name]["depth"],
             "poison_count": figures[each.storage.queue_name]["poison_count"]}
            for each in dashboard.pillows.values()]
    return data


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
