"""``pillow-web serve`` and ``pillow-web azurite``: run the dashboard, or a local Azurite."""

import os
import secrets
import signal

import click
import gevent
from gevent.event import Event

from ..config import IN_CHECKOUT, ROOT
from ..storage.azurite import Azurite
from .root import cli, friendly_errors


@cli.command(short_help="Serve the kiosk and push every state change.")
@click.option("--host", envvar="PILLOW_HOST", help="Address to listen on (env PILLOW_HOST).")
@click.option("--port", envvar="PILLOW_PORT", type=int, help="Port to listen on (env PILLOW_PORT).")
@click.option("--demo", is_flag=True, envvar="PILLOW_DEMO",
              help="Also run an in-memory Azurite on the default ports; random secret key "
                   "(env PILLOW_DEMO).")
@click.option("--role", type=click.Choice(["all", "web", "watcher"]), default="all",
              envvar="PILLOW_ROLE", show_default=True,
              help="all: pages, sockets and the watcher in one process; web: pages and sockets "
                   "only (needs PILLOW_MESSAGE_QUEUE); watcher: consume the queue, serve only "
                   "health (env PILLOW_ROLE).")
@friendly_errors
def serve(host, port, demo, role):
    """Serve the kiosk page and push every state change; Ctrl-C or SIGTERM stops cleanly."""
    from ..web.server import ListenError, run

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
        if role == "watcher":
            from ..watch.process import run_watcher  # imported only for this role

            run_watcher(overrides)
        else:
            run(overrides, role)
    except ListenError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if azurite:
            azurite.stop()


@cli.command(short_help="Run the pinned local Azurite on ports 10000-10002.")
@click.option("--location", envvar="PILLOW_AZURITE_DIR",
              default=str(ROOT / ".azurite") if IN_CHECKOUT else ".azurite",
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
