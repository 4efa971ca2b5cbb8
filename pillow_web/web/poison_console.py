"""The operator console's poison view."""

from flask import Blueprint

from .operator import guard

bp = Blueprint("poison_console", __name__, url_prefix="/operator/poison")
bp.before_request(guard)


def init_app(app):
    app.register_blueprint(bp)
