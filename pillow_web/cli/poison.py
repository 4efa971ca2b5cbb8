"""``pillow-web poison``: look at, requeue or purge what the dashboard could not use."""

from contextlib import contextmanager

import click

from .. import config as settings_module
from ..storage.account import Storage
from .pillows import chosen_pillow, pillow_option
from .root import cli, friendly_errors


@cli.group(short_help="Look at, requeue or purge the messages it could not use.")
def poison():
    """Look at, requeue or purge the messages the dashboard could not use (<queue>-poison).

    Each queue has its own poison queue: --pillow picks the queue of that pillow (default: the
    first pillow's); pillows that share a queue share its poison queue.
    """


PILLOW_ENV = "PILLOW_POISON_PILLOW"


@contextmanager
def open_poison(pillow_id):
    """The storage of the queue of pillow ``pillow_id`` (None: the default one) and its poison
    queue; their connections are closed when done."""
    from ..storage.poison import PoisonQueue

    settings = settings_module.load()
    storage = Storage.from_settings(settings, chosen_pillow(settings, pillow_id)["queue"])
    try:
        storage.ensure()
        yield storage, PoisonQueue(storage)
    finally:
        storage.close()


@poison.command("list", short_help="List the poisoned messages, oldest first.")
@click.option("--limit", envvar="PILLOW_POISON_LIMIT", default=100, show_default=True,
              type=click.IntRange(1, 10_000),
              help="Show at most this many entries (env PILLOW_POISON_LIMIT).")
@pillow_option(PILLOW_ENV)
@friendly_errors
def poison_list(limit, pillow_id):
    """Show each poisoned message, oldest first: id, when, why, and the start of its text.

    The id is the one the message had on the main queue (the one `post` printed).
    """
    from ..storage.poison import visible

    with open_poison(pillow_id) as (storage, queue):
        entries = queue.entries(limit)
        total = queue.count()
    for entry in entries:
        click.echo(f"{entry.original_id or entry.id}  {entry.poisoned_at}  "
                   f"{visible(entry.reason, 120)}\n    {visible(entry.content)}"
                   + ("  [full text kept in a blob]" if entry.blob else ""))
    click.echo(f"{len(entries)} shown of {max(total, len(entries))} in "
               f"{storage.poison_name}", err=True)


@poison.command(short_help="Show one poisoned message whole, and why.")
@click.argument("message_id")
@pillow_option(PILLOW_ENV)
@friendly_errors
def show(message_id, pillow_id):
    """Show one poisoned message whole: its ids, when, why, and all of its text (escaped)."""
    from ..storage.poison import visible

    with open_poison(pillow_id) as (storage, queue):
        entry = queue.find(message_id)
        if entry is None:
            raise click.ClickException(f"no poisoned message {message_id} in "
                                       f"{storage.poison_name} (see `pillow-web poison list`)")
        original = queue.original(entry)
    click.echo(f"id:          {entry.original_id or entry.id}\n"
               f"poison id:   {entry.id}\n"
               f"poisoned at: {entry.poisoned_at}\n"
               f"reason:      {visible(entry.reason, len(entry.reason))}\n"
               f"text ({len(original)} characters, escaped):\n"
               f"{visible(original, len(original))}")


@poison.command(short_help="Send poisoned messages back to the main queue.")
@click.argument("message_id", required=False)
@click.option("--all", "every", is_flag=True, envvar="PILLOW_POISON_ALL",
              help="Requeue every poisoned message (env PILLOW_POISON_ALL).")
@pillow_option(PILLOW_ENV)
@friendly_errors
def requeue(message_id, every, pillow_id):
    """Send MESSAGE_ID (or --all) back to the main queue with its original text."""
    if bool(message_id) == every:
        raise click.UsageError("give one MESSAGE_ID or --all")
    with open_poison(pillow_id) as (storage, queue):
        done = queue.requeue(None if every else {message_id})
    if message_id and not done:
        raise click.ClickException(f"no poisoned message {message_id} in {storage.poison_name}"
                                   " (see `pillow-web poison list`)")
    click.echo(f"requeued {len(done)} message(s) to {storage.queue_name}")


@poison.command(short_help="Delete every poisoned message, after asking.")
@click.option("--yes", is_flag=True, envvar="PILLOW_POISON_YES",
              help="Do not ask for confirmation, for scripts (env PILLOW_POISON_YES).")
@pillow_option(PILLOW_ENV)
@friendly_errors
def purge(yes, pillow_id):
    """Delete every poisoned message and its kept text, after asking."""
    with open_poison(pillow_id) as (storage, queue):
        name = storage.poison_name
        if not yes:
            click.confirm(f"Delete the {queue.count()} message(s) in {name} for good?",
                          abort=True)
        purged = queue.purge()
    click.echo(f"purged {purged} message(s) from {name}")
