"""One chaos run: the topology, the pillow, the screens and the kiosk, the faults, then the end
state gathered (the queue drained, every screen on the last message, the poison queue read) and
everything stopped, for the checker.
"""

import json
import time
from contextlib import ExitStack
from pathlib import Path

from bench.common import wait_until
from bench.numbered import SnapshotPoller
from pillow_web.storage.account import Storage

from . import checker, faults
from .kiosk import Kiosk, is_chromium
from .pillow import CONTAINER, Pillow
from .screens import Log, Screens
from .topology import HOST, QUEUE, Topology

WARM_UP = 3.0  # seconds of messages before the first fault
SETTLE = 180.0  # seconds the end may take: the last faults' restarts, then the queue drained


class SnapshotWatch(SnapshotPoller):
    """bench's poller (every id the snapshot named: applied, or consumed as older than the state
    shown; read every 0.2 s), also keeping each current state with when it was read."""

    def __init__(self, connection_string):
        super().__init__(connection_string, QUEUE)
        self.currents = []

    def step(self):
        reads = self.reads
        super().step()
        if self.reads > reads:
            self.currents.append((time.time(), self.snapshot.get("current")))

    def close(self):
        super().close()
        self.step()  # one last read, the thread stopped
        self.storage.close()


def read_poison(connection_string):
    """{message id: reason} of every poison entry (taken off the queue: the run is over)."""
    entries = {}
    storage = Storage(connection_string, QUEUE, CONTAINER)
    try:
        while batch := list(storage.poison.receive_messages(max_messages=32,
                                                            visibility_timeout=600)):
            for message in batch:
                record = json.loads(message.content)
                entries[record["message_id"]] = record["reason"]
    finally:
        storage.close()
    return entries


def run(seed, plan, rate, screens, run_dir, log=print):
    """Carry out ``plan`` (``faults.schedule``) and return the checker's result."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    topology = Topology(run_dir)
    collected, started = {"fault_errors": []}, time.time()
    with ExitStack() as stack:
        stack.callback(topology.stop)
        log(f"chaos: starting the topology in {run_dir}")
        topology.start()
        connection = topology.azurite.connection_string
        screen_log = Log(run_dir / "screens.jsonl")
        stack.callback(screen_log.close)
        lean = Screens(HOST, topology.nginx.port, screens, screen_log, seed)
        lean.start()
        stack.callback(lean.close)
        wait_until(lambda: lean.connected() == screens, 60, f"{screens} screens connected", 0.1)
        kiosk = Kiosk(topology.url + "/", run_dir)
        stack.callback(kiosk.close)
        kiosk.start()
        watch = SnapshotWatch(connection)
        watch.start()
        pillow = Pillow(connection, QUEUE, run_dir, rate, seed)
        pillow.start()
        time.sleep(WARM_UP)
        log(f"chaos: {screens} screens and the kiosk connected; {len(plan)} faults from now")
        fault_log = Log(run_dir / "faults.jsonl")
        stack.callback(fault_log.close)
        injector = faults.Injector(topology, plan, fault_log, seed)
        injector.start()
        end_of_plan = plan[-1]["at_s"] + max(f["down_s"] for f in plan) + SETTLE if plan else 0
        if not injector.join(end_of_plan):
            collected["fault_errors"].append("faults still under way at the end of the plan")
        collected["fault_errors"] += injector.errors
        pillow.close()
        last = pillow.finish()
        log(f"chaos: faults over; {pillow.n} messages sent, waiting for #{last} everywhere")
        storage = Storage(connection, QUEUE, CONTAINER)
        stack.callback(storage.close)
        shown = f"#{last}"
        try:
            wait_until(lambda: storage.depth() == 0
                       and all(p and p.get("text") == shown for p in lean.showing().values())
                       and kiosk.shown()["text"] == shown, SETTLE, f"{shown} on every screen", 0.2)
        except TimeoutError as exc:
            collected["fault_errors"].append(str(exc))
        watch.close()
        collected.update(applied_ids=watch.applied, applied=watch.currents, last=last,
                         final=lean.showing(), kiosk_text=kiosk.shown()["text"],
                         poison=read_poison(connection), pillow_send_failures=pillow.failures)
    collected["left_running"] = [f"{pid} {command}" for pid, command in
                                 topology.left_running()]
    collected["left_running"] += [f"{pid} chromium" for pid in kiosk.pids if is_chromium(pid)]
    result = checker.check(run_dir, QUEUE, collected)
    result.update(seed=seed, faults_planned=len(plan), rate_per_s=rate, screens=screens,
                  duration_s=round(time.time() - started, 1), schedule=plan,
                  send_failures=collected["pillow_send_failures"])
    result["timeline"]["start"] = started
    (run_dir / "report.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
