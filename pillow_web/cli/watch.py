"""``pillow-web watch``: the watcher role, consuming the queue and serving only its health."""

import click

from .root import cli, friendly_errors


@cli.command(short_help="Consume the queue (one process per queue holds the lease); health only.")
@click.option("--host", envvar="PILLOW_HOST",
              help="Address the health endpoint listens on (env PILLOW_HOST).")
@click.option("--port", envvar="PILLOW_PORT", type=int,
              help="Port of the health endpoint (env PILLOW_PORT).")
@friendly_errors
def watch(host, port):
    """Consume the queue while this process holds its lease (else stand by and follow the
    snapshot), push changes to the web workers, and serve GET /healthz and /livez only.
    Ctrl-C or SIGTERM finishes the batch in hand, saves and releases the lease."""
    from ..watch.process import run_watcher
    from ..web.server import ListenError

    overrides = {key: value for key, value in (("HOST", host), ("PORT", port)) if value}
    try:
        run_watcher(overrides)
    except ListenError as exc:
        raise click.ClickException(str(exc)) from None
