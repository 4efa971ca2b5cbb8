"""The operator console's poison view: list, show, requeue and delete poisoned messages.

The same ``storage.poison.PoisonQueue`` as ``pillow-web poison``. The list is a peek (see
``storage.poison_listing``): the page asks every few seconds, and must neither hide entries
nor cost storage requests while nothing changes. Requeueing or deleting them all stops after
``BULK_SECONDS`` and answers what is left of the ``limit`` asked for; the page then asks again
with that, so no request runs for minutes and a watcher poisoning again cannot keep it going.
"""

import logging
from time import monotonic

from flask import Blueprint, current_app, jsonify, request

from ..storage.account import StorageUnavailable
from ..storage.poison import as_unavailable
from ..storage.poison_listing import PoisonListing
from .operator import guard, signed_in

log = logging.getLogger(__name__)

bp = Blueprint("poison_console", __name__, url_prefix="/operator/poison")
bp.before_request(guard)

PREVIEW = 300  # characters of each entry's text in the list
BULK_SECONDS = 5.0  # a bulk request stops after the batch in hand once this has passed
MOST = 1_000_000  # the largest ``limit`` taken


class Refused(Exception):
    """A request this view answers with ``status`` and one sentence."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@bp.before_request
def signed_in_only():
    if not signed_in():
        return jsonify(error="sign in first"), 401
    return None


@bp.errorhandler(Refused)
def refused(exc):
    return jsonify(error=str(exc)), exc.status


@bp.errorhandler(StorageUnavailable)
def unavailable(exc):
    return jsonify(error=f"Storage: {exc}"), 503


def _params():
    """The request's fields: its query (GET), its form, or its JSON body."""
    if request.method == "GET":
        return request.args
    return request.form if request.form else (request.get_json(silent=True) or {})


def _pillow(params):
    live = current_app.extensions["pillow"].pillow(str(params.get("pillow") or ""))
    if live is None:
        raise Refused(404, f"There is no pillow {str(params.get('pillow'))!r:.40}.")
    return live


def _listing(live):
    """The listing of ``live``'s poison queue, one per queue for this process."""
    listings = current_app.extensions.setdefault("pillow.poison_listings", {})
    name = live.storage.queue_name
    if name not in listings:
        listings[name] = PoisonListing(live.storage)
    return listings[name]


def _known_count(live):
    """The poison count the watcher keeps (no request of ours), or None."""
    return live.watcher.queue_figures()["poison_count"]


def _shown(entry, content):
    return {"id": entry.id, "original_id": entry.original_id, "poisoned_at": entry.poisoned_at,
            "reason": entry.reason, "content": content,
            "length": None if entry.blob else len(entry.content),
            "kept_in_blob": entry.blob is not None}


@bp.get("/list.json")
def listing():
    """``{"count", "as_of", "entries"}``: up to 32 entries, oldest first, each with the start of
    its text (the whole one's length, unless it is kept in a blob)."""
    live = _pillow(request.args)
    with as_unavailable():
        count, entries, as_of = _listing(live).listing(_known_count(live))
    return jsonify(count=count, as_of=as_of,
                   entries=[_shown(entry, entry.content[:PREVIEW]) for entry in entries])


@bp.get("/entry.json")
def entry():
    """One entry whole (by its id or its original's), among the ones the list shows; 404 if
    it is not (any more)."""
    live, wanted = _pillow(request.args), request.args.get("id", "")
    with as_unavailable():
        queue = _listing(live).queue
        found = next((each for each in queue.peek() if wanted in (each.id, each.original_id)),
                     None)
        if found is None:
            raise Refused(404, "That message is not among the poisoned ones any more.")
        original = queue.original(found)
    return jsonify({**_shown(found, original), "length": len(original)})


@bp.post("/requeue")
def requeue():
    """``id``, or ``all=1`` (with ``limit``): the originals go back to the main queue."""
    return _change("requeue")


@bp.post("/delete")
def delete():
    """As ``requeue``, but deleting for good; needs ``confirm=yes`` (the page asked first)."""
    return _change("delete")


def _change(verb):
    params = _params()
    live = _pillow(params)
    if verb == "delete" and params.get("confirm") != "yes":
        raise Refused(400, "Not deleted: confirm=yes is missing (the page asks first).")
    listing_ = _listing(live)
    queue = listing_.queue
    try:
        if str(params.get("all", "")).lower() in ("1", "true"):
            done, left = _bulk(queue, verb, _limit(params), live)
        else:
            done, left = _one(queue, verb, str(params.get("id") or ""), live), 0
    finally:
        listing_.stale()  # even after an error: some may be done
        live.watcher.invalidate_poison_count()
    if verb == "requeue" and done:
        current_app.extensions["pillow"].wake_watcher(live)  # apply them now, not next poll
    past = "requeued" if verb == "requeue" else "deleted"
    return jsonify(done=done, left=left, message=f"{past.capitalize()} {done} message(s)."
                   + (f" {left} left: going on." if left else ""))


def _one(queue, verb, wanted, live):
    if not wanted:
        raise Refused(400, "Give id, or all=1.")
    with as_unavailable():
        done = (queue.requeue if verb == "requeue" else queue.delete)({wanted})
    if not done:
        raise Refused(404, "That message is not among the poisoned ones any more.")
    log.info("operator %sd poisoned message(s) %s of %s", verb, ", ".join(done),
             live.storage.poison_name)
    return len(done)


def _bulk(queue, verb, limit, live):
    """Do up to ``limit`` (None: as many as the queue counts now) for at most ~BULK_SECONDS;
    return ``(done, left)``, ``left`` being what is left of ``limit`` if time ran out."""
    deadline, progress = monotonic() + BULK_SECONDS, []

    def out_of_time():  # never before a first entry is done: each request gets somewhere
        return bool(progress) and monotonic() > deadline

    operation = queue.requeue_all if verb == "requeue" else queue.purge
    try:
        with as_unavailable():
            limit = queue.count() if limit is None else limit
            done = operation(limit, lambda: progress.append(1), out_of_time) if limit else 0
    except StorageUnavailable as exc:
        log.info("operator %sd %d poisoned message(s) of %s in bulk, then: %s", verb,
                 len(progress), live.storage.poison_name, exc)
        raise StorageUnavailable(f"{exc} ({len(progress)} done before it)") from None
    left = limit - done if done < limit and out_of_time() else 0
    log.info("operator %sd %d poisoned message(s) of %s in bulk (%d left of %d)", verb, done,
             live.storage.poison_name, left, limit)
    return done, left


def _limit(params):
    given = str(params.get("limit") or "")
    if not given:
        return None
    if not (given.isascii() and given.isdigit() and int(given) <= MOST):
        raise Refused(400, f"limit must be a whole number up to {MOST:,}, not {given[:20]!r}.")
    return int(given)


def init_app(app):
    app.register_blueprint(bp)
