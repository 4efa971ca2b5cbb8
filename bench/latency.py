"""Post -> screen latency of a running ``pillow-web serve`` with default settings, and its idle
queue request rate; reference: the original site's fixed 0.85 s sleep-and-poll loop.

* Idle: after the server settles, count its queue requests in Azurite's debug log over a window.
* Latency: ``posts`` messages at random intervals (seeded, uniform in ``INTERVAL``), each sent
  through the SDK to our queue and to the reference loop's own queue (order alternating). Ours is
  timed from ``send_message`` returning to an independent lean Socket.IO client (a loadgen
  process) receiving the ``state`` whose text is that post's marker; the reference from its own
  ``send_message`` returning to the loop's ``receive_messages`` returning the message.
"""

import json
import random
import threading
import time

from pillow_web.domain.messages import compose

from . import azlog
from .common import Azurite, Serve, summary, unique_queue, wait_until
from .fleet import Fleet

INTERVAL = (0.2, 2.0)
REFERENCE_SLEEP = 0.85
STATES = ("HUGGING", "SHAKING", "SPINNING", "NEUTRAL")


def reference_loop(queue, received, stopping):
    """The original pillow site's loop: poll, handle what came, sleep a fixed 0.85 s."""
    while not stopping.is_set():
        for message in queue.receive_messages(max_messages=32, messages_per_page=32,
                                              visibility_timeout=10):
            received.setdefault(message.content, time.time())
            queue.delete_message(message)
        stopping.wait(REFERENCE_SLEEP)


def shown_latencies(sent, shown):
    """Post -> screen times. A post overtaken in the same batch by a newer one is never pushed on
    its own (a burst ends in one push); it counts as shown when the newer one is."""
    latencies, superseded, later = [], 0, None
    for marker in sorted(sent, key=sent.get, reverse=True):
        if marker in shown:
            later = shown[marker]
        elif later is not None:
            superseded += 1
        else:
            continue
        latencies.append(later - sent[marker])
    return latencies, superseded


def measure_idle(log_path, queue, seconds):
    """The server's queue requests in a window of ``seconds`` when nothing is posted: their count
    over the window, and 1 / the mean gap between them (finer than a count of ~20)."""
    start = time.time()
    time.sleep(seconds)  # the measured window itself: nothing to poll for, the server works alone
    end = time.time()
    counts = azlog.count(log_path, queue, start, end)
    times = sorted(at for at, service, _, path, _ in azlog.requests_in(log_path, start, end)
                   if service == "queue" and path.strip("/").split("/")[1:2] == [queue])
    gaps = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else None
    return {"window_s": seconds, "requests": counts,
            "count_per_second": round(counts["total"] / seconds, 3),
            "mean_gap_s": gaps and round(gaps, 4),
            "per_second": round(1 / gaps, 3) if gaps else None}


def run(quick=False, workdir=None, log=print):
    posts = 30 if quick else 200
    idle_window = 10 if quick else 20
    rng = random.Random(20261122)
    log_path = workdir / "azurite-latency.log"
    with Azurite(debug_log=log_path) as azurite:
        queue_name, ref_name = unique_queue("lat"), unique_queue("ref")
        ours_q, ref_q = azurite.queue(queue_name), azurite.queue(ref_name)
        server = Serve(azurite.connection_string, queue_name)
        fleet = stopping = None
        try:
            server.wait_healthy()
            fleet = Fleet(server.port, 1, prefix="lat-", deadline=posts * 3 + 120)
            connected, _, _ = fleet.wait_ready(30)
            if connected != 1:
                raise RuntimeError("the latency client could not connect")
            # The watcher backs off from POLL_MIN to POLL_MAX in about 2 s; let it get there.
            wait_until(lambda: time.time() - server.started > 5, 10, "the watcher to settle", 0.1)
            log(f"  latency: idle window {idle_window} s ...")
            idle = measure_idle(log_path, queue_name, idle_window)
            received, stopping = {}, threading.Event()
            thread = threading.Thread(target=reference_loop, args=(ref_q, received, stopping),
                                      daemon=True)
            thread.start()
            log(f"  latency: {posts} posts ...")
            sent, ref_sent, phase = {}, {}, time.time()
            for i in range(posts):
                time.sleep(rng.uniform(*INTERVAL))
                marker = f"lat-{i}"
                content = compose(STATES[i % len(STATES)], text=marker)
                order = [(ours_q, sent), (ref_q, ref_sent)]
                for client, stamps in order if i % 2 else order[::-1]:
                    client.send_message(content)
                    stamps[marker] = time.time()
            fleet.wait_marker(f"lat-{posts - 1}", timeout=10)  # earlier ones arrived before
            ours = {m: min(r["times"]) for m, by_pid in fleet.got.items()
                    for r in by_pid.values() if r["times"]}
            wait_until(lambda: len(received) >= posts, 10, "the reference loop to catch up")
            busy = azlog.count(log_path, queue_name, phase, time.time())
            busy_seconds = time.time() - phase
        finally:
            if stopping:
                stopping.set()
            if fleet:
                fleet.close()
            server.stop()
    ours_lat, superseded = shown_latencies(sent, ours)
    by_text = {json.loads(content)["text"]: at for content, at in received.items()}
    ref_lat = [by_text[m] - ref_sent[m] for m in ref_sent if m in by_text]
    return {
        "posts": posts, "interval_s": list(INTERVAL), "reference_sleep_s": REFERENCE_SLEEP,
        "ours": summary(ours_lat), "reference": summary(ref_lat),
        "ours_received": len(ours_lat), "ours_superseded": superseded,
        "reference_received": len(ref_lat),
        "idle": idle,
        "during_posts": {"requests": busy, "seconds": round(busy_seconds, 1),
                         "server_per_second": round((busy["total"] - busy.get("send", 0))
                                                    / busy_seconds, 3)},
        "ours_samples": [round(v, 4) for v in sorted(ours_lat)],
        "reference_samples": [round(v, 4) for v in sorted(ref_lat)],
    }
