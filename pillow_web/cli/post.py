"""``pillow-web post``: put a state on the queue from a terminal, as the pillow would."""

import click

from .. import config as settings_module
from ..domain.catalog import Catalog
from ..domain.messages import Rejected, compose, encode
from ..storage.account import Storage
from ..storage.poison import visible
from ..web.operations import message_for
from .root import cli, friendly_errors


@cli.command(short_help="Put a state on the queue, as the pillow would.")
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
    try:
        content = message_for(state, Catalog.from_settings(settings), text, at)
        forced = False
    except Rejected as exc:
        if not force:
            raise click.ClickException(f"{exc} (use --force to send it anyway)") from None
        click.echo(f"warning: {exc}; sending anyway", err=True)
        content, forced = compose(state.strip(), text, at), True  # as typed: a test of rejection
    sent_text = encode(content, as_base64)
    storage = Storage.from_settings(settings)
    try:
        storage.ensure()
        sent = storage.send(sent_text)
    finally:
        storage.close()
    # A forced message may be anything: show exactly what went on the queue.
    what = visible(sent_text, 300) if forced else state.strip().upper()
    click.echo(f"posted {what} to {settings['QUEUE']} (message {sent.id})")
