"""HTTP: the kiosk page, the current state as JSON, and health checks."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, render_template

from ..domain.state import isotime

bp = Blueprint("views", __name__)

STARTING_RETRY_AFTER = 1  # seconds; reading the snapshot takes well under one when storage answers


def _pillow():
    return current_app.extensions["pillow"]


def _loaded_state(pillow):
    """The current state's payload, or None until the snapshot is read (the store's state then
    is the catalog's initial one, not the pillow's)."""
    return pillow.store.payload() if pillow.watcher.loaded.is_set() else None


@bp.get("/")
def kiosk():
    """The kiosk page, rendered with the current state so the right picture shows at once
    (or, before the snapshot is read, with no state: the page says it is starting)."""
    pillow = _pillow()
    images = [f"/static/img/{state.image}" for state in pillow.catalog.states.values()]
    return render_template("index.html", state=_loaded_state(pillow),
                           status=pillow.watcher.status(), images=images,
                           now=isotime(datetime.now(UTC)))


@bp.get("/api/state")
def api_state():
    """The same JSON as the ``state`` event; 503 "starting" until the snapshot is read."""
    state = _loaded_state(_pillow())
    if state is None:
        return jsonify(status="starting"), 503, {"Retry-After": str(STARTING_RETRY_AFTER)}
    return jsonify(state)


@bp.get("/healthz")
def healthz():
    """200 while the watcher reaches the queue, 503 otherwise: "starting" until the first poll
    ends, then "degraded" with a generic ``reason`` (the detail is for the operator console).
    With a message queue, also 503 while Redis does not answer; a web worker's also while no
    watcher reports, or its snapshot reads fail (see ``RemoteWatcher.health``)."""
    health = _pillow().health()
    return jsonify(health), 200 if health["queue_ok"] and health["status"] != "degraded" else 503


@bp.get("/livez")
def livez():
    """200 while the process serves, whatever the queue does: no storage call (orchestrators
    restart on this one; an Azure outage must not restart the container)."""
    return jsonify(status="alive")


def init_app(app):
    app.register_blueprint(bp)
