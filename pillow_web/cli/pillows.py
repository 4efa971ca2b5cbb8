"""``pillow-web pillows``, and choosing one of them with ``--pillow`` (post, poison).

A pillow here is its entry of the PILLOWS setting (id, name, queue, states_file): the CLI needs
no watcher, and only the chosen pillow's catalog.
"""

import json

import click

from .. import config as settings_module
from ..domain.catalog import Catalog
from ..storage.poison import visible
from .root import cli, friendly_errors


def pillow_option(envvar):
    """``--pillow ID`` (in ``pillow_id``), read from ``envvar`` when not given."""
    return click.option("--pillow", "pillow_id", envvar=envvar, metavar="ID",
                        help=f"The pillow (id) to work on; default: the first one configured, "
                             f"see `pillow-web pillows` (env {envvar}).")


def chosen_pillow(settings, pillow_id):
    """The PILLOWS entry ``pillow_id`` names, or the default (the first) if None; a usage
    error listing the known ids if it names none."""
    pillows = settings[settings_module.PILLOWS]
    if pillow_id is None:
        return pillows[0]
    for pillow in pillows:
        if pillow["id"] == pillow_id:
            return pillow
    known = ", ".join(pillow["id"] for pillow in pillows)
    raise click.BadParameter(f"unknown pillow {pillow_id!r:.40} (known pillows: {known})",
                             ctx=click.get_current_context(silent=True), param_hint="'--pillow'")


def shares_queue(settings, pillow):
    """Whether other pillows use ``pillow``'s queue too: its messages must then name it."""
    return sum(other["queue"] == pillow["queue"] for other in settings[settings_module.PILLOWS]) > 1


def catalog_of(pillow):
    """``pillow``'s state catalog (its states_file), with images under static/img/."""
    return Catalog.from_file(pillow["states_file"])


@cli.command("pillows", short_help="List the pillows this dashboard shows.")
@click.option("--json", "as_json", is_flag=True, envvar="PILLOW_PILLOWS_JSON",
              help="Print them as a JSON list, for scripts (env PILLOW_PILLOWS_JSON).")
@friendly_errors
def list_pillows(as_json):
    """List the configured pillows, the default (first) one first: id, name, queue and catalog
    file, one per line. Reads the settings only (no storage)."""
    fields = ("id", "name", "queue", "states_file")
    pillows = [{field: pillow[field] for field in fields}
               for pillow in settings_module.load()[settings_module.PILLOWS]]
    if as_json:
        click.echo(json.dumps(pillows, indent=2, ensure_ascii=False))
        return
    # A name or path is the operator's own text, but may hold characters a terminal acts on.
    rows = [[visible(pillow[field], 200) for field in fields] for pillow in pillows]
    widths = [max(len(row[column]) for row in rows) for column in range(len(fields) - 1)]
    for row in rows:  # the last column (the catalog file) is not padded
        padded = [value.ljust(width) for value, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*padded, row[-1]]))
