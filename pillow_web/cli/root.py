"""The ``pillow-web`` command group: logging, and one clear line for every expected failure."""

import logging
import sys
from functools import wraps

import click

from ..config import ConfigError
from ..storage.account import StorageUnavailable, describe
from ..storage.azurite import AzuriteError


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
        except StorageUnavailable as exc:
            raise click.ClickException(f"storage: {exc}") from None

    return wrapper


@click.group(help="The live state viewer for the Huggable Cloud Pillow.")
@click.version_option(package_name="pillow-web", prog_name="pillow-web")
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
