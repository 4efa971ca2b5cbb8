"""``pillow-web post``: put a state on a pillow's queue from a terminal, as the pillow would."""

import click

from .. import config as settings_module
from ..domain.messages import Rejected, compose, encode
from ..storage.account import Storage
from ..storage.poison import visible
from ..web.operations import message_for
from .pillows import catalog_of, chosen_pillow, pillow_option, shares_queue
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
@pillow_option("PILLOW_POST_PILLOW")
@friendly_errors
def post(state, text, at, as_base64, force, pillow_id):
    """Put STATE on the queue, as the pillow would (e.g. `pillow-web post hugging`).

    With several pillows, --pillow names the one to post to (its queue, checked against its
    catalog); on a queue that serves several, the message names its pillow.
    """
    settings = settings_module.load()
    pillow = chosen_pillow(settings, pillow_id)
    named = pillow["id"] if shares_queue(settings, pillow) else None  # as operations.post_state
    try:
        content = message_for(state, catalog_of(pillow), text, at, named)
        forced = False
    except Rejected as exc:
        if not force:
            raise click.ClickException(f"{exc} (use --force to send it anyway)") from None
        click.echo(f"warning: {exc}; sending anyway", err=True)
        # As typed, a test of rejection; still naming its pillow, so it is refused for itself.
        content, forced = compose(state.strip(), text, at, named), True
    sent_text = encode(content, as_base64)
    storage = Storage.from_settings(settings, pillow["queue"])
    try:
        storage.ensure()
        sent = storage.send(sent_text)
    finally:
        storage.close()
    # A forced message may be anything: show exactly what went on the queue.
    what = visible(sent_text, 300) if forced else state.strip().upper()
    several = len(settings[settings_module.PILLOWS]) > 1
    to = f"{pillow['id']} on {pillow['queue']}" if several else pillow["queue"]
    click.echo(f"posted {what} to {to} (message {sent.id})")
