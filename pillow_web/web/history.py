"""``GET /api/history``: the states a pillow's screens showed over the last hours, as spans.

Public, like ``/api/state``: it says what every kiosk showed anyway.
"""

from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify, request

from ..domain.state import isotime
from .views import live_or_404

bp = Blueprint("history", __name__)

HOURS = range(1, 25)  # what ``hours=`` may ask for


def history(live, hours=24):
    """``live``'s spans of the last ``hours``, with the window they are cut to."""
    now = datetime.now(UTC)
    return {"pillow": live.id, "from": isotime(now - timedelta(hours=hours)),
            "until": isotime(now), "spans": live.timeline.spans(live.id, hours, now)}


def console_timeline(live):
    """The console's strip: ``history`` with a legend of each state's name and colour."""
    legend = [{"state": state.name, "color": state.color} for state in live.catalog.states.values()]
    return {**history(live), "legend": legend}


@bp.get("/api/history")
def api_history():
    """``?pillow=<id>`` (default: the default pillow; unknown: 404) and ``?hours=`` 1-24
    (default 24; anything else: 400)."""
    asked = request.args.get("hours", "24")
    if not (asked.isascii() and asked.isdigit() and int(asked) in HOURS):
        return jsonify(error=f"hours must be a whole number from 1 to 24, not {asked[:20]!r}"), 400
    live = live_or_404(request.args.get("pillow") or None)
    return jsonify(history(live, int(asked))), 200, {"Cache-Control": "no-cache"}


def init_app(app):
    app.register_blueprint(bp)
