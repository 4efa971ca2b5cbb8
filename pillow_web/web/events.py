"""Socket.IO: push ``state`` and ``status`` to screens. Screens only listen; nothing they send
changes anything."""

import logging
from datetime import UTC, datetime

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room

from ..domain.state import isotime
from ..fleet_screens import screen_info
from ..pushes import room, rooms_of
from . import socket_guard

log = logging.getLogger(__name__)

socketio = SocketIO()


def init_app(app, fleet):
    """Bind Socket.IO to ``app`` (through ``fleet``'s message queue, if it has one); return
    ``push(event, data)`` to every screen, of every process, and ``push_here(event, data)`` to
    this process's own screens only (its room, not through the queue)."""
    origins = [origin.strip() for origin in app.config["CORS_ORIGINS"].split(",") if origin.strip()]

    def same_origin_or_listed(origin, environ):
        """Engine.IO's own same-origin rule (a list alone would shut out our own page)."""
        if origin in origins:
            return True
        scheme, host = environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST", "")
        proxied = (environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip() + "://"
                   + environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip())
        return origin in (f"{scheme}://{host}", proxied)

    socketio.init_app(
        app,
        async_mode="gevent",
        # None means same-origin only; listed origins are added for other front ends.
        cors_allowed_origins=same_origin_or_listed if origins else None,
        # Screens send nothing but pings; a small buffer caps what one client can make us parse.
        max_http_buffer_size=4096,
        # Given every time (None: in process): this SocketIO object serves each app in turn.
        client_manager=fleet.client_manager(),
    )
    server = socketio.server  # this app's server, even if another app is created later (tests)
    socket_guard.guard(server, app.config["SCREENS_PER_ADDRESS"])

    def push(event, data):
        server.emit(event, data, to=rooms_of(data), namespace="/")

    def push_here(event, data):
        # Without the queue, an emit reaches this process's screens only (and reaches them
        # while Redis is away).
        if event == "state":
            fleet.shown.note(data)
        server.emit(event, data, to=rooms_of(data) or fleet.room, namespace="/",
                    ignore_queue=True)

    return fleet.sender(push), push_here


def shown_pillows(dashboard, auth):
    """The pillows a screen shows: ``{"pillow": id}``, ``{"overview": true}`` for every one,
    none (a page of an older build) for the default one; None for an unknown id."""
    if isinstance(auth, dict) and auth.get("overview") is True:
        return list(dashboard.pillows.values())
    chosen = auth.get("pillow") if isinstance(auth, dict) else None
    if chosen is None:
        return [dashboard.default]
    live = dashboard.pillows.get(chosen) if isinstance(chosen, str) else None
    return [live] if live else None


@socketio.on("connect")
def on_connect(auth=None):
    """A new screen gets the build id, the server's clock, and the current state and queue status
    of each pillow it shows, at once; it joins each one's room.

    A screen that loaded its page from another build reloads itself on ``hello``; it reckons
    "updated 2 min ago" by the server's clock, not by its own. Until a queue's snapshot is read
    there is no state to send: the screen keeps what it shows and gets it once it is loaded.
    """
    dashboard = current_app.extensions["pillow"]
    pillows = shown_pillows(dashboard, auth)
    if pillows is None:
        raise ConnectionRefusedError("no such pillow")
    # What the page says of itself, for the console's list of screens (never a reason to refuse).
    dashboard.screens[request.sid] = screen_info(auth, datetime.now(UTC))
    join_room(dashboard.fleet.room)
    for live in pillows:
        join_room(room(live.id))
    # To this one screen, here: not through the message queue (python-socketio's advice for a
    # single addressee), so a connect never waits for Redis.
    emit("hello", {"build": current_app.config["BUILD_ID"], "now": isotime(datetime.now(UTC))},
         ignore_queue=True)
    for live in pillows:
        payload = live.payload()
        if payload is not None:
            emit("state", payload, ignore_queue=True)
    for status in {live.storage.queue_name: live.status() for live in pillows}.values():
        emit("status", status, ignore_queue=True)


@socketio.on("disconnect")
def on_disconnect(reason=None):
    current_app.extensions["pillow"].screens.pop(request.sid, None)


@socketio.on("*")
def on_anything(event, *args):
    """Screens cannot change state through the socket: whatever they send is ignored."""
    log.debug("ignored client event %r", event)
