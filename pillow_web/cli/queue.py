"""``pillow-web queue``: what waits in a pillow's queue, and the queue over the last day."""


from .root import cli


@cli.group(short_help="Look at the queue: what waits, and what it did over the day.")
def queue():
    """Look at a pillow's queue without consuming it: what waits there and what the dashboard
    would do with each message (peek), and the queue over the last 24 hours (stats)."""
