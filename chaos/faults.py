"""The fault schedule, drawn from a seed so that a run can be replayed, and the injector that
carries it out on a ``Topology``, logging each fault's begin and end to ``faults.jsonl``.

Each fault picks its part when it begins ("the active watcher" is the one whose ``/healthz``
says so then), runs in a thread of its own and so overlaps with the others; two faults on one
part take turns. A killed process is started again (a new generation, same port) after its
downtime; Azurite is stopped cleanly and started again on the same data folder (SIGKILL would
lose what its store had not yet written, which Azure itself never does).
"""

import random
import threading
import time

# (target, action) and how often it is drawn.
KINDS = {
    ("active watcher", "kill"): 16, ("active watcher", "freeze"): 10,
    ("standby watcher", "kill"): 8, ("standby watcher", "freeze"): 5,
    ("web worker", "kill"): 12, ("web worker", "freeze"): 6,
    ("redis", "kill"): 8, ("redis", "freeze"): 5,
    ("nginx", "kill"): 8, ("nginx", "freeze"): 5,
    ("azurite", "restart"): 10, ("azurite", "freeze"): 7,
}


def downtime(rng, target, action):
    """Seconds a part stays down or frozen: watchers sometimes past the 15 s lease period."""
    if action == "freeze" and target.endswith("watcher"):
        return round(rng.uniform(2, 25), 1)
    if action == "freeze":
        return round(rng.uniform(1, 12), 1)
    return round(rng.uniform(0.5, 8 if target == "azurite" else 6), 1)


def schedule(seed, count, mean_gap):
    """``count`` faults: every kind once (while ``count`` allows) in a seeded order, then drawn
    by weight; begin times ``mean_gap`` s apart on average (exponential gaps, so some overlap)."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    rng.shuffle(kinds)
    drawn = kinds[:count] + rng.choices(list(KINDS), list(KINDS.values()),
                                        k=max(0, count - len(kinds)))
    at, plan = 0.0, []
    for event, (target, action) in enumerate(drawn, 1):
        plan.append({"event": event, "at_s": round(at, 1), "target": target, "action": action,
                     "down_s": downtime(rng, target, action)})
        at += rng.expovariate(1 / mean_gap)
    return plan


class Injector:
    """Carries out ``plan`` on ``topology`` from ``start()``; ``join()`` waits for every fault
    to end (each part answering again)."""

    def __init__(self, topology, plan, log, seed):
        self.topology, self.plan, self.log = topology, plan, log
        self.rng = random.Random(seed + 1)
        self.turns = {name: threading.Lock() for name in topology.parts}
        self.threads, self.errors = [], []
        self.last_active = topology.watchers[0]  # the one that last said it held the lease

    def start(self):
        begin = time.monotonic()
        for fault in self.plan:
            thread = threading.Thread(target=self._run, args=(fault, begin), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, fault, begin):
        time.sleep(max(0.0, begin + fault["at_s"] - time.monotonic()))
        try:
            self._carry_out(fault)
        except Exception as exc:  # noted: a fault that could not be carried out fails the run
            self.errors.append(f"fault #{fault['event']} {fault['target']} {fault['action']}: "
                               f"{type(exc).__name__}: {exc}")

    def _pick(self, target):
        watchers = self.topology.watchers
        if target.endswith("watcher"):
            roles = self.topology.roles()
            active = [w for w in watchers if roles[w.name] == "active"]
            # None active (a takeover under way, one frozen): the one that last said so.
            holder = self.last_active = active[0] if active else self.last_active
            return holder if target == "active watcher" else next(
                w for w in watchers if w is not holder)
        if target == "web worker":
            return self.rng.choice(self.topology.webs)
        return self.topology.parts[target]

    def _carry_out(self, fault):
        part = self._pick(fault["target"])
        with self.turns[part.name]:
            line = {"event": fault["event"], "part": part.name, "target": fault["target"],
                    "action": fault["action"], "down_s": fault["down_s"]}
            self.log.write(t=time.time(), phase="begin", **line)
            try:
                if fault["action"] == "freeze":
                    part.freeze()
                    time.sleep(fault["down_s"])
                    part.thaw()
                else:
                    part.kill() if fault["action"] == "kill" else part.stop()
                    time.sleep(fault["down_s"])
                    part.start()
            finally:
                self.log.write(t=time.time(), phase="end", **line)

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self.threads)

