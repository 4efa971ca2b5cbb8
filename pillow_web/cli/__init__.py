"""The ``pillow-web`` command: one module per command (group), registered on ``cli`` here."""

from . import pillows, poison, post, queue, queue_stats, serve, watch  # noqa: F401  (importing a command module registers it)
from .root import cli

__all__ = ["cli"]
