"""Backlog: N messages queued before the server starts; how fast is the queue drained and the final
state shown, and with how many requests. Reference: the raw SDK draining the same messages with
the best concurrency found (``bench.backlog_ref``, a sweep of receivers x delete pool).

Every run gets a fresh Azurite (its in-memory store slows down over a long life, and costs
O(queue depth) per request) and is timed the same way, from Azurite's debug log: the first receive
on the queue to the last delete, or the deletes within ``cap`` seconds if it is not drained by then
(ours must also show the final state; seen by polling ``/api/state``).
"""

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests
from azure.core.pipeline.transport import RequestsTransport

from pillow_web.domain.messages import compose

from . import azlog
from .common import PYTHON, Azurite, Serve, unique_queue, wait_until

STATES = ("HUGGING", "SHAKING", "SPINNING", "PUNCHING")
# Azurite is single-threaded and its LokiJS store costs O(queue depth) per request, so beyond a
# few requests in flight more concurrency only queues up (2 x 64 was 3x slower than 1 x 32).
SWEEP = [(1, 8), (1, 32), (2, 32)]


def fill(azurite, queue_name, n):
    """Queue ``n`` messages with increasing ``at`` stamps; return the final state's text."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
    client = azurite.queue(queue_name, transport=RequestsTransport(session=session))
    base = datetime.now(UTC) - timedelta(minutes=1)
    final = f"backlog-{n}-final"

    def send(i):
        at = (base + timedelta(microseconds=i)).isoformat().replace("+00:00", "Z")
        text = final if i == n - 1 else f"backlog-{n}-{i}"
        client.send_message(compose(STATES[i % len(STATES)], text=text, at=at))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, range(n)))
    client.close()
    return final


def window(log_path, queue_name, n, cap):
    """(seconds, deleted, drained) from the first receive to the last delete, or to ``cap``."""
    times = [(at, azlog.kind(m, p, q)) for at, service, m, p, q in azlog.requests_in(log_path)
             if service == "queue" and p.strip("/").split("/")[1:2] == [queue_name]]
    receives = [at for at, what in times if what == "receive"]
    deletes = sorted(at for at, what in times if what == "delete")
    if not receives or not deletes:
        return None, 0, False
    start = min(receives)
    if len(deletes) >= n:
        return deletes[-1] - start, len(deletes), True
    return cap, sum(1 for at in deletes if at <= start + cap), False


def drain_requests(counts):
    """What draining cost: receives, deletes and snapshot saves (not the fill, not our probes)."""
    return sum(v for k, v in counts.items() if k in ("receive", "delete", "blob PUT"))


def ours(workdir, n, cap):
    queue_name = unique_queue("blo")
    log_path = workdir / f"azurite-{queue_name}.log"
    with Azurite(debug_log=log_path) as azurite:
        return _ours(azurite, log_path, queue_name, n, cap)


def _ours(azurite, log_path, queue_name, n, cap):
    final = fill(azurite, queue_name, n)
    probe = azurite.queue(queue_name, create=False)
    launched = time.time()
    server = Serve(azurite.connection_string, queue_name)
    shown_at = None
    try:
        def shown():
            try:
                return server.state().get("text") == final
            except (requests.RequestException, ValueError):
                if server.process.poll() is not None:
                    raise RuntimeError("pillow-web serve exited during the backlog") from None
                return False
        try:
            wait_until(shown, cap + 10, f"the final state of a {n} backlog", 0.05)
            shown_at = time.time()
            wait_until(lambda: probe.get_queue_properties().approximate_message_count == 0,
                       30, "the queue to be empty", 0.1)
        except TimeoutError:
            pass
    finally:
        server.stop()
        probe.close()
    seconds, deleted, drained = window(log_path, queue_name, n, cap)
    counts = azlog.count(log_path, queue_name)
    counts["drain"] = drain_requests(counts)
    return {"seconds": round(seconds, 3), "deleted": deleted, "drained": drained,
            "rate": round(deleted / seconds, 1), "final_shown": shown_at is not None,
            "shown_after_launch_s": shown_at and round(shown_at - launched, 3),
            "requests": counts}


def reference(workdir, n, receivers, pool, cap):
    queue_name = unique_queue("bre")
    log_path = workdir / f"azurite-{queue_name}.log"
    with Azurite(debug_log=log_path) as azurite:
        return _reference(azurite, log_path, queue_name, n, receivers, pool, cap)


def _reference(azurite, log_path, queue_name, n, receivers, pool, cap):
    fill(azurite, queue_name, n)
    out = subprocess.run([PYTHON, "-m", "bench.backlog_ref", azurite.connection_string,
                          queue_name, str(n), "--receivers", str(receivers), "--pool", str(pool),
                          "--deadline", str(cap)],
                         capture_output=True, text=True, timeout=cap + 120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    seconds, deleted, drained = window(log_path, queue_name, n, cap)
    counts = azlog.count(log_path, queue_name)
    counts["drain"] = drain_requests(counts)
    return {"seconds": round(seconds, 3), "deleted": deleted, "drained": drained,
            "rate": round(deleted / seconds, 1), "receivers": receivers, "pool": pool,
            "requests": counts, "client_requests": result["requests"]}


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def run(quick=False, workdir=None, log=print):
    """Sweep the reference's concurrency, then per size run ours and the reference in ABBA order
    (Azurite drifts over a run) where time allows, and compare the median rates."""
    sizes = [300] if quick else [1000, 10000]
    sweep_n = 300 if quick else 500
    cap = 45 if quick else 60
    out = {"sizes": sizes, "cap_s": cap, "sweep_n": sweep_n, "sweep": [], "points": []}
    log(f"  backlog: reference concurrency sweep on {sweep_n} messages ...")
    for receivers, pool in SWEEP:
        out["sweep"].append(reference(workdir, sweep_n, receivers, pool, cap))
    best = max(out["sweep"], key=lambda r: r["rate"])
    out["best"] = {"receivers": best["receivers"], "pool": best["pool"]}
    for n in sizes:
        order = "AB" if n > 2000 else "ABBA"
        log(f"  backlog: {n} messages, ours (A) and reference (B) as {order} ...")
        runs = {"A": [], "B": []}
        for which in order:
            if which == "A":
                runs["A"].append(ours(workdir, n, cap))
            else:
                runs["B"].append(reference(workdir, n, best["receivers"], best["pool"], cap))
        mine = round(median([r["rate"] for r in runs["A"]]), 1)
        ref = round(median([r["rate"] for r in runs["B"]]), 1)
        out["points"].append({"n": n, "order": order, "ours": runs["A"][0] | {"rate": mine},
                              "reference": runs["B"][0] | {"rate": ref},
                              "ours_runs": runs["A"], "reference_runs": runs["B"],
                              "ratio": round(mine / ref, 2)})
        log(f"    ours {mine} msg/s, reference {ref} msg/s (runs: "
            f"{[r['rate'] for r in runs['A']]} vs {[r['rate'] for r in runs['B']]})")
    return out
