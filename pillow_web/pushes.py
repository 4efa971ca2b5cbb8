"""Pushes through Redis: python-socketio's Redis manager, set to come back quickly after an
outage, and the ``Sender`` that keeps every caller (a request, the watcher) from waiting for it.
"""

import logging
from collections import OrderedDict

import gevent
import socketio
from gevent.event import Event
from redis.backoff import ConstantBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 1.0  # seconds one Redis call may take before Redis counts as away (a hung one)
# python-socketio's manager: while Redis is away redis-py reconnects every half second, so its
# listener never falls into python-socketio's own back-off (1, 2, 4 … 60 s) and screens get
# pushes again within a second of Redis's return (measured: 11 s after a 20 s outage without).
# Its publishes would wait for Redis too: they are made only by a Sender, never by a request or
# the watcher itself, and given up after PUBLISH_TIMEOUT.
MANAGER_OPTIONS = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT}
MANAGER_RECONNECT_EVERY = 0.5
# Seconds a push may wait for Redis before the other processes are left to their snapshot
# followers. A server's emit reaches this process's own screens first, without yielding, so only
# the publish is cut; while Redis is away its screens get each change at most this late.
PUBLISH_TIMEOUT = 1.0


def redis_manager(url, channel, write_only=False, delivered=None):
    """python-socketio's Redis manager on ``channel``: a server's, or (``write_only``) the
    watcher role's, which only emits. ``delivered(event, data)`` is told each broadcast it hands
    to this process's screens."""
    options = {**MANAGER_OPTIONS, "retry": Retry(ConstantBackoff(MANAGER_RECONNECT_EVERY), -1)}
    return RedisManager(url, channel=channel, write_only=write_only,
                        logger=log if write_only else None, redis_options=options,
                        delivered=delivered)


class RedisManager(socketio.RedisManager):
    """python-socketio's Redis manager, saying what it delivered here, so that a web worker's
    snapshot follower pushes a change only if Redis did not bring it (or a newer one) already:
    it used to push each one again a second later, doubling every broadcast's cost."""

    def __init__(self, *args, delivered=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.delivered = delivered

    def _handle_emit(self, message):
        # python-socketio's one path for an emit reaching this process's screens (its own emits
        # and those from Redis); if it is renamed, tests/test_roles_web.py sees pushes doubled.
        super()._handle_emit(message)
        data = message.get("data")
        # (Emits to this process's own screens skip the queue and this path: ignore_queue.)
        if self.delivered is not None and len(data or ()) == 1:
            self.delivered(message.get("event"), data[0])


def room(pillow_id):
    return f"pillow:{pillow_id}"


def rooms_of(data):
    """The rooms of the screens an event is for: of the pillow a ``state`` is about, of the
    pillows a ``status`` is about; None (every screen) for the others."""
    if isinstance(data, dict) and isinstance(data.get("pillow"), str):
        return room(data["pillow"])
    if isinstance(data, dict) and isinstance(data.get("pillows"), list):
        return [room(pillow_id) for pillow_id in data["pillows"]]
    return None


class Sender:
    """Emits from a greenlet of its own, in order, so that no caller ever waits for Redis.

    While Redis is away each emit waits for it up to PUBLISH_TIMEOUT; what is asked meanwhile is
    coalesced to the latest of each event for each addressee (a pillow's screens), so nothing
    piles up and screens jump to the newest.
    """

    def __init__(self, emit):
        self._emit = emit
        self._pending = OrderedDict()  # (event, its rooms) -> (event, its latest data)
        self._ready = Event()
        self._greenlet = None

    def __call__(self, event, data):
        key = (event, repr(rooms_of(data)))  # coalesce per addressee: a pillow's, not all
        self._pending.pop(key, None)
        self._pending[key] = (event, data)
        self._ready.set()
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def _run(self):
        while True:
            self._ready.wait()
            self._ready.clear()
            while self._pending:
                _, (event, data) = self._pending.popitem(last=False)
                try:
                    with gevent.Timeout(PUBLISH_TIMEOUT, False):  # False: silently
                        self._emit(event, data)
                except Exception:  # a push that failed must not end the ones after it
                    log.exception("could not push the %s event", event)

    def close(self):
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
