"""Pushes through Redis: python-socketio's Redis manager, set to come back quickly after an
outage, and the ``Sender`` that keeps every caller (a request, the watcher) from waiting for it.
"""

import logging
from collections import OrderedDict
from datetime import datetime

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


def redis_manager(url, channel, write_only=False, shown=None):
    """python-socketio's Redis manager on ``channel``: a server's, or (``write_only``) the
    watcher role's, which only emits. ``shown`` (a ``ShownStates``) is what this process's
    screens were given: a ``state`` older than that is not handed to them."""
    options = {**MANAGER_OPTIONS, "retry": Retry(ConstantBackoff(MANAGER_RECONNECT_EVERY), -1)}
    return RedisManager(url, channel=channel, write_only=write_only,
                        logger=log if write_only else None, redis_options=options, shown=shown)


class ShownStates:
    """By pillow, the newest ``state`` this process handed to its screens, from Redis or from
    its own snapshot follower.

    The watcher stamps ``received_at`` on each change as it applies them, in order, so a state
    stamped before the newest one is stale. Redis hands those over: a publish sent to a Redis
    that hung (SIGSTOP, a stalled VM) is delivered when it answers again, after the newer states
    the follower pushed meanwhile (found by the chaos run: screens stepped back for a moment).
    And a screen that connects gets the newest of it and the follower's (``newest``), which is a
    poll behind what Redis brought (found by the chaos run too, on a screen that reconnected).
    """

    def __init__(self):
        self._newest = {}

    @staticmethod
    def _order(payload):
        try:
            return datetime.fromisoformat(payload["received_at"])
        except (KeyError, TypeError, ValueError):  # the initial state: before any other
            return None

    def has(self, payload):
        """Whether ``payload`` or a state applied after it was handed here already."""
        newest, order = self._order(self._newest.get(payload.get("pillow"))), self._order(payload)
        return newest is not None and order is not None and newest >= order

    def stale(self, payload):
        """Whether a state applied after ``payload`` was handed here already."""
        newest, order = self._order(self._newest.get(payload.get("pillow"))), self._order(payload)
        return newest is not None and order is not None and newest > order

    def newest(self, payload):
        """``payload``, or (a copy of) the state applied after it that was handed here."""
        return dict(self._newest[payload.get("pillow")]) if self.stale(payload) else payload

    def note(self, payload):
        if not self.stale(payload):
            self._newest[payload.get("pillow")] = payload


class RedisManager(socketio.RedisManager):
    """python-socketio's Redis manager, handing this process's screens no ``state`` older than
    one they were given (``ShownStates``), and noting the ones it hands them, so that a web
    worker's snapshot follower pushes a change only if Redis did not bring it (or a newer one)
    already: it used to push each one again a second later, doubling every broadcast's cost."""

    def __init__(self, *args, shown=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.shown = shown

    def _handle_emit(self, message):
        # python-socketio's one path for an emit reaching this process's screens (its own emits
        # and those from Redis); if it is renamed, tests/test_roles_web.py sees pushes doubled.
        # (Emits to this process's own screens skip the queue and this path: ignore_queue.)
        data = message.get("data")
        state = (message.get("event") == "state" and len(data or ()) == 1
                 and isinstance(data[0], dict) and self.shown is not None)
        if state and self.shown.stale(data[0]):
            log.info("dropped a state applied at %s from Redis: a newer one is shown",
                     data[0].get("received_at"))
            return
        super()._handle_emit(message)
        if state:
            self.shown.note(data[0])


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
