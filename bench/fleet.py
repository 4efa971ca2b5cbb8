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
    """``n`` clients of ``port`` spread over ``processes`` loadgens (by default ~1250 each)."""

    def __init__(self, port, n, prefix="fan-", processes=None, deadline=300):
        self.n = n
        count = processes or max(1, math.ceil(n / PER_PROCESS))
        shares = [n // count + (1 if i < n % count else 0) for i in range(count)]
        self.lines = queue.Queue()
        self.procs = []
        for share in shares:
            proc = spawn([PYTHON, "-m", "bench.loadgen", str(port), str(share), "--prefix", prefix,
                          "--deadline", str(deadline)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(proc,), daemon=True).start()
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
            self.ready.append(record)
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
