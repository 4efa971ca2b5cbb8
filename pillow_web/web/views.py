"""HTTP: each pillow's kiosk page, the overview, their state as JSON, and health checks."""

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import NotFound

from ..domain.state import isotime

bp = Blueprint("views", __name__)

STARTING_RETRY_AFTER = 1  # seconds; reading the snapshot takes well under one when storage answers


def _dashboard():
    return current_app.extensions["pillow"]


def live_or_404(pillow_id):
    """The pillow ``pillow_id`` names (None: the default one), or a 404 with the not-found page
    (JSON under /api/), which lists the pillows there are."""
    live = _dashboard().pillow(pillow_id)
    if live is None:
        abort(404, description=f"There is no pillow {pillow_id!r:.40} on this dashboard.")
    return live


def kiosk_url(live):
    """``live``'s kiosk page: ``/`` for the default pillow, ``/p/<id>`` for the others."""
    return url_for("views.kiosk") if live is _dashboard().default else url_for(
        "views.pillow_kiosk", pillow_id=live.id)


@bp.get("/")
def kiosk():
    """The default pillow's kiosk page."""
    return _kiosk(_dashboard().default)


@bp.get("/p/<pillow_id>")
def pillow_kiosk(pillow_id):
    """One pillow's kiosk page."""
    return _kiosk(live_or_404(pillow_id))


def _kiosk(live):
    """Rendered with the current state so the right picture shows at once (or, before the
    snapshot is read, with no state: the page says it is starting)."""
    images = [f"/static/img/{state.image}" for state in live.catalog.states.values()]
    return render_template("index.html", pillow=live, state=live.payload(),
                           status=live.status(), images=images, now=isotime(datetime.now(UTC)))


@bp.get("/overview")
def overview():
    """Every pillow as a live tile, for a wall screen or a phone."""
    pillows = list(_dashboard().pillows.values())
    images = sorted({f"/static/img/{state.image}" for live in pillows
                     for state in live.catalog.states.values()})
    return render_template("overview.html", tiles=[_summary(live) for live in pillows],
                           images=images, now=isotime(datetime.now(UTC)))


def _summary(live):
    return {"id": live.id, "name": live.name, "url": kiosk_url(live), "state": live.payload(),
            "status": live.status()}


@bp.get("/sw.js")
def service_worker():
    """The kiosk's service worker (static/js/sw.js), served at the app's root so that its scope
    covers the kiosk pages; checked on every load, so a new build's worker is used at once."""
    response = current_app.send_static_file("js/sw.js")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/api/pillows")
def api_pillows():
    """Every pillow: id, name, kiosk URL, state (null while starting) and status."""
    return jsonify([_summary(live) for live in _dashboard().pillows.values()])


@bp.get("/api/state")
def api_state():
    """The default pillow's state, as the ``state`` event without ``pillow`` (as it always
    was); 503 "starting" until it is read."""
    return _state(_dashboard().default, named=False)


@bp.get("/api/pillows/<pillow_id>/state")
def api_pillow_state(pillow_id):
    """Pillow ``pillow_id``'s state, as its ``state`` event; 503 "starting" until it is read."""
    return _state(live_or_404(pillow_id))


def _state(live, named=True):
    state = live.payload()
    if state is None:
        return jsonify(status="starting"), 503, {"Retry-After": str(STARTING_RETRY_AFTER)}
    if not named:
        del state["pillow"]
    return jsonify(state)


@bp.app_errorhandler(404)
def not_found(error):
    """A real 404 page naming the pillows there are; JSON for the API."""
    ours = error.description != NotFound.description  # (an unknown pillow's, from live_or_404)
    message = error.description if ours else "There is no page at this address."
    if request.path.startswith("/api/"):
        return jsonify(error=message), 404
    pillows = [{"id": live.id, "name": live.name, "url": kiosk_url(live)}
               for live in _dashboard().pillows.values()]
    return render_template("not_found.html", heading="No such pillow" if ours else "Not found",
                           message=message, pillows=pillows), 404


@bp.get("/healthz")
def healthz():
    """200 while the watcher reaches the queue, 503 otherwise: "starting" until the first poll
    ends, then "degraded" with a generic ``reason`` (the detail is for the operator console).
    With a message queue, also 503 while Redis does not answer; a web worker's also while no
    watcher reports, or its snapshot reads fail (see ``RemoteWatcher.health``)."""
    health = _dashboard().health()
    return jsonify(health), 200 if health["queue_ok"] and health["status"] != "degraded" else 503


@bp.get("/livez")
def livez():
    """200 while the process serves, whatever the queue does: no storage call (orchestrators
    restart on this one; an Azure outage must not restart the container)."""
    return jsonify(status="alive")


def init_app(app):
    app.register_blueprint(bp)
