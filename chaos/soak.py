"""``python -m chaos.soak``: the topology without faults for a long while, messages at a steady
rate, hundreds of screens reconnecting now and then (as kiosks do over weeks): no process grows.

Every 10 s each part's session (nginx's worker, node's children too) is measured from /proc and
each pillow-web process's ``pillow_greenlets`` read, into ``soak.jsonl``. Baseline: the mean of
the minute after warm-up; end: of the last minute. Both sample when every screen is connected,
so the per-connection files and greenlets compare.
"""

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack, suppress
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.common import ROOT, raise_nofile, wait_until

from .pillow import Pillow
from .screens import Log, Screens
from .topology import HOST, QUEUE, Topology, sessions_alive

PROCESSES = ("watcher-a", "watcher-b", "web-a", "web-b", "redis", "nginx", "azurite")
SAMPLE_EVERY = 10.0  # seconds
WINDOW = 60.0  # seconds of samples in the baseline and in the end value
ALL_CONNECTED_WAIT = 15.0  # seconds a window's sample waits for every screen to be connected
CHURN = 300.0  # mean seconds between one screen's own reconnects
RSS_LIMIT_MB = 10.0
# A file or greenlet caught in passing: a screen's connection closed a moment ago but not yet
# reaped, a pooled storage connection being replaced. A leak grows past this within minutes.
FD_ALLOWANCE, GREENLET_ALLOWANCE = 2, 3
SETTLE = 120.0  # seconds for the last message to reach every screen
MARKS = {None: "", True: " ✅", False: " ❌"}


class EventsLog(Log):
    """Only the screens' connects and disconnects: every state of every screen would be ~1 GB."""

    def write(self, **line):
        if "event" in line:
            super().write(**line)


def measure(session):
    """(RSS in MB, open file descriptors) summed over the live processes of a part's session."""
    rss_kib = fds = 0
    for pid, _ in sessions_alive({session}):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rss_kib += int(status.split("VmRSS:", 1)[1].split()[0])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, IndexError):  # gone since the scan
            continue
    return round(rss_kib * 1024 / 1e6, 2), fds


def greenlets(url):
    """``pillow_greenlets`` of a pillow-web process's ``/metrics`` (open on loopback), or None."""
    try:
        text = requests.get(url + "/metrics", timeout=10).text
    except requests.RequestException:
        return None
    return next((sample.value for family in text_string_to_metric_families(text)
                 for sample in family.samples if sample.name == "pillow_greenlets"), None)


def sample(topology, phase, connected):
    line = {"t": time.time(), "phase": phase, "connected": connected, "parts": {}}
    for name in PROCESSES:
        part = topology.parts[name]
        rss, fds = measure(part.process.pid)
        line["parts"][name] = {"rss_mb": rss, "fds": fds}
        if hasattr(part, "url"):
            line["parts"][name]["greenlets"] = greenlets(part.url)
    return line


def compare(samples):
    """Each process's baseline and end figures against the targets."""
    def mean(phase, name, key):
        values = [s["parts"][name][key] for s in samples if s["phase"] == phase
                  and s["parts"][name].get(key) is not None]
        return round(statistics.fmean(values), 2) if values else None

    figures = {}
    for name in PROCESSES:
        row = {key: [mean("baseline", name, key), mean("end", name, key)]
               for key in ("rss_mb", "fds", "greenlets")}
        (rss0, rss1), (fd0, fd1), (g0, g1) = row["rss_mb"], row["fds"], row["greenlets"]
        row["rss_diff_mb"] = round(rss1 - rss0, 2)
        row["rss_ok"] = row["rss_diff_mb"] <= RSS_LIMIT_MB
        row["fds_ok"] = fd1 <= fd0 + FD_ALLOWANCE
        if g0 is not None:  # a pillow-web process
            row["greenlets_ok"] = g1 is not None and g1 <= g0 + GREENLET_ALLOWANCE
        figures[name] = row
    return figures


def run(minutes, screens, rate, warm_up_s, run_dir, log=print, churn=CHURN, seed=20261128):
    """Soak the topology for ``minutes`` and return the figures (also ``soak.json``)."""
    if minutes * 60 < warm_up_s + 2 * WINDOW:
        raise ValueError(f"{minutes} min leaves no baseline and end minute after the warm-up")
    (run_dir := Path(run_dir).resolve()).mkdir(parents=True, exist_ok=True)
    topology = Topology(run_dir)
    result = {"minutes": minutes, "rate_per_s": rate, "screens": screens, "churn_s": churn,
              "warm_up_s": warm_up_s, "errors": []}
    started = time.monotonic()
    with ExitStack() as stack, open(run_dir / "soak.jsonl", "a", 1, "utf-8") as record:
        stack.callback(topology.stop)
        log(f"soak: starting the topology in {run_dir}")
        topology.start()
        screen_log = EventsLog(run_dir / "screens.jsonl")
        stack.callback(screen_log.close)
        lean = Screens(HOST, topology.nginx.port, screens, screen_log, seed, churn=churn)
        lean.start()
        stack.callback(lean.close)
        wait_until(lambda: lean.connected() == screens, 120, f"{screens} screens connected", 0.1)
        pillow = Pillow(topology.azurite.connection_string, QUEUE, run_dir, rate, seed)
        pillow.start()
        log(f"soak: {screens} screens connected, {rate:g} messages/s for {minutes:g} min")
        begin = time.monotonic()
        samples, due, end_at = [], begin, begin + minutes * 60
        while (now := time.monotonic()) < end_at:
            phase = ("warm-up" if now < begin + warm_up_s else "baseline" if now < begin
                     + warm_up_s + WINDOW else "end" if now >= end_at - WINDOW else "run")
            if phase in ("baseline", "end"):
                with suppress(TimeoutError):  # sampled anyway: ``connected`` says how many were
                    wait_until(lambda: lean.connected() == screens, ALL_CONNECTED_WAIT,
                               "every screen connected", 0.01)
            samples.append(sample(topology, phase, lean.connected()))
            record.write(json.dumps(samples[-1]) + "\n")  # (line-buffered)
            if len(samples) == 1 or samples[-2]["phase"] != phase or len(samples) % 30 == 0:
                log(f"soak: {phase} at {now - begin:.0f} s, {pillow.n} sent, "
                    f"{lean.reconnects} reconnects")
            due += SAMPLE_EVERY
            time.sleep(max(0.0, min(due, end_at) - time.monotonic()))
        pillow.close()
        last = pillow.finish()

        def missing():
            return sorted(name for name, payload in lean.showing().items()
                          if not (payload and payload.get("text") == f"#{last}"))

        with suppress(TimeoutError):  # (the summary names how many screens missed it)
            wait_until(lambda: not missing(), SETTLE, f"#{last} on every screen", 0.2)
        not_showing = missing()
        result["errors"] += [f"{name} exited during the soak" for name in PROCESSES
                             if not topology.parts[name].running]
        result.update(reconnects=lean.reconnects, sent=pillow.n, last=last,
                      not_showing=not_showing, send_failures=pillow.failures,
                      figures=compare(samples))
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["passed"] = not result["errors"] and not not_showing and all(
        row[key] for row in result["figures"].values() for key in row if key.endswith("_ok"))
    (run_dir / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def summary(result):
    """A Markdown table of each process's figures against the targets, for the README."""
    def cell(value, ok=None, form=".1f"):
        return ("–" if value is None else format(value, form)) + MARKS[ok]

    everywhere = "shown on every screen" if not result["not_showing"] else \
        f"missing on {len(result['not_showing'])} screens"
    lines = [f"Soak: {result['minutes']:g} min at {result['rate_per_s']:g} messages/s, "
             f"{result['screens']} screens, {result['reconnects']} reconnects, "
             f"{result['sent']} messages sent, the last (#{result['last']}) {everywhere}.", "",
             f"| process | RSS after warm-up (MB) | RSS at the end (MB) | difference (≤ "
             f"{RSS_LIMIT_MB:g} MB) | fds after warm-up | fds at the end (≤ +{FD_ALLOWANCE}) | "
             f"greenlets after warm-up | greenlets at the end (≤ +{GREENLET_ALLOWANCE}) |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for name, row in result["figures"].items():
        diff = cell(round(row["rss_diff_mb"], 1) + 0.0, row["rss_ok"], "+.1f")  # no "-0.0"
        cells = [name, cell(row["rss_mb"][0]), cell(row["rss_mb"][1]), diff,
                 cell(row["fds"][0]), cell(row["fds"][1], row["fds_ok"]),
                 cell(row["greenlets"][0]), cell(row["greenlets"][1], row.get("greenlets_ok"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [f"\n{error}" for error in result["errors"]]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chaos.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30, help="length (default 30)")
    parser.add_argument("--screens", type=int, default=500,
                        help="lean Socket.IO screens through nginx (default 500)")
    parser.add_argument("--rate", type=float, default=2, help="messages per second (default 2)")
    parser.add_argument("--warm-up", type=float, default=120, metavar="S",
                        help="seconds before the baseline minute (default 120)")
    parser.add_argument("--churn", type=float, default=CHURN, metavar="S",
                        help=f"mean seconds between one screen's reconnects (default {CHURN:g})")
    parser.add_argument("--out", type=Path, default=ROOT / "chaos" / "results" / "soak",
                        metavar="DIR", help="run folder (default chaos/results/soak)")
    args = parser.parse_args(argv)
    if args.minutes * 60 < args.warm_up + 2 * WINDOW or args.screens < 1 or args.rate <= 0:
        parser.error("--minutes must leave two minutes after --warm-up; --screens, --rate > 0")
    raise_nofile()
    result = run(args.minutes, args.screens, args.rate, args.warm_up, args.out,
                 log=lambda line: print(line, flush=True), churn=args.churn)
    text = summary(result)
    (args.out / "soak.md").write_text(text + "\n")
    print(text)
    print(f"soak: {result['duration_s']:.0f} s; soak.jsonl, soak.json, soak.md in {args.out}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
