"""Screens that watch through nginx and log every ``state`` they receive to ``screens.jsonl``.

Lean Socket.IO clients (bench/wsclient.py: raw WebSocket frames, thousands fit in one asyncio
loop) in a thread of their own. A screen whose connection drops connects again after a second or
so, as the page does; with ``churn`` each also drops its connection now and then by itself (mean
seconds between), as kiosks do over weeks (a reload, Wi-Fi). Each connection has its number
(``conn``), so the checker can follow one screen across reconnects. Screens connect from
different loopback addresses, so that nginx spreads them over the web workers.
"""

import asyncio
import json
import random
import threading
import time

from bench.wsclient import connect

FIELDS = ("state", "at", "text", "received_at")


class Log:
    """JSON lines appended under a lock (several threads write one file)."""

    def __init__(self, path):
        self.file, self.lock = open(path, "a", encoding="utf-8"), threading.Lock()  # noqa: SIM115

    def write(self, **line):
        with self.lock:
            self.file.write(json.dumps(line) + "\n")
            self.file.flush()

    def close(self):
        with self.lock:
            self.file.close()


class Screen:
    """One screen's hub for bench.wsclient: what it received, logged with its connection."""

    def __init__(self, name, log, source=None):
        self.name, self.log, self.source = name, log, source
        self.conn, self.client, self.last = 0, None, None
        self.dropped = asyncio.Event()

    def connected(self, client):
        self.conn, self.client = self.conn + 1, client
        self.dropped.clear()
        self.log.write(client=self.name, t=time.time(), conn=self.conn, event="connect")

    def lost(self, client):
        self.log.write(client=self.name, t=time.time(), conn=self.conn, event="disconnect")
        self.dropped.set()

    def state(self, now, data, client):
        self.last = data
        self.log.write(client=self.name, t=now, conn=self.conn,
                       **{key: data.get(key) for key in FIELDS})


class Screens(threading.Thread):
    """``count`` screens on ``host:port`` until ``close()``."""

    def __init__(self, host, port, count, log, seed=0, churn=None, prefix="s"):
        super().__init__(daemon=True, name="screens")
        self.host, self.port, self.churn = host, port, churn
        # Each from its own loopback network: nginx keeps a client on one web worker by its
        # address's first three bytes (ip_hash), so the screens spread over both.
        self.screens = [Screen(f"{prefix}{i:03d}", log, f"127.0.{i % 250 + 1}.1")
                        for i in range(count)]
        self.rng = random.Random(seed)
        self.loop, self.ready = None, threading.Event()
        self.reconnects = 0

    def run(self):
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self):
        self._closing = asyncio.Event()
        tasks = [asyncio.create_task(self._keep(screen)) for screen in self.screens]
        self.ready.set()
        await self._closing.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, screen):
        """Stay connected: connect, wait for a drop (or churn), connect again a moment later."""
        await asyncio.sleep(self.rng.uniform(0, 1))  # not all at once
        try:
            while True:
                try:
                    await connect(self.host, self.port, screen, timeout=10,
                                  source=screen.source)
                except Exception:  # refused, a 502 while a worker is down, a timeout
                    await asyncio.sleep(self.rng.uniform(0.5, 1.5))
                    continue
                churn = self.rng.expovariate(1 / self.churn) if self.churn else None
                try:
                    await asyncio.wait_for(screen.dropped.wait(), churn)
                except TimeoutError:
                    self.reconnects += 1
                    screen.client.transport.close()
                    await screen.dropped.wait()
                await asyncio.sleep(self.rng.uniform(0.5, 1.5))
        finally:
            if screen.client is not None and screen.client.transport:
                screen.client.transport.close()

    def connected(self):
        return sum(s.client is not None and not s.dropped.is_set() for s in self.screens)

    def showing(self):
        """What each screen was last sent: {name: payload or None}."""
        return {screen.name: screen.last for screen in self.screens}

    def close(self):
        if self.loop is not None and self.ready.wait(5):
            self.loop.call_soon_threadsafe(self._closing.set)
        self.join(30)
