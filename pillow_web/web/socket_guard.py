"""What a screen may do over Socket.IO, checked before Engine.IO or Socket.IO act on it.

Screens only listen. Each rule below closes a hole found by probing a running server:

* a disconnect never waits for the client: Engine.IO's own, after an oversized polling POST,
  waited for a poll that never came and left the connection in CLOSE_WAIT for good;
* packets with binary attachments (and bare binary frames) are refused before they are buffered:
  one socket grew the server by 12 MB with 4,000 of them;
* a client cannot trigger the server's own handlers (``42["disconnect"]`` dropped the screen
  count; ``42["connect"]`` made the server greet it again);
* a malformed packet costs one debug line, not an ERROR traceback (2,300 frames made 4.4 MB of log);
* one client address holds at most ``limit`` sockets.
"""

import logging
from collections import Counter

from socketio import packet

log = logging.getLogger(__name__)

# Socket.IO's reserved event names: only the server itself may raise them.
RESERVED = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                      "newListener", "removeListener"})
ALLOWED = (packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK)


def close_now(eio, sid):
    """Close Engine.IO session ``sid`` without waiting for the client to collect the goodbye."""
    socket = eio.sockets.pop(sid, None)
    if socket is not None:
        socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)


def after_disconnect(eio, forget):
    """Call ``forget(sid)`` after Engine.IO's disconnect handler (and the ones before this), even
    if it raises: what a process keeps per session must go with the session."""
    on_disconnect = eio.handlers["disconnect"]

    def disconnected(sid, *args):
        try:
            return on_disconnect(sid, *args)
        finally:
            forget(sid)

    eio.handlers["disconnect"] = disconnected


def refusal(sio, data):
    """Why a packet from a screen is refused, or None if it may go on to Socket.IO."""
    if not isinstance(data, str):
        return "a binary frame"
    try:
        pkt = sio.packet_class(encoded_packet=data)
    except (ValueError, TypeError, RecursionError, IndexError):
        return "a malformed packet"
    if pkt.packet_type not in ALLOWED:
        return f"a packet of type {pkt.packet_type}"
    if pkt.packet_type == packet.EVENT:
        if not isinstance(pkt.data, list) or not pkt.data or not isinstance(pkt.data[0], str):
            return "an event without a name"
        if pkt.data[0] in RESERVED:
            return f"the reserved event {pkt.data[0]!r}"
    return None


def guard(sio, limit):
    """Install the rules on python-socketio server ``sio``; ``limit`` 0 means no per-address cap."""
    eio = sio.eio
    on_message = eio.handlers["message"]
    on_connect = eio.handlers["connect"]
    per_address, address_of = Counter(), {}

    def message(sid, data):
        reason = refusal(sio, data)
        if reason is None:
            return on_message(sid, data)
        log.debug("closed socket %s: a screen sent %s", sid, reason)
        close_now(eio, sid)
        return None

    def connect(sid, environ):
        address = environ.get("REMOTE_ADDR") or "unknown"
        if limit and per_address[address] >= limit:
            log.info("refused a socket from %s: it holds %d already", address, limit)
            return False
        accepted = on_connect(sid, environ)
        if accepted is None or accepted is True:
            per_address[address] += 1
            address_of[sid] = address
        return accepted

    def forget(sid):
        address = address_of.pop(sid, None)
        if address is not None:
            per_address[address] -= 1
            if per_address[address] <= 0:
                del per_address[address]

    def disconnect_without_waiting(sid=None):
        for each in ([sid] if sid is not None else list(eio.sockets)):
            close_now(eio, each)

    eio.handlers.update(message=message, connect=connect)
    after_disconnect(eio, forget)
    eio.disconnect = disconnect_without_waiting
    return per_address
