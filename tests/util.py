"""Helpers shared by the tests: waiting on a condition instead of guessing with a sleep."""

from time import monotonic

import gevent


def wait_for(predicate, timeout=10.0, message="condition", interval=0.02):
    """Return ``predicate()`` once it is truthy; fail the test if ``timeout`` seconds pass first."""
    deadline = monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        gevent.sleep(interval)


def poison(storage, content, reason="test reason"):
    """Poison ``content`` the way the watcher does; return the original message id."""
    storage.send(content)
    [message] = storage.receive(30)
    storage.to_poison(message, reason)
    return message.id


class Received:
    """Collects a Socket.IO test client's events across calls (``get_received`` drains them)."""

    def __init__(self, socket_client):
        self.socket_client = socket_client
        self.packets = []

    def __call__(self, name):
        self.packets += self.socket_client.get_received()
        return [packet["args"][0] for packet in self.packets if packet["name"] == name]

    def wait(self, name, predicate=lambda args: True, timeout=10.0):
        """The first ``name`` event matching ``predicate``, waiting for it up to ``timeout``."""
        return wait_for(lambda: next((a for a in self(name) if predicate(a)), None), timeout,
                        f"a {name!r} event")
