"""``pillow-web queue stats``: the queue's depth, rates and oldest age over the last day."""

import json
from datetime import UTC, datetime

import click

from .. import config as settings_module
from ..storage.account import Storage
from .pillows import chosen_pillow, pillow_option
from .queue import queue
from .root import friendly_errors

FINE_HOURS = 3  # up to this many hours, a row per minute; past it, a row per 10 minutes
BLOCK = 10  # minutes in a row past FINE_HOURS
HEADER = f"{'UTC':<16} {'applied':>8} {'skipped':>8} {'poisoned':>8} {'depth':>8} {'oldest':>9}"


@queue.command("stats", short_help="Show what the queue did over the last hours.")
@click.option("--hours", envvar="PILLOW_QUEUE_HOURS", default=1, show_default=True,
              type=click.IntRange(1, 24),
              help="How many of the last hours to show, 1-24 (env PILLOW_QUEUE_HOURS).")
@click.option("--json", "as_json", is_flag=True, envvar="PILLOW_QUEUE_JSON",
              help="Print every minute as JSON, for scripts (env PILLOW_QUEUE_JSON).")
@pillow_option("PILLOW_QUEUE_PILLOW")
@friendly_errors
def stats(hours, as_json, pillow_id):
    """Show, per minute, the messages the watcher applied, skipped and poisoned, how many
    waited (depth) and how old the oldest waiting one was, with totals: the queue stats the
    active watcher keeps beside the snapshot (written at most once a minute, so the last
    minute may be missing). Only minutes with something in them are listed; past 3 hours, a
    row sums 10 minutes. Reads one blob; consumes nothing.
    """
    from ..domain.queue_stats import BadStats, totals
    from ..storage.poison import visible
    from ..storage.queue_stats import StatsBlob

    settings = settings_module.load()
    storage = Storage.from_settings(settings, chosen_pillow(settings, pillow_id)["queue"])
    now = datetime.now(UTC)
    try:
        stored = StatsBlob(storage).load_if_changed(now)
    except BadStats as exc:
        raise click.ClickException(f"the queue stats of {storage.queue_name} cannot be used "
                                   f"({visible(str(exc), 200)}); the watcher replaces "
                                   "them") from None
    finally:
        storage.close()
    series = stored.series(now, hours) if stored is not None else []
    summed = totals(series)
    if as_json:
        click.echo(json.dumps({"queue": storage.queue_name, "hours": hours, "series": series,
                               "totals": summed}, indent=2))
    if stored is None:
        click.echo(f"no queue stats for {storage.queue_name} yet: the active watcher writes "
                   "them within a minute of its first poll", err=as_json)
        return
    if not as_json:
        _print(storage.queue_name, hours, series, summed)


def _print(queue_name, hours, series, summed):
    rows = [row for row in _rows(series, BLOCK if hours > FINE_HOURS else 1) if _active(row)]
    each = "10 minutes" if hours > FINE_HOURS else "minute"
    click.echo(f"{queue_name}, the last {hours} h, per {each} (rows with activity only):")
    click.echo(HEADER)
    for row in rows:
        click.echo(f"{row['minute'][:16].replace('T', ' '):<16} {row['applied']:>8} "
                   f"{row['skipped']:>8} {row['poisoned']:>8} {_shown(row['depth']):>8} "
                   f"{_age(row['oldest_age']):>9}")
    if not rows:
        click.echo("(nothing happened)")
    click.echo(f"total: {summed['applied']} applied, {summed['skipped']} skipped, "
               f"{summed['poisoned']} poisoned; largest depth {_shown(summed['depth'])}, "
               f"oldest waiting {_age(summed['oldest_age'])}")


def _rows(series, size):
    """``series`` in rows of ``size`` minutes: counts summed, the last depth, the largest age."""
    for start in range(0, len(series), size):
        block = series[start:start + size]
        depths = [row["depth"] for row in block if row["depth"] is not None]
        ages = [row["oldest_age"] for row in block if row["oldest_age"] is not None]
        yield {"minute": block[0]["minute"],
               **{field: sum(row[field] for row in block)
                  for field in ("applied", "skipped", "poisoned")},
               "depth": depths[-1] if depths else None, "oldest_age": max(ages, default=None)}


def _active(row):
    return bool(row["applied"] or row["skipped"] or row["poisoned"] or row["depth"]
                or row["oldest_age"])


def _shown(value):
    return "-" if value is None else str(value)


def _age(seconds):
    """``seconds`` as a short duration: 42 s, 5 min 3 s, 2 h 5 min; "-" for none."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
