"""The operator console's queue view."""

from flask import Blueprint

from .operator import guard

bp = Blueprint("queue_console", __name__, url_prefix="/operator/queue")
bp.before_request(guard)


def init_app(app):
    app.register_blueprint(bp)
