"""Scale-out: two web workers and one watcher behind Redis, against one process and Node.

Same method as the fan-out benchmark (``fanout.point``): N lean clients, then ``changes`` times a
state whose text is a unique marker is posted to the queue, and fan-out time = last receipt - the
payload's ``received_at``, which the consuming process (here the watcher) stamps when it applies
the change; everything runs on this machine, so it is one clock. The scaled setup is two
``serve --role web`` workers and one ``serve --role watcher``, all with the same fresh Redis as
``PILLOW_MESSAGE_QUEUE``; the clients are split evenly over the two workers' ports (no nginx).
At N = 5,000 it is compared with one all-in-one ``serve`` and with Node socket.io; then 10,000
screens are held across the two workers. CPU and RSS are the web workers' sum; the watcher's and
Redis's CPU are reported on their own.
"""

import os
import secrets
from contextlib import ExitStack

from pillow_web.domain.messages import compose

from .common import Azurite, Redis, Serve, raise_nofile, unique_queue, wait_until
from .fanout import STATES, Node, Ours, point
from .table import fmt, met, ratio

SETUPS = {"two_web": "2 web workers + watcher", "all_in_one": "1 process (serve)",
          "node": "node socket.io"}
TARGETS = {"two_web_p99_ms": 300, "held_p99_ms": 800, "held_rss_kb": 60, "cpu_vs_node": 2.0}


class TwoWeb:
    """``workers`` web workers and one watcher on one queue, sharing a fresh Redis."""

    name = "pillow-web, 2 web workers + watcher"

    def __init__(self, azurite, workers=2):
        self.queue_name = unique_queue("scale")
        self.client = azurite.queue(self.queue_name)
        self.redis, self.watcher, self.web = Redis(), None, []
        try:
            self.redis.__enter__()
            shared = {"message_queue": self.redis.url,  # as one deployment: one secret key
                      "env_extra": {"PILLOW_SECRET_KEY": secrets.token_hex(16)}}
            self.watcher = Serve(azurite.connection_string, self.queue_name, role="watcher",
                                 **shared).wait_healthy()
            wait_until(lambda: self.watcher.lease_role() == "active", 60,
                       "the watcher to hold the lease", interval=0.1)
            self.web = [Serve(azurite.connection_string, self.queue_name, role="web", **shared)
                        for _ in range(workers)]
            for serve in self.web:
                serve.wait_healthy()
        except BaseException:  # the caller gets nothing to stop
            self.stop()
            raise
        self.ports = [serve.port for serve in self.web]
        self.pids = [serve.process.pid for serve in self.web]
        self.side_pids = {"watcher": self.watcher.process.pid, "redis": self.redis.process.pid}

    def trigger(self, marker, i):
        self.client.send_message(compose(STATES[i % 2][0], text=marker))

    def stop(self):
        with ExitStack() as stack:  # every callback runs, last registered first
            stack.callback(self.client.close)
            stack.callback(self.redis.__exit__, None, None, None)
            if self.watcher:
                stack.callback(self.watcher.stop)
            for serve in self.web:
                stack.callback(serve.stop)


def _line(result):
    return (f"connected {result['connected']}/{result['n']}, complete "
            f"{result['complete_changes']}/{result['changes']}, fan-out p50 "
            f"{result['fanout_ms']['p50']} ms p99 {result['fanout_ms']['p99']} ms, "
            f"{result['cpu_us_per_change_per_client']} µs CPU per change per client, "
            f"{result['rss_per_client_kb']} KB/client")


def run(quick=False, log=print):
    n, n_held, changes = (200, 400, 5) if quick else (5000, 10000, 20)
    # Each web worker holds half the screens plus its own files; loadgens raise their own.
    limit = raise_nofile()
    if limit < n_held // 2 + 1000:
        raise RuntimeError(f"open-file limit {limit} is too low for {n_held // 2} sockets "
                           "per worker; raise the hard limit (ulimit -Hn)")
    plan = [("two_web", TwoWeb, n, 180), ("all_in_one", Ours, n, 180), ("node", Node, n, 180),
            ("two_web_held", TwoWeb, n_held, 360)]  # connecting 10,000 takes longer
    points = {}
    with Azurite() as azurite:
        for key, kind, size, budget in plan:
            log(f"  scale-out: {SETUPS[key.replace('_held', '')]} N={size} ...")
            load = os.getloadavg()[0]
            points[key] = point(kind, azurite, size, changes, budget, label=key.replace("_", ""))
            points[key]["loadavg_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            log(f"    {_line(points[key])}")
    return {"n": n, "n_held": n_held, "changes": changes, "points": points,
            "verdicts": verdicts(points, changes)}


def verdicts(points, changes):
    """Each target: the figure, and whether it is met (None when there is no figure)."""
    two, node, held = points["two_web"], points["node"], points["two_web_held"]
    everywhere = held["failed"] == 0 and held["complete_changes"] == changes == held["changes"]
    cpu_ratio = ratio(two["cpu_us_per_change_per_client"], node["cpu_us_per_change_per_client"])
    whole = two["cpu_ms_per_change"] + sum(two["side_cpu_ms_per_change"].values())
    p99, held_p99 = two["fanout_ms"]["p99"], held["fanout_ms"]["p99"]
    return {
        "two_web_p99_ms": {"value": p99, "met": None if p99 is None else
                           p99 <= TARGETS["two_web_p99_ms"]},
        "held_p99_ms": {"value": held_p99, "every_change_everywhere": everywhere,
                        "met": None if held_p99 is None else
                        held_p99 <= TARGETS["held_p99_ms"] and everywhere},
        "held_rss_kb": {"value": held["rss_per_client_kb"],
                        "met": held["rss_per_client_kb"] <= TARGETS["held_rss_kb"]},
        "cpu_vs_node": {"value": cpu_ratio,
                        "met": None if cpu_ratio is None else cpu_ratio <= TARGETS["cpu_vs_node"],
                        # With the watcher's and Redis's CPU too: the whole deployment's cost.
                        "with_watcher_and_redis": ratio(whole / max(two["connected"], 1),
                                                         node["cpu_ms_per_change"]
                                                         / max(node["connected"], 1))},
    }


def rows(result):
    """Table rows as table.py's: (part, metric, ours, reference, ratio, target, met)."""
    points, verdict, n, n_held = (result[key] for key in ("points", "verdicts", "n", "n_held"))
    two, one, node, held = (points[key] for key in ("two_web", "all_in_one", "node",
                                                    "two_web_held"))
    out = []
    for label, ours in (("2 web workers", two), ("1 process", one)):
        for q in ("p50", "p99"):
            o, r = ours["fanout_ms"][q], node["fanout_ms"][q]
            scaled_p99 = ours is two and q == "p99"
            out.append(("scale-out", f"N={n} {label}: last client {q} ({ours['connected']}/{n} "
                        "held)", fmt(o, " ms"), fmt(r, " ms"), ratio(o, r),
                        f"≤ {TARGETS['two_web_p99_ms']} ms" if scaled_p99 else "",
                        met(verdict["two_web_p99_ms"]["met"]) if scaled_p99 else "–"))
    for label, ours in (("2 web workers", two), ("1 process", one)):
        o, r = ours["cpu_us_per_change_per_client"], node["cpu_us_per_change_per_client"]
        out.append(("scale-out", f"N={n} {label}: CPU per change per screen", fmt(o, " µs"),
                    fmt(r, " µs"), ratio(o, r), "≤ 2× node" if ours is two else "",
                    met(verdict["cpu_vs_node"]["met"]) if ours is two else "–"))
    side = two["side_cpu_ms_per_change"]
    out.append(("scale-out", f"N={n} 2 web workers: watcher / Redis CPU per change",
                f"{fmt(side['watcher'])} / {fmt(side['redis'])} ms", "", None, "", "–"))
    o, r = two["rss_per_client_kb"], node["rss_per_client_kb"]
    out.append(("scale-out", f"N={n} 2 web workers: RSS per screen", fmt(o, " KB"),
                fmt(r, " KB"), ratio(o, r), "", "–"))
    everywhere = f"{held['complete_changes']}/{result['changes']} changes to all"
    out.append(("scale-out", f"N={n_held} 2 web workers: last client p99 ({held['connected']}/"
                f"{n_held} held, {everywhere})", fmt(held["fanout_ms"]["p99"], " ms"), "", None,
                f"≤ {TARGETS['held_p99_ms']} ms, every change to every screen",
                met(verdict["held_p99_ms"]["met"])))
    out.append(("scale-out", f"N={n_held} 2 web workers: RSS per screen",
                fmt(held["rss_per_client_kb"], " KB"), "", None,
                f"≤ {TARGETS['held_rss_kb']} KB", met(verdict["held_rss_kb"]["met"])))
    out.append(("scale-out", f"N={n_held} 2 web workers: CPU per change per screen",
                fmt(held["cpu_us_per_change_per_client"], " µs"), "", None, "", "–"))
    return out
