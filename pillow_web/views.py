"""HTTP: the kiosk page, the current state as JSON, and a health check."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, render_template

from .state import isotime

bp = Blueprint("views", __name__)


def _pillow():
    return current_app.extensions["pillow"]


@bp.get("/")
def kiosk():
    """The kiosk page, rendered with the current state so the right picture shows at once."""
    pillow = _pillow()
    images = [f"/static/img/{state.image}" for state in pillow.catalog.states.values()]
    return render_template("index.html", state=pillow.store.payload(),
                           status=pillow.watcher.status(), images=images,
                           now=isotime(datetime.now(UTC)))


@bp.get("/api/state")
def api_state():
    """The same JSON as the ``state`` event."""
    return jsonify(_pillow().store.payload())


@bp.get("/healthz")
def healthz():
    """200 while the watcher reaches the queue, 503 (with the redacted last error) otherwise."""
    status = _pillow().watcher.status()
    status["status"] = "ok" if status["queue_ok"] else "degraded"
    return jsonify(status), 200 if status["queue_ok"] else 503


def init_app(app):
    app.register_blueprint(bp)
