"""``pillow-web queue stats``: the queue's depth, rates and oldest age over the last day."""

from .queue import queue  # noqa: F401  (the group this module's command joins)
