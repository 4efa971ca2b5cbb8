"""The parent's side of the load generators: start them, wait for them, collect their receipts."""

import json
import math
import queue
import subprocess
import threading
import time

from .common import PYTHON, spawn, stop

PER_PROCESS = 1250


class Fleet:
    """``n`` clients spread over ``processes`` loadgens (by default ~1250 each); ``ports`` is one
    server port or a list of them, the loadgens assigned to them round-robin (with several ports,
    the number of loadgens is a multiple of their count, so each port gets an even share)."""

    def __init__(self, ports, n, prefix="fan-", processes=None, deadline=300):
        ports = [ports] if isinstance(ports, int) else list(ports)
        self.n = n
        count = processes or max(1, math.ceil(n / PER_PROCESS))
        count = math.ceil(count / len(ports)) * len(ports)
        shares = [n // count + (1 if i < n % count else 0) for i in range(count)]
        self.lines = queue.Queue()
        self.procs = []
        self.port_of = {}  # loadgen pid -> the server port its clients use
        try:
            for i, share in enumerate(shares):
                port = ports[i % len(ports)]
                proc = spawn([PYTHON, "-m", "bench.loadgen", str(port), str(share),
                              "--prefix", prefix, "--deadline", str(deadline)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                self.procs.append(proc)
                self.port_of[proc.pid] = port
                threading.Thread(target=self._read, args=(proc,), daemon=True).start()
        except BaseException:  # the caller gets no Fleet to close: stop the ones started
            for proc in self.procs:
                stop(proc)
            raise
        self.ready = []
        self.got = {}  # marker -> list of per-process records

    def _read(self, proc):
        for line in proc.stdout:
            try:
                self.lines.put((proc.pid, json.loads(line)))
            except ValueError:
                continue

    def _drain(self, timeout):
        try:
            pid, record = self.lines.get(timeout=max(0.001, timeout))
        except queue.Empty:
            return
        if record["event"] == "ready":
            self.ready.append({**record, "port": self.port_of[pid]})
        elif record["event"] == "got":
            self.got.setdefault(record["marker"], {})[pid] = record

    def wait_ready(self, timeout):
        """Block until every process connected its share; return (connected, failed, seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.ready) < len(self.procs) and time.monotonic() < deadline:
            self._drain(deadline - time.monotonic())
        connected = sum(r["connected"] for r in self.ready)
        failed = self.n - connected
        seconds = max((r["seconds"] for r in self.ready), default=None)
        return connected, failed, seconds

    def connected_by_port(self):
        """Clients connected per server port (as str, for JSON), once ``wait_ready`` returned."""
        out = {}
        for record in self.ready:
            out[str(record["port"])] = out.get(str(record["port"]), 0) + record["connected"]
        return out

    def send(self, command):
        for proc in self.procs:
            try:
                proc.stdin.write((command + "\n").encode())
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass

    def wait_marker(self, marker, timeout):
        """All processes' records for ``marker``; asks the late ones to report what they have."""
        deadline = time.monotonic() + timeout
        while len(self.got.get(marker, {})) < len(self.procs) and time.monotonic() < deadline:
            self._drain(deadline - time.monotonic())
        if len(self.got.get(marker, {})) < len(self.procs):
            self.send(f"report {marker}")
            late = time.monotonic() + 5
            while len(self.got.get(marker, {})) < len(self.procs) and time.monotonic() < late:
                self._drain(late - time.monotonic())
        records = list(self.got.get(marker, {}).values())
        times = [t for record in records for t in record["times"]]
        emitted = next((r["emitted"] for r in records if r.get("emitted")), None)
        return times, emitted

    def close(self):
        self.send("quit")
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            stop(proc)
