"""Several pillows on one all-in-one ``pillow-web serve``: 20 pillows on 20 queues (``[[pillow]]``
tables in the file named by ``PILLOW_CONFIG``), 50 screens each, which name their pillow in the
Socket.IO connect auth; a ``state`` naming another pillow, a ``status`` not about theirs, or a post
shown on a pillow it was not posted to, counts as one of another pillow. Post -> first and last
screen of its pillow, and each queue's idle requests/s, as ``bench/latency.py`` measures them.

The screens live in one child process: ``python -m bench.pillows PORT IDS PER_PILLOW DEADLINE``.
"""

import asyncio
import json
import queue
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from pillow_web.domain.messages import compose

from .common import HOST, PYTHON, Azurite, Serve, spawn, summary, unique_queue, wait_until
from .fleet import Fleet
from .latency import INTERVAL, measure_idle, shown_latencies
from .loadgen import Hub, commands, emit
from .table import fmt, met
from .wsclient import connect

PILLOWS, PER_PILLOW = 20, 50
STATES = ("HUGGING", "SHAKING")
PREFIX = "n="
TARGETS = {"p50": 0.6, "p95": 1.1, "idle": 1.05}  # the single-pillow targets (bench/latency.py)


class PillowHub(Hub):
    """The screens of one pillow (in the screens process): as loadgen's, plus each marker's
    first receipt and anything of another pillow."""

    def __init__(self, pillow):
        super().__init__(PREFIX)
        self.pillow = pillow

    def state(self, now, data, client=None):
        if data.get("pillow") != self.pillow:
            emit({"event": "foreign", "kind": "state", "screen": self.pillow,
                  "named": data.get("pillow"), "text": data.get("text")})
            return
        marker = data.get("text") or ""
        if marker.startswith(self.prefix) and marker not in self.times:
            emit({"event": "first", "pillow": self.pillow, "marker": marker, "at": round(now, 6)})
        super().state(now, data, client)

    def status(self, data):
        if self.pillow not in data.get("pillows", ()):
            emit({"event": "foreign", "kind": "status", "screen": self.pillow})



async def hold_screens(port, ids, per_pillow, deadline, concurrency=64):
    hubs, gate, failures = [PillowHub(pillow) for pillow in ids], asyncio.Semaphore(concurrency), []
    # loadgen.commands answers "report MARKER" through this, for whichever pillow showed it.
    wall = SimpleNamespace(report=lambda m: [hub.report(m) for hub in hubs if m in hub.times])

    async def one(hub):
        async with gate:
            try:
                await connect(HOST, port, hub, auth={"pillow": hub.pillow})
            except (OSError, TimeoutError, ConnectionError) as exc:
                failures.append(type(exc).__name__)

    async def connect_all():
        started = time.monotonic()
        await asyncio.gather(*(one(hub) for _ in range(per_pillow) for hub in hubs))
        emit({"event": "ready", "connected": sum(len(hub.clients) for hub in hubs),
              "failed": len(failures), "errors": sorted(set(failures)),
              "seconds": round(time.monotonic() - started, 3)})

    holder = asyncio.create_task(connect_all())
    try:
        await asyncio.wait_for(commands(wall), deadline)
    except TimeoutError:
        pass
    holder.cancel()
    for client in [client for hub in hubs for client in hub.clients]:
        client.transport.close()


class Screens(Fleet):
    """The parent's side of the screens process: Fleet's ready/got handling and commands, plus
    the screens' own events (``first`` receipts, ``foreign`` ones) set aside as they come."""

    def __init__(self, port, ids, per_pillow, deadline):  # not Fleet's: that one runs loadgens
        self.n, self.lines, self.ready, self.got = len(ids) * per_pillow, queue.Queue(), [], {}
        self.events = {"first": [], "foreign": []}
        proc = spawn([PYTHON, "-m", "bench.pillows", str(port), ",".join(ids), str(per_pillow),
                      str(deadline)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.procs, self.port_of = [proc], {proc.pid: port}
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") in self.events:
                self.events[record["event"]].append(record)
            else:
                self.lines.put((proc.pid, record))


def config_toml(queues):
    return "".join(f'[[pillow]]\nid = "{pillow}"\nname = "Pillow {pillow}"\nqueue = "{name}"\n\n'
                   for pillow, name in queues.items())


def post_numbered(clients, posts, rng):
    """``posts`` numbered states to random pillows; marker -> (pillow, send_message returned)."""
    sent, count = {}, dict.fromkeys(clients, 0)
    for i in range(posts):
        time.sleep(rng.uniform(*INTERVAL))  # the seeded schedule itself, not a wait for anything
        pillow = rng.choice(sorted(clients))
        clients[pillow].send_message(compose(STATES[count[pillow] % 2], text=f"{PREFIX}{i}"))
        count[pillow] += 1
        sent[f"{PREFIX}{i}"] = (pillow, time.time())
    return sent


def latencies(sent, screens):
    """Post -> first and -> last screen of its own pillow (``shown_latencies`` per pillow)."""
    owner = {marker: pillow for marker, (pillow, _) in sent.items()}
    # Every screen's receipts (Hub.report); a misrouted marker is counted from its first receipt.
    last = {m: max(r["times"]) for m, by_pid in screens.got.items() for r in by_pid.values()
            if r["times"] and r["count"] >= r["connected"]}
    firsts = screens.events["first"]
    first = {e["marker"]: e["at"] for e in firsts if e["pillow"] == owner.get(e["marker"])}
    out = {"last": [], "first": [], "superseded": 0,
           "misrouted": [e for e in firsts if e["marker"] in owner
                         and e["pillow"] != owner[e["marker"]]]}
    for pillow in sorted(set(owner.values())):
        mine = {marker: at for marker, (p, at) in sent.items() if p == pillow}
        for key, shown in (("last", last), ("first", first)):
            values, superseded = shown_latencies(mine, shown)
            out[key] += values
            out["superseded"] += superseded if key == "last" else 0
    return out


def run(quick=False, workdir=None, log=print):
    posts, idle_window = (25, 15) if quick else (120, 60)
    ids = [f"p{i:02d}" for i in range(1, PILLOWS + 1)]
    log_path = workdir / "azurite-pillows.log"
    with Azurite(debug_log=log_path) as azurite:
        queues = {pillow: unique_queue(f"pil-{pillow}") for pillow in ids}
        clients = {pillow: azurite.queue(name) for pillow, name in queues.items()}
        config = workdir / "pillows.toml"
        config.write_text(config_toml(queues))
        server = Serve(azurite.connection_string, queues[ids[0]], log=workdir / "pillows.log",
                       env_extra={"PILLOW_CONFIG": str(config)})
        screens = None
        try:
            server.wait_healthy(timeout=90)
            log(f"  pillows: {PILLOWS} pillows x {PER_PILLOW} screens ...")
            screens = Screens(server.port, ids, PER_PILLOW, idle_window + posts * 2.5 + 180)
            connected, failed, connect_s = screens.wait_ready(90)
            # Each watcher backs off from POLL_MIN to POLL_MAX in about 2 s; let it get there.
            wait_until(lambda: time.time() - server.started > 5, 10, "the watchers to settle", 0.1)
            log(f"  pillows: {connected} screens held; idle window {idle_window} s ...")
            with ThreadPoolExecutor(len(ids)) as pool:  # one window, every queue counted in it
                measured = pool.map(lambda p: measure_idle(log_path, queues[p], idle_window), ids)
                idle = dict(zip(ids, measured, strict=True))
            log(f"  pillows: {posts} posts ...")
            sent = post_numbered(clients, posts, random.Random(20261128))
            for marker in {pillow: m for m, (pillow, _) in sent.items()}.values():
                screens.wait_marker(marker, timeout=5)  # each pillow's last: the rest came before
            lat = latencies(sent, screens)
            foreign = screens.events["foreign"]
        finally:
            if screens:
                screens.close()
            server.stop()
            for client in clients.values():
                client.close()
    rates = [m["per_second"] for m in idle.values() if m["per_second"] is not None]
    result = {
        "pillows": PILLOWS, "screens_per_pillow": PER_PILLOW, "connected": connected,
        "failed": failed, "connect_seconds": connect_s, "posts": posts,
        "interval_s": list(INTERVAL), "last_screen": summary(lat["last"]),
        "first_screen": summary(lat["first"]), "shown": len(lat["last"]),
        "superseded": lat["superseded"], "misrouted": len(lat["misrouted"]),
        "foreign_states": sum(e["kind"] == "state" for e in foreign),
        "foreign_statuses": sum(e["kind"] == "status" for e in foreign),
        "foreign_examples": (foreign + lat["misrouted"])[:5],
        "idle": {"window_s": idle_window, "max_per_second": max(rates, default=None),
                 "mean_per_second": round(sum(rates) / len(rates), 3) if rates else None,
                 "per_pillow": idle},
        **{f"{key}_samples": [round(v, 4) for v in sorted(lat[key])] for key in ("last", "first")},
    }
    for row in rows(result):
        log("   | " + " | ".join("–" if v is None else str(v) for v in row) + " |")
    return result


def rows(result):
    def row(metric, value, target, unit=""):  # a target is an upper bound (0: none at all)
        return ("pillows", metric, fmt(value, unit), "", None,
                f"≤ {target}{unit}" if target else "0",
                met(None if value is None else value <= target))

    held = f"{result['connected']}/{result['pillows'] * result['screens_per_pillow']} held"
    idle, wrong = result["idle"], result["foreign_states"] + result["misrouted"]
    return [*(row(f"post → last screen of its pillow {q} ({held})", result["last_screen"][q],
                  TARGETS[q], " s") for q in ("p50", "p95")),
            *(("pillows", f"post → first screen of its pillow {q}",
               fmt(result["first_screen"][q], " s"), "", None, "", "–") for q in ("p50", "p95")),
            row(f"idle queue requests/s per pillow, max of {result['pillows']} (mean "
                f"{fmt(idle['mean_per_second'])})", idle["max_per_second"], TARGETS["idle"]),
            row(f"states of another pillow received ({result['shown']}/{result['posts']} posts "
                "shown)", wrong, 0),
            row("statuses of another pillow received", result["foreign_statuses"], 0)]


if __name__ == "__main__":  # the open-file limit is the bench's, raised for every child
    port, ids, per_pillow, deadline = sys.argv[1:5]
    asyncio.run(hold_screens(int(port), ids.split(","), int(per_pillow), float(deadline)))
