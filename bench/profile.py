"""Where a broadcast's CPU goes: py-spy samples ``pillow-web serve`` holding N clients while it
pushes ``changes`` states. Not part of the default run: ``python -m bench profile``.

Writes the top frames by own time and by inclusive time (percent of samples) to the results and
to ``profile.txt`` beside them.
"""

import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .common import Azurite, raise_nofile
from .fanout import Ours
from .fleet import Fleet


def top(raw_path, count=15):
    own, inclusive, total = Counter(), Counter(), 0
    for line in Path(raw_path).read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        frames = stack.split(";")
        total += int(samples)
        own[frames[-1]] += int(samples)
        for frame in set(frames):
            inclusive[frame] += int(samples)

    def table(counter):
        return [[round(100 * n / total, 1), frame] for frame, n in counter.most_common(count)]

    return {"samples": total, "own": table(own), "inclusive": table(inclusive)}


def run(quick=False, workdir=None, log=print):
    n, changes = (300, 5) if quick else (3000, 15)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = workdir / "profile.raw"
    raise_nofile()
    with Azurite() as azurite:
        server = Ours(azurite)
        fleet = recorder = None
        try:
            fleet = Fleet(server.port, n, prefix=f"fan-{n}-")
            fleet.wait_ready(120)
            log(f"  profile: py-spy on pillow-web serve, {n} clients, {changes} changes ...")
            recorder = subprocess.Popen([spy, "record", "-p", str(server.pid), "-r", "200",
                                         "-d", str(changes * 2 + 5), "-f", "raw", "-o", str(raw),
                                         "--nonblocking"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)  # py-spy attaching; a broadcast before it would go unsampled
            for i in range(changes):
                marker = f"fan-{n}-profile-{i}"
                server.trigger(marker, i)
                fleet.wait_marker(marker, timeout=15)
            recorder.wait(timeout=changes * 2 + 60)
        finally:
            if recorder and recorder.poll() is None:
                recorder.kill()
            if fleet:
                fleet.close()
            server.stop()
    result = top(raw) | {"clients": n, "changes": changes}
    lines = [f"py-spy, {n} clients, {changes} broadcasts, {result['samples']} samples"]
    for kind in ("own", "inclusive"):
        lines += ["", f"% of samples, {kind} time"] + [f"{p:5.1f}  {f}" for p, f in result[kind]]
    result["text"] = "\n".join(lines) + "\n"
    return result
