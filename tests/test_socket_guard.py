"""Socket.IO from a hostile LAN: each attack replayed against a real ``pillow-web serve``.

Raw Engine.IO over real sockets (HTTP long-polling with requests, WebSocket with
websocket-client), as an attacker would send it, with no Socket.IO client library smoothing it.
"""

import json
import os
import re
import socket
from pathlib import Path

import pytest
import requests
import websocket

from .util import wait_for

TOKEN = "guard-token-8d6e1f"


@pytest.fixture
def dashboard(dashboards, azurite):
    return dashboards(azurite, None, OPERATOR_TOKEN=TOKEN, SCREENS_PER_ADDRESS=20)


def open_fds(dashboard):
    return len(os.listdir(f"/proc/{dashboard.process.pid}/fd"))


def handshake(dashboard):
    """A polling session joined to the default namespace; returns its sid."""
    opened = requests.get(f"{dashboard.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    sid = json.loads(opened.text[1:])["sid"]
    joined = requests.post(f"{dashboard.url}/socket.io/?EIO=4&transport=polling&sid={sid}",
                           data="40", timeout=5)
    assert joined.text == "OK"
    return sid


def test_an_oversized_polling_post_is_answered_and_leaks_no_socket(dashboard):
    baseline = open_fds(dashboard)
    for _ in range(100):
        sid = handshake(dashboard)
        with socket.create_connection(("127.0.0.1", dashboard.port), timeout=5) as conn:
            body = b"4" + b"x" * 5000
            conn.sendall(f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                         f"Host: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            answer = conn.recv(100)  # before the fix: no answer at all, ever
            assert answer.startswith(b"HTTP/1.1 400"), answer
    # Before the fix: +100 handles, 99 still stuck in CLOSE_WAIT 5 minutes later.
    wait_for(lambda: open_fds(dashboard) <= baseline + 5, timeout=15,
             message=f"open handles back near {baseline} (now {open_fds(dashboard)})")


def ws_screen(dashboard):
    """A raw WebSocket screen, past the handshake and joined, with its greeting read."""
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{dashboard.port}/socket.io/?EIO=4&transport=websocket", timeout=5)
    assert ws.recv().startswith("0{")
    ws.send("40")
    greeting = [ws.recv() for _ in range(4)]  # 40{sid}, hello, state, status (in any order)
    assert [frame for frame in greeting if frame.startswith("40{")], greeting
    assert [frame for frame in greeting if '"hello"' in frame], greeting
    return ws


def closed_by_server(ws):
    """The frames read until the server closed the socket, or None if it stayed open."""
    frames = []
    try:
        while True:
            frame = ws.recv()
            if frame in ("", "1"):  # the socket's end, or an Engine.IO close packet
                return frames
            frames.append(frame)
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return frames
    except websocket.WebSocketTimeoutException:
        return None


@pytest.mark.parametrize("send", [
    lambda ws: ws.send('451-["x",{"_placeholder":true,"num":0}]'),
    lambda ws: ws.send_binary(b"\x04" + b"x" * 1000),
], ids=["attachment-placeholder", "binary-frame"])
def test_binary_from_a_screen_closes_it_before_anything_is_buffered(dashboard, send):
    ws = ws_screen(dashboard)
    before = dashboard.rss_kib()
    send(ws)
    assert closed_by_server(ws) is not None
    ws.close()
    # Before the fix the socket stayed open and buffered every frame: +12 MB for 4,000.
    ws = ws_screen(dashboard)
    ws.send('451-["x",{"_placeholder":true,"num":0}]')
    for _ in range(200):
        try:
            ws.send_binary(b"\x04" + b"x" * 4000)
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            break
    ws.close()
    assert dashboard.rss_kib() - before < 4096


def signed_in_console(dashboard):
    session = requests.Session()
    page = session.get(f"{dashboard.url}/operator/", timeout=5)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    session.post(f"{dashboard.url}/operator/signin", data={"csrf": csrf, "token": TOKEN},
                 timeout=5)
    return session


def screens(console, dashboard):
    return console.get(f"{dashboard.url}/operator/data.json", timeout=5).json()["screens"]


def test_a_screen_cannot_raise_the_servers_own_events(dashboard):
    console = signed_in_console(dashboard)
    ws = ws_screen(dashboard)
    assert screens(console, dashboard) == 1
    ws.send('42["disconnect"]')  # before the fix: the count dropped, the socket stayed open
    assert closed_by_server(ws) is not None
    wait_for(lambda: screens(console, dashboard) == 0, timeout=5, message="the count to follow")
    ws.close()
    ws = ws_screen(dashboard)
    ws.send('42["connect"]')  # before the fix: hello, state and status all over again
    frames = closed_by_server(ws)
    assert frames is not None and not [frame for frame in frames if '"hello"' in frame]
    ws.close()
    console.close()


def test_malformed_frames_cost_no_error_log(dashboard):
    size = Path(dashboard.log).stat().st_size
    ws = ws_screen(dashboard)
    ws.send("42" + "[" * 2000)
    assert closed_by_server(ws) is not None
    ws.close()
    for frame in ["42" + "[" * 2000 + "]" * 2000, "4not a packet", "47", '42{"a":1}']:
        ws = ws_screen(dashboard)
        ws.send(frame)
        assert closed_by_server(ws) is not None, frame
        ws.close()
    grown = Path(dashboard.log).read_text(errors="replace")[size:]
    assert "ERROR" not in grown and "Traceback" not in grown
    assert len(grown) < 2000


def test_one_address_holds_a_bounded_number_of_sockets(dashboard):
    held = [handshake(dashboard) for _ in range(20)]
    refused = requests.get(f"{dashboard.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    assert refused.status_code in (400, 401, 403)
    assert len(held) == 20
