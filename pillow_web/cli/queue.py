"""``pillow-web queue``: what waits in a pillow's queue, and the queue over the last day."""

import json

import click

from .. import config as settings_module
from ..storage.account import BATCH, Storage
from .pillows import catalog_of, chosen_pillow, pillow_option
from .root import cli, friendly_errors

PILLOW_ENV = "PILLOW_QUEUE_PILLOW"


@cli.group(short_help="Look at the queue: what waits, and what it did over the day.")
def queue():
    """Look at a pillow's queue without consuming it: what waits there and what the dashboard
    would do with each message (peek), and the queue over the last 24 hours (stats)."""


@queue.command(short_help="Show what waits in the queue and what the dashboard would do.")
@click.option("--limit", envvar="PILLOW_QUEUE_LIMIT", default=BATCH, show_default=True,
              type=click.IntRange(1, BATCH),
              help=f"Show at most this many messages, 1-{BATCH} (env PILLOW_QUEUE_LIMIT).")
@click.option("--json", "as_json", is_flag=True, envvar="PILLOW_QUEUE_JSON",
              help="Print them as a JSON list, for scripts (env PILLOW_QUEUE_JSON).")
@pillow_option(PILLOW_ENV)
@friendly_errors
def peek(limit, as_json, pillow_id):
    """Show the next messages waiting in the pillow's queue, oldest first, without consuming
    them (a peek changes no visibility and no delivery count): id, when inserted, deliveries
    so far, what the dashboard would do with it, and the start of its text (escaped).

    What it would do is judged against the current state (the snapshot), in the queue's order.
    """
    from ..storage.poison import visible

    settings = settings_module.load()
    pillow = chosen_pillow(settings, pillow_id)
    live, storage = _queue_of(settings, pillow)
    try:
        rows = _rows(live, storage, limit, settings["MAX_DEQUEUE"])
    finally:
        storage.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    shared = live.shared_queue
    for number, row in enumerate([] if as_json else rows):
        click.echo(("\n" if number else "") + f"{row['id']}\n"
                   f"  inserted:   {row['inserted_on'] or '?'}\n"
                   f"  deliveries: {row['dequeue_count']}\n"
                   + (f"  pillow:     {row['pillow'] or '?'}\n" if shared else "")
                   + f"  would:      {visible(row['summary'], 300)}\n"
                   f"  text:       {visible(row['content'], 120)}")
    more = "; more may wait" if len(rows) == limit else ""
    if rows:
        click.echo(f"{len(rows)} waiting shown in {storage.queue_name}{more}", err=True)
    elif not as_json:
        click.echo(f"nothing waits in {storage.queue_name}")


def _queue_of(settings, pillow):
    """The ``LivePillow`` of ``pillow`` (its queue's pillows in one ``QueueState``, no
    watcher) and its queue's storage."""
    from ..domain.pillows import Pillow, QueueState
    from ..live_pillows import LivePillow

    specs = [spec for spec in settings[settings_module.PILLOWS] if spec["queue"] == pillow["queue"]]
    pillows = [Pillow(spec["id"], spec["name"], spec["queue"], catalog_of(spec)) for spec in specs]
    state = QueueState(pillows)
    storage = Storage.from_settings(settings, pillow["queue"])
    chosen = next(each for each in pillows if each.id == pillow["id"])
    return LivePillow(chosen, storage, state, watcher=None), storage


def _rows(live, storage, limit, max_dequeue):
    """Peek, then read the snapshot (as a following watcher does) to judge what waits by."""
    from ..domain.state import BadSnapshot
    from ..queue_view import waiting_rows
    from ..storage.peek import peek as peek_at
    from ..storage.poison import visible

    waiting = peek_at(storage, limit)
    if not waiting:
        return []
    try:
        live.queue_state.restore(storage.load_snapshot())
    except BadSnapshot as exc:  # the watcher starts without it too
        click.echo(f"warning: ignoring an unreadable snapshot ({visible(str(exc), 200)}); "
                   "judged against the initial state", err=True)
    return waiting_rows(live, waiting, max_dequeue)
