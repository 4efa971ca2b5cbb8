"""``pillow-web poison``: look at, requeue or purge what the dashboard could not use."""

import signal
import sys
from contextlib import contextmanager, suppress
from time import monotonic

import click
from azure.core.exceptions import AzureError

from .. import config as settings_module
from ..storage.account import Storage, StorageUnavailable, describe
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
    """Send MESSAGE_ID (or --all) back to the main queue with its original text.

    --all goes batch by batch, with a running count on a terminal; Ctrl-C stops it after the
    batch in hand.
    """
    if bool(message_id) == every:
        raise click.UsageError("give one MESSAGE_ID or --all")
    with open_poison(pillow_id) as (storage, queue):
        if every:
            done = in_bulk(queue.requeue_all, queue.count(), "requeued",
                           f"to {storage.queue_name}", storage.poison_name)
        else:
            done = len(queue.requeue({message_id}))
    if message_id and not done:
        raise click.ClickException(f"no poisoned message {message_id} in {storage.poison_name}"
                                   " (see `pillow-web poison list`)")
    click.echo(f"requeued {done:,} message(s) to {storage.queue_name}")


@poison.command(short_help="Delete every poisoned message, after asking.")
@click.option("--yes", is_flag=True, envvar="PILLOW_POISON_YES",
              help="Do not ask for confirmation, for scripts (env PILLOW_POISON_YES).")
@pillow_option(PILLOW_ENV)
@friendly_errors
def purge(yes, pillow_id):
    """Delete every poisoned message and its kept text, after asking.

    It deletes at most as many as it counted (and asked about), batch by batch, with a running
    count on a terminal; Ctrl-C stops it after the batch in hand.
    """
    with open_poison(pillow_id) as (storage, queue):
        name, count = storage.poison_name, queue.count()
        if not yes:
            click.confirm(f"Delete the {count:,} message(s) in {name} for good?", abort=True)
        purged = in_bulk(queue.purge, count, "purged", f"from {name}", name)
    click.echo(f"purged {purged:,} message(s) from {name}")


def in_bulk(operation, count, verb, where, poison_name):
    """Run ``operation`` (``requeue_all`` or ``purge``) on at most ``count`` entries, showing
    progress; return how many it did.

    A storage error becomes one line that says how many were done before it; Ctrl-C stops after
    the batch in hand (a second one at once), says how many were done, and exits with 130.
    """
    ctrl_c = CtrlC()
    progress = Progress(verb, count, stopping=lambda: ctrl_c.requested)
    try:
        with ctrl_c:
            progress.draw()
            done = operation(count, progress.step, progress.stopping)
    except (AzureError, StorageUnavailable) as exc:
        reason = exc if isinstance(exc, StorageUnavailable) else describe(exc)
        raise click.ClickException(
            f"storage: {reason}\n{verb} {progress.done:,} message(s) {where} before this "
            f"error; the rest are still in {poison_name}") from None
    except KeyboardInterrupt:
        done, ctrl_c.requested = progress.done, True
    finally:
        progress.close()
    if ctrl_c.requested and done < count:
        click.echo(f"{verb} {done:,} message(s) {where}, then stopped (Ctrl-C); "
                   f"any left are still in {poison_name}")
        raise click.exceptions.Exit(130)
    return done


class CtrlC:
    """While in use, a first Ctrl-C only sets ``requested`` (stop after the batch in hand); a
    second one interrupts at once, as usual. The handler prints nothing: it may run in the
    middle of a write to stderr."""

    requested, previous = False, None

    def __enter__(self):
        with suppress(ValueError):  # not the main thread: Ctrl-C keeps interrupting at once
            # None: the handler in place was not set from Python; the default is put back.
            self.previous = signal.signal(signal.SIGINT, self._first) or signal.SIG_DFL
        return self

    def _first(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class Progress:
    """A one-line running count on ``stream`` (default: stderr), redrawn at most every
    ``interval`` s, and only when ``stream`` is a terminal: piped output gets just the summary.
    """

    def __init__(self, verb, total, stream=None, interval=0.1, stopping=lambda: False):
        self.verb, self.total, self.interval, self.stopping = verb, total, interval, stopping
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()
        self.done, self.drawn_at = 0, None

    def step(self):
        """One more entry done."""
        self.done += 1
        if self.drawn_at is None or self.done == self.total \
                or monotonic() - self.drawn_at >= self.interval:
            self.draw()

    def draw(self):
        """Show the count now (on a terminal)."""
        if not self.shown:
            return
        percent = f" ({100 * self.done // self.total}%)" if self.total else ""
        stopping = " - stopping after this batch (Ctrl-C again: at once)" \
            if self.stopping() else ""
        self.stream.write(f"\r\x1b[K{self.verb} {self.done:,} of {self.total:,}{percent}"
                          f"{stopping}")
        self.stream.flush()
        self.drawn_at = monotonic()

    def close(self):
        """Erase the line, so that the summary after it stands alone."""
        if self.drawn_at is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn_at = None
