"""A lean Socket.IO client: one asyncio Protocol per connection, raw RFC 6455 frames.

It speaks just enough Engine.IO v4 / Socket.IO v5 to sit on a server as a screen does: answer the
open packet with a namespace connect (``40``), answer pings (``2``) with pongs (``3``), and time
every ``state`` event the moment its bytes arrive (one ``time.time()`` per read, before parsing),
so thousands of clients fit in one process and the timestamps do not wait on an event loop.
"""

import asyncio
import base64
import json
import os
import time
from datetime import datetime

HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def frame(text):
    """A masked client text frame (RFC 6455 5.3: clients must mask)."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    if size < 126:
        header = bytes([0x81, 0x80 | size])
    else:
        header = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    return header + mask + masked


def epoch(iso):
    """Seconds since the epoch of an ISO time such as ``2026-11-22T04:37:02.420Z``."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None


class Client(asyncio.Protocol):
    """One screen. ``hub`` gets ``connected(self)``, ``lost(self)``, ``state(t, data)`` and, if it
    has one, ``status(data)``; ``auth`` is the Socket.IO connect payload (e.g. the pillow)."""

    def __init__(self, host, path, hub, auth=None):
        self.host, self.path, self.hub, self.auth = host, path, hub, auth
        self.buffer = b""
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(HANDSHAKE.format(path=self.path, host=self.host, key=key).encode())

    def connection_lost(self, exc):
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed before connect"))
        else:
            self.hub.lost(self)

    def send(self, text):
        if self.transport and not self.transport.is_closing():
            self.transport.write(frame(text))

    def data_received(self, data):
        now = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[:end].split(b"\r\n", 1)[0]:
                self.transport.close()
                return
            self.upgraded, self.buffer = True, self.buffer[end + 4:]
        self._frames(now)

    def _frames(self, now):
        buf = self.buffer
        while len(buf) >= 2:
            opcode, size, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + size:
                break
            payload, buf = buf[start:start + size], buf[start + size:]
            if opcode == 1:
                self._packet(payload, now)
            elif opcode == 9:  # a WebSocket-level ping: pong with the same payload
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.transport.close()
        self.buffer = buf

    def _packet(self, payload, now):
        if payload == b"2":
            self.send("3")
        elif payload.startswith(b'42["state"'):
            self.hub.state(now, json.loads(payload[2:])[1], self)
        elif payload.startswith(b'42["status"') and hasattr(self.hub, "status"):
            self.hub.status(json.loads(payload[2:])[1])
        elif payload.startswith(b"0{"):
            self.send("40" + (json.dumps(self.auth) if self.auth else ""))
        elif payload.startswith(b"40") and not self.ready.done():
            self.ready.set_result(self)
            self.hub.connected(self)
        elif payload.startswith(b"44"):  # namespace connect refused
            self.transport.close()


async def connect(host, port, hub, timeout=20.0, auth=None, source=None):
    """Open one client and return it once the server accepted the ``/`` namespace; from the
    address ``source`` if given (e.g. another loopback address)."""
    loop = asyncio.get_running_loop()
    path = "/socket.io/?EIO=4&transport=websocket"
    _, client = await asyncio.wait_for(loop.create_connection(
        lambda: Client(f"{host}:{port}", path, hub, auth), host, port,
        local_addr=(source, 0) if source else None), timeout)
    try:
        return await asyncio.wait_for(client.ready, timeout)
    except BaseException:
        if client.transport:
            client.transport.close()
        raise
