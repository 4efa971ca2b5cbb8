"""The ``pillow-web`` command: serve the dashboard, post a state, run a local Azurite."""

import logging
import os
import secrets
import signal
import sys
from contextlib import contextmanager
from functools import wraps

import click
import gevent
from gevent.event import Event

from . import config as settings_module
from .azurite import Azurite, AzuriteError
from .catalog import Catalog
from .config import ROOT, ConfigError
from .messages import Rejected, compose, encode, parse
from .storage import Storage, describe

log = logging.getLogger(__name__)


def friendly_errors(command):
    """Turn configuration and storage failures into one clear line and exit code 1."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        from azure.core.exceptions import AzureError

        try:
            return command(*args, **kwargs)
        except (ConfigError, AzuriteError) as exc:
            raise click.ClickException(str(exc)) from None
        except AzureError as exc:
            raise click.ClickException(f"storage: {describe(exc)}") from None

    return wrapper


@click.group(help="The live state viewer for the Huggable Cloud Pillow.")
@click.option("--log-level", envvar="PILLOW_LOG_LEVEL", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="How much to log (env PILLOW_LOG_LEVEL).")
def cli(log_level):
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The SDK logs every request and its headers at INFO; only its warnings are worth reading.
    quiet = max(logging.WARNING, logging.getLogger().level)
    logging.getLogger("azure").setLevel(quiet)
    # gevent-websocket logs every request at INFO; our access log is at DEBUG instead.
    logging.getLogger("geventwebsocket").setLevel(quiet)


@cli.command()
@click.option("--host", envvar="PILLOW_HOST", help="Address to listen on (env PILLOW_HOST).")
@click.option("--port", envvar="PILLOW_PORT", type=int, help="Port to listen on (env PILLOW_PORT).")
@click.option("--demo", is_flag=True, envvar="PILLOW_DEMO",
              help="Also run an in-memory Azurite on the default ports; random secret key "
                   "(env PILLOW_DEMO).")
@friendly_errors
def serve(host, port, demo):
    """Serve the kiosk page and push every state change; Ctrl-C or SIGTERM stops cleanly."""
    from .server import run

    overrides = {"DEMO": True} if demo else {}
    if demo and not os.environ.get("PILLOW_OPERATOR_TOKEN"):
        # A fresh token per demo run, shown once on this terminal (never logged).
        overrides["OPERATOR_TOKEN"] = secrets.token_urlsafe(16)
        click.echo(f"operator token for this demo: {overrides['OPERATOR_TOKEN']}", err=True)
    if host:
        overrides["HOST"] = host
    if port:
        overrides["PORT"] = port
    azurite = None
    if demo:
        azurite = Azurite(blob_port=10000, queue_port=10001, table_port=10002)
        click.echo("starting an in-memory Azurite on 127.0.0.1:10000-10002 ...", err=True)
        azurite.start()
    try:
        run(overrides)
    finally:
        if azurite:
            azurite.stop()


@cli.command()
@click.argument("state")
@click.option("--text", envvar="PILLOW_POST_TEXT",
              help="Text to show instead of the state's own (env PILLOW_POST_TEXT).")
@click.option("--at", envvar="PILLOW_POST_AT",
              help="ISO-8601 time the state was sensed; default now (env PILLOW_POST_AT).")
@click.option("--base64", "as_base64", is_flag=True, envvar="PILLOW_POST_BASE64",
              help="Encode the message in base64, as Azure Functions do (env PILLOW_POST_BASE64).")
@click.option("--force", is_flag=True, envvar="PILLOW_POST_FORCE",
              help="Send even if the dashboard would reject it (env PILLOW_POST_FORCE).")
@friendly_errors
def post(state, text, at, as_base64, force):
    """Put STATE on the queue, as the pillow would (e.g. `pillow-web post hugging`)."""
    settings = settings_module.load()
    content = compose(state.strip(), text, at)
    try:
        parse(content, Catalog.from_settings(settings).names)
    except Rejected as exc:
        if not force:
            raise click.ClickException(f"{exc} (use --force to send it anyway)") from None
        click.echo(f"warning: {exc}; sending anyway", err=True)
    storage = Storage.from_settings(settings)
    storage.ensure()
    sent = storage.send(encode(content, as_base64))
    click.echo(f"posted {state.strip().upper()} to {settings['QUEUE']} (message {sent.id})")


@cli.command()
@click.option("--location", envvar="PILLOW_AZURITE_DIR", default=str(ROOT / ".azurite"),
              show_default=True, type=click.Path(file_okay=False),
              help="Folder Azurite keeps its data in (env PILLOW_AZURITE_DIR).")
@click.option("--in-memory", is_flag=True, envvar="PILLOW_AZURITE_IN_MEMORY",
              help="Keep nothing on disk (env PILLOW_AZURITE_IN_MEMORY).")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PILLOW_AZURITE_HOST",
              help="Address to listen on (env PILLOW_AZURITE_HOST).")
@friendly_errors
def azurite(location, in_memory, host):
    """Run the pinned local Azurite in the foreground on ports 10000-10002."""
    server = Azurite(None if in_memory else location, host, 10000, 10001, 10002)
    server.start(output=None)
    where = "in memory" if in_memory else f"data in {location}"
    click.echo(f"Azurite on {host}:10000 (blob) and :10001 (queue), {where}; Ctrl-C stops it")
    stopped = Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stopped.set)
    gevent.spawn(lambda: (server.process.wait(), stopped.set()))
    stopped.wait()
    server.stop()


@cli.group()
def poison():
    """Look at, requeue or purge the messages the dashboard could not use (<queue>-poison)."""


@contextmanager
def open_poison():
    """The settings and the poison queue; its connections are closed when done."""
    from .poison import PoisonQueue

    settings = settings_module.load()
    storage = Storage.from_settings(settings)
    try:
        storage.ensure()
        yield settings, PoisonQueue(storage)
    finally:
        storage.close()


@poison.command("list")
@click.option("--limit", envvar="PILLOW_POISON_LIMIT", default=100, show_default=True,
              type=click.IntRange(1, 10_000),
              help="Show at most this many entries (env PILLOW_POISON_LIMIT).")
@friendly_errors
def poison_list(limit):
    """Show each poisoned message: id, when, why, and the start of its text."""
    from .poison import visible

    with open_poison() as (settings, queue):
        entries = queue.entries(limit)
        total = queue.count()
    for entry in entries:
        click.echo(f"{entry.id}  {entry.poisoned_at}  {visible(entry.reason, 120)}\n"
                   f"    {visible(entry.content)}" + ("  [full text kept in a blob]"
                                                     if entry.blob else ""))
    click.echo(f"{len(entries)} shown of {max(total, len(entries))} in "
               f"{settings['QUEUE']}-poison", err=True)


@poison.command()
@click.argument("message_id", required=False)
@click.option("--all", "every", is_flag=True, envvar="PILLOW_POISON_ALL",
              help="Requeue every poisoned message (env PILLOW_POISON_ALL).")
@friendly_errors
def requeue(message_id, every):
    """Send MESSAGE_ID (or --all) back to the main queue with its original text."""
    if bool(message_id) == every:
        raise click.UsageError("give one MESSAGE_ID or --all")
    with open_poison() as (settings, queue):
        done = queue.requeue(None if every else {message_id})
    if message_id and not done:
        raise click.ClickException(f"no poisoned message {message_id} in {settings['QUEUE']}"
                                   "-poison (see `pillow-web poison list`)")
    click.echo(f"requeued {len(done)} message(s) to {settings['QUEUE']}")


@poison.command()
@click.option("--yes", is_flag=True, envvar="PILLOW_POISON_YES",
              help="Do not ask for confirmation, for scripts (env PILLOW_POISON_YES).")
@friendly_errors
def purge(yes):
    """Delete every poisoned message and its kept text, after asking."""
    with open_poison() as (settings, queue):
        name = f"{settings['QUEUE']}-poison"
        if not yes:
            click.confirm(f"Delete the {queue.count()} message(s) in {name} for good?",
                          abort=True)
        purged = queue.purge()
    click.echo(f"purged {purged} message(s) from {name}")
