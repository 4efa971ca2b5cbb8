"""The operator console's queue view: what waits in a pillow's queue, with what the dashboard would
do with each message, and the queue stats of the last hours.

Both answer JSON to the console's script, signed in only. Peeking changes neither a message's
visibility nor its dequeue count, but it is a storage request: it is skipped while the queue's
figures say, freshly, that nothing waits (an idle console then costs no request at all).
"""

from datetime import UTC, datetime, timedelta

import gevent
from flask import Blueprint, current_app, jsonify, request

from ..domain.queue_stats import totals
from ..domain.state import isotime
from ..queue_view import waiting_rows
from ..storage.account import StorageUnavailable
from ..storage.peek import peek
from ..watch.sampler import BELIEVED
from .operator import guard, no_store, signed_in

bp = Blueprint("queue_console", __name__, url_prefix="/operator/queue")
bp.before_request(guard)
bp.after_request(no_store)  # the queue's contents: no cache may keep them

PEEK_TIMEOUT = 5.0  # seconds a page waits for the peek at most (the SDK retries a dead endpoint)
FRESH_POLLS = 3  # a consumer's figures at most this many POLL_MAX old are fresh
HOURS = range(1, 25)  # what ``hours=`` may ask for


def _pillow():
    """The pillow of ``?pillow=`` (none: the default one), or None if there is no such pillow."""
    return current_app.extensions["pillow"].pillow(request.args.get("pillow") or None)


def _refusal():
    """The answer when the request may not be served: 401 or 404 as JSON, else None."""
    if not signed_in():
        return jsonify(error="sign in first"), 401
    if _pillow() is None:
        return jsonify(error=f"there is no pillow {request.args.get('pillow')!r:.40}"), 404
    return None


def nothing_waits(figures, now, poll_max):
    """Whether ``figures`` say that nothing waits, and are recent enough to be believed."""
    if figures.get("depth") != 0 or not figures.get("as_of"):
        return False
    try:
        as_of = datetime.fromisoformat(figures["as_of"])
    except (TypeError, ValueError):
        return False
    # A consumer's figures are as old as its last receive; another process's, as its last ask
    # (the page says "as of" that time).
    return now - as_of <= timedelta(seconds=max(FRESH_POLLS * poll_max, BELIEVED))


@bp.get("/waiting.json")
def waiting():
    """Up to 32 waiting messages of ``?pillow=``'s queue, each with its forecast; 503 with one
    sentence while storage cannot peek."""
    refused = _refusal()
    if refused:
        return refused
    live, now = _pillow(), datetime.now(UTC)
    figures = live.watcher.queue_figures()
    if nothing_waits(figures, now, current_app.config["POLL_MAX"]):
        return jsonify(as_of=figures["as_of"], peeked=False, rows=[], figures=figures)
    timer = gevent.Timeout(PEEK_TIMEOUT)
    try:
        with timer:
            messages = peek(live.storage)
    except StorageUnavailable as exc:
        return jsonify(error=f"Cannot look into the queue: {exc}"), 503
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        return jsonify(error=f"Cannot look into the queue: no answer within "
                             f"{PEEK_TIMEOUT:.0f} s."), 503
    rows = waiting_rows(live, messages, current_app.config["MAX_DEQUEUE"])
    return jsonify(as_of=isotime(now), peeked=True, rows=rows, figures=figures)


@bp.get("/stats.json")
def stats():
    """``?pillow=``'s queue stats of the last ``?hours=`` (1-24, default 24): a point per minute,
    and the window's totals (its counts; its largest depth and oldest age)."""
    refused = _refusal()
    if refused:
        return refused
    asked = request.args.get("hours", "24")
    if not (asked.isascii() and asked.isdigit() and int(asked) in HOURS):
        return jsonify(error=f"hours must be a whole number from 1 to 24, not {asked[:20]!r}"), 400
    series = _pillow().watcher.stats.stats.series(datetime.now(UTC), hours=int(asked))
    return jsonify(series=series, totals=totals(series))


def init_app(app):
    app.register_blueprint(bp)
