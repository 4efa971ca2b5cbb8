"""The delay Redis adds to post -> screen. Shape A: one all-in-one ``pillow-web serve``. Shape B:
``serve --role watcher`` + ``serve --role web`` sharing ``PILLOW_MESSAGE_QUEUE`` (one Redis), so
each change goes watcher -> Redis -> web worker -> screen. Each shape has its own queue on one
Azurite and one lean Socket.IO client (``bench.wsclient``) on the process that serves its pages.

Markers are posted at random seeded intervals in blocks ordered A, B, B, A (the same load for
both, drift averaged out). Per marker: post -> screen (``send_message`` returned -> the client
read the ``state``; the poll delay is most of it) and apply -> screen (the payload's
``received_at``, stamped when the watcher applied it, -> the read; the relay alone). ``received_at``
has whole milliseconds (cut, not rounded), so apply -> screen reads up to 1 ms long in both shapes.
"""

import asyncio
import random
import tempfile
import threading
import time
from pathlib import Path

from pillow_web.domain.messages import compose

from .common import HOST, Azurite, Redis, Serve, summary, unique_queue, wait_until
from .latency import shown_latencies
from .table import fmt, ratio
from .wsclient import connect, epoch

INTERVAL = (0.2, 1.0)  # seconds between posts, uniform
STATES = ("HUGGING", "SHAKING", "SPINNING", "NEUTRAL")
SHAPES = {"A": "all-in-one serve", "B": "watcher + web via Redis"}


class Screen:
    """One lean Socket.IO client on its own asyncio loop (a thread); ``got``: marker -> (read
    time, ``received_at`` in epoch seconds) of the first ``state`` with that text."""

    def __init__(self, port, prefix):
        self.prefix, self.got, self.dropped = prefix, {}, False
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = asyncio.run_coroutine_threadsafe(connect(HOST, port, self),
                                                       self.loop).result(30)

    def connected(self, client):
        pass

    def lost(self, client):
        self.dropped = True

    def state(self, at, data, *_):  # (wsclient may also pass the client)
        text = data.get("text") or ""
        if text.startswith(self.prefix):
            self.got.setdefault(text, (at, epoch(data.get("received_at"))))

    def close(self):
        self.loop.call_soon_threadsafe(self.client.transport.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


def shape_result(sent, screen):
    post, superseded = shown_latencies(sent, {m: at for m, (at, _) in screen.got.items()})
    apply = [at - applied for m, (at, applied) in screen.got.items() if m in sent and applied]
    return {"posts": len(sent), "shown": len(screen.got), "superseded": superseded,
            "dropped": screen.dropped,
            "post_to_screen_s": summary(post), "apply_to_screen_ms": summary(apply, 1000, 1),
            "post_samples": [round(v, 4) for v in sorted(post)],
            "apply_samples_ms": [round(v * 1000, 1) for v in sorted(apply)]}


def run(quick=False, log=print, workdir=None):
    per_shape = 10 if quick else 100
    rng = random.Random(20261124)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="pillow-relay-"))
    servers, screens = [], {}
    with Azurite() as azurite, Redis() as redis:
        connection = azurite.connection_string
        names = {shape: unique_queue(f"relay-{shape.lower()}") for shape in SHAPES}
        queues = {shape: azurite.queue(name) for shape, name in names.items()}
        try:
            servers = [Serve(connection, names["A"], log=workdir / "relay-a.log"),
                       Serve(connection, names["B"], log=workdir / "relay-b-watcher.log",
                             role="watcher", message_queue=redis.url),
                       Serve(connection, names["B"], log=workdir / "relay-b-web.log",
                             role="web", message_queue=redis.url)]
            for server in servers:
                server.wait_healthy()
            screens = {"A": Screen(servers[0].port, "relay-A-"),
                       "B": Screen(servers[2].port, "relay-B-")}
            # Both watchers back off from POLL_MIN to POLL_MAX in ~2 s: start them settled.
            started = max(server.started for server in servers)
            wait_until(lambda: time.time() - started > 5, 10, "the watchers to settle", 0.1)
            sent = {shape: {} for shape in SHAPES}
            for block, shape in enumerate("ABBA"):
                log(f"  relay: block {block + 1}/4, {SHAPES[shape]}, {per_shape // 2} posts ...")
                for _ in range(per_shape // 2):
                    time.sleep(rng.uniform(*INTERVAL))  # the posting pace, not a wait
                    marker = f"relay-{shape}-{len(sent[shape])}"
                    queues[shape].send_message(compose(STATES[len(sent[shape]) % len(STATES)],
                                                       text=marker))
                    sent[shape][marker] = time.time()
                # The last one shown, earlier ones were too (or were overtaken in a batch).
                wait_until(lambda s=shape, m=marker: m in screens[s].got, 10, f"{marker} shown")
        finally:
            for screen in screens.values():
                screen.close()
            for server in servers:
                server.stop()
    result = {"per_shape": per_shape, "interval_s": list(INTERVAL), "order": "ABBA",
              "shapes": SHAPES, "A": shape_result(sent["A"], screens["A"]),
              "B": shape_result(sent["B"], screens["B"])}
    result["b_minus_a"] = {f"{key}_{q}": difference(result, key, q)
                           for key in ("post_to_screen_s", "apply_to_screen_ms")
                           for q in ("p50", "p95")}
    return result


def difference(result, key, q):
    a, b = result["A"][key][q], result["B"][key][q]
    return None if a is None or b is None else round(b - a, 4 if key.endswith("_s") else 1)


def rows(result):
    """pillow-web's column: shape B (via Redis); reference: shape A (all-in-one)."""
    out = []
    for key, label, unit, scale in (("post_to_screen_s", "post → screen", " ms", 1000),
                                    ("apply_to_screen_ms", "apply → screen", " ms", 1)):
        for q in ("p50", "p95"):
            a, b = result["A"][key][q], result["B"][key][q]
            if a is None or b is None:
                continue
            extra = result["b_minus_a"][f"{key}_{q}"] * scale
            out.append(("relay", f"{label} {q}, via Redis vs all-in-one ({extra:+.1f} ms)",
                        fmt(b * scale, unit), fmt(a * scale, unit), ratio(b, a), "", "–"))
    return out
