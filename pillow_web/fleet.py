"""What the processes of one dashboard share, through Redis (``PILLOW_MESSAGE_QUEUE``).

Without a message queue a process is alone: the all-in-one ``serve`` pushes to its own screens
and needs nothing here, so every method is a no-op. With one, the watcher's pushes reach the
screens of every web worker (Flask-SocketIO's message queue), a web worker's post wakes the
watcher, and the console sees every worker's screens and the watcher's link.
"""


class Fleet:
    """This process's link to the others; a no-op one when ``url`` is empty."""

    def __init__(self, url=""):
        self.url = url

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.get("MESSAGE_QUEUE", ""))

    @property
    def shared(self):
        return bool(self.url)

    def emit(self, event, data):
        """Push ``event`` to every screen of every web worker (the watcher role's emit)."""

    def serve_watcher(self, watcher):
        """Let the others wake ``watcher`` and see its status (the watcher role)."""

    def wake_watcher(self):
        """Ask the watcher, in whatever process it runs, to poll now (after a post)."""

    def close(self):
        """Stop what ``serve_watcher`` started and close connections."""
