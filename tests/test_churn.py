"""Bounded resources: 10,000 Socket.IO connects and disconnects leave the server's memory flat.

A kiosk on flaky Wi-Fi reconnects all day; whatever the server keeps per connection (the
``screens`` set, Engine.IO sessions, log lines) must go when the connection goes. The client is a
lean raw WebSocket speaking Engine.IO v4 framing, so the loop measures the server, not a heavy
client, and half of the cycles leave politely ("41") while half just drop the socket.
"""

import json
from time import monotonic

import gevent.pool
import pytest
import websocket

from .util import wait_for

CYCLES = 10_000
WARM_UP = 500
CLIENTS = 8
GROWTH_LIMIT_KIB = 10 * 1024
TOKEN = "churn-operator-token"


def cycle(url, polite):
    """One screen's whole life: open, join the namespace, get hello/state/status, leave."""
    ws = websocket.create_connection(url, timeout=10)
    try:
        assert ws.recv().startswith("0{")  # Engine.IO open
        ws.send("40")  # Socket.IO connect to "/"
        events = []
        while len(events) < 3:
            packet = ws.recv()
            if packet.startswith("42"):
                events.append(json.loads(packet[2:])[0])
            else:
                assert packet.startswith("40"), packet
        assert events == ["hello", "state", "status"]
        if polite:
            ws.send("41")  # Socket.IO disconnect; an impolite one just drops the socket
    finally:
        ws.close()


def churn(url, cycles):
    """``cycles`` screen lives, ``CLIENTS`` at a time; the first failure stops the churn.

    Not ``pool.join(raise_error=True)``: it checks only the greenlets still in the pool when it is
    called, so a cycle that failed while the loop was spawning would pass unseen.
    """
    pool = gevent.pool.Pool(CLIENTS)
    failed = []
    try:
        for i in range(cycles):
            if failed:
                break
            pool.spawn(cycle, url, i % 2 == 0).link_exception(failed.append)
        pool.join()
    finally:
        pool.kill()  # after a failure or an interrupt, no client goes on running
    if failed:
        failed[0].get()  # raises the failure with its traceback


@pytest.mark.slow
def test_10000_connects_leave_memory_screens_and_logs_bounded(
        azurite, storage, dashboards, record_property):
    dashboard = dashboards(azurite, storage.queue_name, OPERATOR_TOKEN=TOKEN)
    url = dashboard.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"

    def screens():
        response = dashboard.http.post(dashboard.url + "/api/reload", timeout=5,
                                       headers={"Authorization": f"Bearer {TOKEN}"})
        return response.json()["screens"]

    churn(url, WARM_UP)
    wait_for(lambda: screens() == 0, 10, "the warm-up screens to be forgotten")
    before, started = dashboard.rss_kib(), monotonic()
    log_lines = len(dashboard.output().splitlines())
    churn(url, CYCLES - WARM_UP)
    took = monotonic() - started
    wait_for(lambda: screens() == 0, 10, "every screen to be forgotten")
    after = dashboard.rss_kib()

    record_property("churn_rss_before_kib", before)
    record_property("churn_rss_after_kib", after)
    print(f"[figure] churn RSS {before} KiB -> {after} KiB after {CYCLES} cycles "
          f"({CYCLES - WARM_UP} in {took:.1f} s)")
    assert after - before <= GROWTH_LIMIT_KIB, f"grew {after - before} KiB"
    new_lines = dashboard.output().splitlines()[log_lines:]
    assert len(new_lines) <= 5, "\n".join(new_lines[:20])  # no log line per connection
    assert dashboard.health() == 200
    cycle(url, polite=True)  # and it still serves screens
