"""A load-generator process: hold N lean Socket.IO clients and report when each marked state
reaches them.

    python -m bench.loadgen PORT N [--prefix fan-] [--concurrency 64] [--deadline 300]

Speaks JSON lines on stdout: ``{"event": "ready", ...}`` once every client is connected (or the
connect phase gave up), then ``{"event": "got", "marker": ..., ...}`` as soon as every connected
client has a ``state`` whose ``text`` is that marker. Reads commands on stdin: ``report MARKER``
(report now, complete or not) and ``quit``. Exits by itself after ``--deadline`` seconds.
"""

import argparse
import asyncio
import json
import sys
import time

from .common import HOST, raise_nofile
from .wsclient import connect, epoch


class Hub:
    def __init__(self, prefix):
        self.prefix = prefix
        self.clients = set()
        self.lost_count = 0
        self.times = {}  # marker -> receipt times
        self.emitted = {}  # marker -> the server's own stamp (payload received_at)
        self.reported = set()
        self.seen = set()  # (client, marker): a screen shows a state once, at its first receipt

    def connected(self, client):
        self.clients.add(client)

    def lost(self, client):
        self.clients.discard(client)
        self.lost_count += 1

    def state(self, now, data, client=None):
        marker = data.get("text") or ""
        if not marker.startswith(self.prefix) or (client, marker) in self.seen:
            return
        self.seen.add((client, marker))
        times = self.times.setdefault(marker, [])
        times.append(now)
        if marker not in self.emitted:
            self.emitted[marker] = epoch(data.get("received_at"))
        if len(times) >= len(self.clients) and marker not in self.reported:
            self.report(marker)

    def report(self, marker):
        self.reported.add(marker)
        times = self.times.get(marker, [])
        emit({"event": "got", "marker": marker, "count": len(times),
              "connected": len(self.clients), "emitted": self.emitted.get(marker),
              "times": [round(t, 6) for t in times]})


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def hold(port, n, hub, concurrency):
    gate = asyncio.Semaphore(concurrency)
    failures = []

    async def one():
        async with gate:
            try:
                await connect(HOST, port, hub)
            except (OSError, TimeoutError, ConnectionError) as exc:
                failures.append(type(exc).__name__)

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(n)))
    emit({"event": "ready", "connected": len(hub.clients), "failed": len(failures),
          "errors": sorted(set(failures)), "seconds": round(time.monotonic() - started, 3)})


async def commands(hub):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if not line or line == "quit":
            return
        if line.startswith("report "):
            hub.report(line.split(" ", 1)[1])


async def main(args):
    hub = Hub(args.prefix)
    holder = asyncio.create_task(hold(args.port, args.n, hub, args.concurrency))
    try:
        await asyncio.wait_for(commands(hub), args.deadline)
    except TimeoutError:
        pass
    holder.cancel()
    for client in list(hub.clients):
        client.transport.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("n", type=int)
    parser.add_argument("--prefix", default="fan-")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--deadline", type=float, default=300)
    arguments = parser.parse_args()
    raise_nofile(arguments.n + 200)
    asyncio.run(main(arguments))
