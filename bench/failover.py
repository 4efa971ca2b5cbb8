"""Failover: SIGKILL the active one of two ``pillow-web serve`` (no Redis) on one queue, again
and again, while numbered messages (``#i``, stamped in order) arrive at ``RATE``/s. Timed from
outside: kill -> the standby's ``/api/state`` (polled every 50 ms) first shows a number above the
snapshot's at the kill, and kill -> its ``/healthz`` says active; a fresh process is then the next
standby. A poller collects the snapshot's ``applied_ids`` every 0.2 s: at the end (queue drained)
every id sent must be among them or in the poison queue. No shown number may ever go back.
"""

import bisect
import collections
import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path

import requests

from pillow_web.storage.account import Storage
from pillow_web.storage.lease import DURATION, RENEW_EVERY

from .common import Azurite, Serve, summary, unique_queue, wait_until
from .numbered import CONTAINER, RATE, Loop, Sender, SnapshotPoller, number
from .table import fmt, met

TARGET = DURATION + 2.0  # seconds from the kill to the first message the standby applies


class Instance(Loop):
    """One ``pillow-web serve`` whose ``/api/state`` number is read every 50 ms."""

    def __init__(self, connection_string, queue, log):
        super().__init__(0.05)
        self.log, self.samples = log, []  # (time, number shown)
        self.server = Serve(connection_string, queue, log=log)

    def step(self):
        try:
            self.samples.append((time.time(), number(self.server.state())))
        except (requests.RequestException, ValueError):
            pass

    def role(self):
        return self.server.lease_role()

    def first_above(self, shown, after):  # when it first showed more than ``shown``
        return next((t for t, n in list(self.samples) if t >= after and n > shown), None)

    def step_backs(self):
        out, top = [], 0
        for t, n in self.samples:
            if n < top:
                out.append({"at": round(t, 3), "from": top, "to": n, "log": self.log.name})
            top = max(top, n)
        return out


def one_round(live, storage, start, rng):
    """Kill the active one of ``live`` (two instances), time the takeover, start a standby."""
    wait_until(lambda: sorted(str(i.role()) for i in live) == ["active", "standby"], 60,
               "one active and one standby", 0.1)
    # A seeded random pause, so that kills fall evenly over the holder's renewal period (and some
    # mid-drain): right after a takeover, every lease would have been taken ~1 s before the kill.
    pause = rng.uniform(0, RENEW_EVERY)
    time.sleep(pause)
    killed, survivor = live if live[0].role() == "active" else live[::-1]
    killed_at = time.time()
    os.killpg(killed.server.process.pid, signal.SIGKILL)
    base = number(storage.load_snapshot()["current"])  # what the standby restores on takeover
    queued = storage.depth()
    killed.close()
    killed.server.process.wait(5)
    active_at = first = later = None
    deadline = time.monotonic() + TARGET + 20
    while (active_at is None or first is None) and time.monotonic() < deadline:
        if later is None and time.time() > killed_at + 0.5:
            # Read again: a save the killed one had fully sent may land a moment after the kill.
            later = number(storage.load_snapshot()["current"])
        if active_at is None and survivor.role() == "active":
            active_at = time.time()
        if later is not None:
            first = first or survivor.first_above(max(base, later), killed_at)
        time.sleep(0.05)  # this loop's polling interval
    if active_at is None or first is None:
        raise RuntimeError(f"no takeover within {TARGET + 20:.0f} s of the kill; standby log:\n"
                           f"{survivor.log.read_text(errors='replace')[-3000:]}")
    live[:] = [survivor, start()]
    return {"killed_at": killed_at, "pause_s": round(pause, 2), "queued_at_kill": queued,
            "snapshot_at_kill": base, "moved_after_kill": later - base,
            "to_first_applied_s": round(first - killed_at, 3),
            "to_active_s": round(active_at - killed_at, 3)}


def run(quick=False, log=print, workdir=None):
    kills, rng = 2 if quick else 20, random.Random(20261127)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="pillow-failover-"))
    started, rounds, loops = [], [], []
    with Azurite() as azurite:
        connection, queue = azurite.connection_string, unique_queue("failover")
        storage = Storage(connection, queue, CONTAINER)
        storage.ensure()

        def start():
            started.append(Instance(connection, queue, workdir / f"failover-{len(started)}.log"))
            started[-1].server.wait_healthy()
            started[-1].start()
            return started[-1]

        try:
            live = [start()]
            wait_until(lambda: live[0].role() == "active", 20, "the first one to be active")
            live.append(start())
            loops = sender, poller = Sender(connection, queue), SnapshotPoller(connection, queue)
            sender.start(), poller.start()
            wait_until(lambda: poller.current >= 10, 30, "the first messages applied", 0.1)
            for k in range(kills):
                rounds.append(one_round(live, storage, start, rng))
                log(f"  failover: kill {k + 1}/{kills}: first applied after "
                    f"{rounds[-1]['to_first_applied_s']} s, active after "
                    f"{rounds[-1]['to_active_s']} s")
            sender.close()
            last = sender.sent[-1][1]
            wait_until(lambda: storage.depth() == 0, 90, "the queue to drain", 0.2)
            for instance in live:
                wait_until(lambda i=instance: number(i.server.state()) == last, 30,
                           f"#{last} shown by both", 0.1)
            wait_until(lambda: poller.current == last, 30, f"#{last} in the snapshot", 0.1)
            poller.close()
            poller.step()  # one last read, the thread stopped
            poison = {json.loads(m.content).get("message_id")
                      for m in storage.poison.peek_messages(max_messages=32)}
            poisoned = storage.poison_count()
        finally:
            for loop in [*loops, *started]:
                loop.close()
            for instance in started:
                instance.server.stop()
            storage.close()
    return tally(kills, rounds, sender, poller, poison, poisoned, started)


def tally(kills, rounds, sender, poller, poison, poisoned, started):
    kill_times = [r.pop("killed_at") for r in rounds]
    kept = poller.applied | poison
    lost = [(i, at) for mid, i, at in sender.sent if mid not in kept]
    # A round: from its kill to the next kill (the first also has what was sent before it).
    in_round = collections.Counter(max(0, bisect.bisect_right(kill_times, at) - 1)
                                   for _, at in lost)
    for k, r in enumerate(rounds):
        r["lost"] = in_round[k]
    step_backs = [back for instance in started for back in instance.step_backs()]
    first_applied = [r["to_first_applied_s"] for r in rounds]
    result = {
        "kills": kills, "rate_per_s": RATE, "lease_s": DURATION, "target_s": TARGET,
        "to_first_applied_s": summary(first_applied),
        "to_active_s": summary([r["to_active_s"] for r in rounds]),
        "sent": len(sender.sent), "send_failures": sender.failed, "lost": len(lost),
        "lost_numbers": [i for i, _ in lost][:50], "poisoned": poisoned, "step_backs": step_backs,
        "snapshot_reads": poller.reads, "snapshot_gaps": poller.gaps,
        "snapshot_read_errors": poller.errors, "rounds": rounds,
        "met": not lost and not step_backs and max(first_applied) <= TARGET,
    }
    if lost or step_backs:  # for the report: the end of every process's log
        result["logs"] = {i.log.name: i.log.read_text(errors="replace")[-4000:] for i in started}
    return result


def rows(result):
    out, n = [], result["kills"]
    for key, label, target in (("to_first_applied_s", "SIGKILL → first applied", TARGET),
                               ("to_active_s", "SIGKILL → standby /healthz active", None)):
        for q in ("p50", "max"):
            value = result[key][q]
            out.append(("failover", f"{label} {q} ({n} kills)", fmt(value, " s"), "", None,
                        f"≤ {target:g} s (lease + 2 s)" if target else "",
                        met(value <= target) if target and value is not None else "–"))
    sent = f"of {result['sent']} sent at {result['rate_per_s']:g}/s"
    out.append(("failover", f"messages lost ({sent})", fmt(result["lost"]), "", None, "0",
                met(result["lost"] == 0)))
    out.append(("failover", "messages poisoned", fmt(result["poisoned"]), "", None, "", "–"))
    out.append(("failover", "shown number went back", fmt(len(result["step_backs"])), "", None,
                "0", met(not result["step_backs"])))
    return out
