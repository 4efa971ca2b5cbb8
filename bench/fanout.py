"""Fan-out: one state change reaching N websocket clients held by one server, ours vs Node.

For each N a fresh server (ours: ``pillow-web serve`` with default settings on its own queue;
reference: ``bench/reference/server.js``) gets N lean clients from separate loadgen processes.
Then ``changes`` times: trigger a state whose text is a unique marker (ours: post it through the
SDK; Node: POST /emit), and collect every client's receipt time. Both servers stamp the payload's
``received_at`` just before they broadcast, so fan-out time = last receipt - that stamp, the
same definition for both (the post -> poll delay of ours is the latency benchmark's business).
"""

import json
import time
from datetime import UTC, datetime

import psutil
import requests

from pillow_web.domain.messages import compose

from .common import (
    HOST,
    REFERENCE,
    Azurite,
    Serve,
    free_port,
    spawn,
    stop,
    summary,
    unique_queue,
    wait_until,
)
from .fleet import Fleet

STATES = [("HUGGING", "/static/img/hugging.svg", "#ffb3c7"),
          ("SHAKING", "/static/img/shaking.svg", "#ffd88a")]


class Ours:
    """``pillow-web serve`` (all-in-one); ``serve_options`` go to ``common.Serve``."""

    name = "pillow-web"

    def __init__(self, azurite, **serve_options):
        self.queue_name = unique_queue("fan")
        self.client = azurite.queue(self.queue_name)
        self.serve = Serve(azurite.connection_string, self.queue_name, **serve_options)
        try:
            self.serve.wait_healthy()
        except BaseException:  # the caller gets no server to stop
            self.stop()
            raise
        self.port, self.pid = self.serve.port, self.serve.process.pid

    def trigger(self, marker, i):
        self.client.send_message(compose(STATES[i % 2][0], text=marker))

    def stop(self):
        self.serve.stop()
        self.client.close()


class Node:
    name = "node socket.io"

    def __init__(self, azurite=None):
        self.port = free_port()
        self.process = spawn(["node", str(REFERENCE / "server.js"), str(self.port)])
        self.pid = self.process.pid
        self.url = f"http://{HOST}:{self.port}"
        self.http = requests.Session()
        wait_until(self._up, 30, "the Node reference's /healthz")

    def _up(self):
        try:
            return self.http.get(self.url + "/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    def trigger(self, marker, i):
        state, image, color = STATES[i % 2]
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {"state": state, "text": marker, "at": at, "received_at": None, "image": image,
                "color": color}
        self.http.post(self.url + "/emit", data=json.dumps(body), timeout=30).raise_for_status()

    def stop(self):
        self.http.close()
        stop(self.process)


def cpu_seconds(*procs):
    return sum(times.user + times.system for times in (proc.cpu_times() for proc in procs))


def rss_bytes(procs):
    return sum(proc.memory_info().rss for proc in procs)


def point(kind, azurite, n, changes, budget, label=None):
    """One (server, N) measurement, bounded by ``budget`` seconds; ``kind(azurite)`` makes the
    server (Ours, Node, or any callable returning one with the same interface).

    A server of several processes has ``ports`` and ``pids`` (the clients are split over the
    ports; CPU and RSS are summed over the pids) instead of ``port`` and ``pid``, and may have
    ``side_pids`` ({name: pid}, e.g. a watcher and Redis), whose CPU is reported separately.
    """
    started = time.monotonic()
    server = kind(azurite)
    label = label or kind.__name__.lower()
    fleet = None
    try:
        procs = [psutil.Process(pid) for pid in getattr(server, "pids", None) or [server.pid]]
        sides = {name: psutil.Process(pid)
                 for name, pid in getattr(server, "side_pids", {}).items()}
        rss_base = rss_bytes(procs)
        fleet = Fleet(getattr(server, "ports", None) or server.port, n, prefix=f"fan-{n}-",
                      deadline=budget + 30)
        connect_cpu = cpu_seconds(*procs)
        connected, failed, connect_s = fleet.wait_ready(timeout=min(150, budget / 2))
        connect_cpu = cpu_seconds(*procs) - connect_cpu
        rss_held = rss_bytes(procs)
        side0 = {name: cpu_seconds(proc) for name, proc in sides.items()}
        cpu0, wall0 = cpu_seconds(*procs), time.monotonic()
        rows = []
        for i in range(changes):
            if time.monotonic() - started > budget:
                break
            marker = f"fan-{n}-{label}-{i}"
            before = time.time()
            server.trigger(marker, i)
            after = time.time()
            times, emitted = fleet.wait_marker(marker, timeout=15)
            if not times:
                rows.append({"marker": marker, "received": 0})
                continue
            rows.append({"marker": marker, "received": len(times), "emitted": emitted,
                         "first": min(times), "last": max(times), "trigger": [before, after],
                         "fanout": max(times) - emitted, "spread": max(times) - min(times),
                         "client_p50": summary([t - emitted for t in times])["p50"]})
        window_cpu, window = cpu_seconds(*procs) - cpu0, time.monotonic() - wall0
        side_cpu = {name: cpu_seconds(proc) - side0[name] for name, proc in sides.items()}
        rss_end = rss_bytes(procs)
        by_port = fleet.connected_by_port()
    finally:
        if fleet:
            fleet.close()
        server.stop()
    done = [row for row in rows if row["received"]]
    complete = [row for row in done if row["received"] >= connected]
    return {
        "server": server.name, "n": n, "connected": connected, "failed": failed,
        "connect_seconds": connect_s, "connect_cpu_s": round(connect_cpu, 3),
        "changes": len(rows), "complete_changes": len(complete),
        "fanout_ms": summary([row["fanout"] for row in done], 1000, 1),
        "spread_ms": summary([row["spread"] for row in done], 1000, 1),
        "rss_base_mb": round(rss_base / 2**20, 1), "rss_held_mb": round(rss_held / 2**20, 1),
        "rss_end_mb": round(rss_end / 2**20, 1),
        "rss_per_client_kb": round((max(rss_held, rss_end) - rss_base) / max(connected, 1) / 1024,
                                   1),
        "cpu_ms_per_change": round(window_cpu / max(len(rows), 1) * 1000, 1),
        "cpu_us_per_change_per_client": round(window_cpu / max(len(rows), 1) / max(connected, 1)
                                              * 1e6, 1),
        "processes": len(procs), "connected_by_port": by_port,
        "side_cpu_ms_per_change": {name: round(cpu / max(len(rows), 1) * 1000, 1)
                                   for name, cpu in side_cpu.items()},
        "cpu_percent_window": round(100 * window_cpu / window, 1) if window else None,
        "seconds": round(time.monotonic() - started, 1),
        "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
                  if k != "trigger"} for row in rows],
    }


def run(quick=False, log=print):
    sizes = [200] if quick else [500, 1000, 2000, 5000]
    changes = 5 if quick else 20
    points = []
    with Azurite() as azurite:
        for n in sizes:
            for kind in (Ours, Node):
                log(f"  fan-out: {kind.name} N={n} ...")
                result = point(kind, azurite, n, changes, budget=180)
                log(f"    connected {result['connected']}/{n}, fan-out p50 "
                    f"{result['fanout_ms']['p50']} ms p99 {result['fanout_ms']['p99']} ms, "
                    f"{result['rss_per_client_kb']} KB/client")
                points.append(result)
    ratios = {}
    for n in sizes:
        ours = next(p for p in points if p["n"] == n and p["server"] == Ours.name)
        node = next(p for p in points if p["n"] == n and p["server"] == Node.name)
        if ours["fanout_ms"]["p99"] and node["fanout_ms"]["p99"]:
            ratios[str(n)] = {q: round(ours["fanout_ms"][q] / max(node["fanout_ms"][q], 0.1), 2)
                              for q in ("p50", "p99")}
    return {"sizes": sizes, "changes": changes, "points": points, "ratio_vs_node": ratios}
