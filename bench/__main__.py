"""``python -m bench [PART ...] [--quick]``: run the benchmarks, print the table, write
``bench/results/`` (results.json, table.md and the plots).

A full run takes about 45 minutes; ``--quick`` is a smoke run of a minute or two whose results
go to ``bench/results/quick/`` (not kept in git). Parts not run keep their previous results.
"""

import argparse
import importlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import REFERENCE, RESULTS, ROOT, raise_nofile

PARTS = ("latency", "fanout", "backlog", "page", "scaleout", "failover", "relay", "stack",
         "pillows", "console")
PLOTTED = ("scaleout", "failover")  # parts with a plot of their own: plots.<part>, <part>.png
EXTRA = ("profile",)  # run only when named
NEEDS = {"matplotlib": "matplotlib", "psutil": "psutil", "playwright": "playwright"}


def check_requirements(parts):
    missing = [pkg for module, pkg in NEEDS.items() if importlib.util.find_spec(module) is None]
    if missing:
        sys.exit(f"bench: missing Python packages {', '.join(missing)}; install them with\n"
                 f"  {sys.executable} -m pip install -r bench/requirements.txt")
    node_needed = {"fanout", "scaleout"} & set(parts)
    if node_needed and not (REFERENCE / "node_modules" / "socket.io").is_dir():
        print("bench: installing the Node reference (npm ci --prefix bench/reference) ...")
        subprocess.run(["npm", "ci", "--prefix", str(REFERENCE), "--no-audit", "--no-fund",
                        "--loglevel=error"], check=True)
    if {"page", "console"} & set(parts) and not Path("/usr/bin/chromium").exists():
        sys.exit("bench: the page and console benchmarks need Debian's chromium (`make browser`)")


def machine():
    def version(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10,
                                  cwd=ROOT).stdout.strip()
        except OSError:
            return None

    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "node": version(["node", "--version"]),
            "commit": version(["git", "rev-parse", "--short", "HEAD"]),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main():
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"of {', '.join(PARTS + EXTRA)} (default: {', '.join(PARTS)})")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--replot", action="store_true",
                        help="only rebuild the table and plots from the saved results.json")
    args = parser.parse_args()
    unknown = set(args.parts) - set(PARTS + EXTRA)
    if unknown:
        parser.error(f"unknown parts {', '.join(sorted(unknown))}; "
                     f"choose of {', '.join(PARTS + EXTRA)}")
    parts = [] if args.replot else args.parts or list(PARTS)
    check_requirements(parts)
    raise_nofile()
    out_dir = RESULTS / "quick" if args.quick else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    workdir = Path(tempfile.mkdtemp(prefix="pillow-bench-"))
    failed = []
    try:
        for part in parts:
            print(f"== {part}{' (quick)' if args.quick else ''}", flush=True)
            started, load = time.monotonic(), os.getloadavg()[0]
            module = importlib.import_module(f"bench.{part}")
            kwargs = ({"workdir": workdir}
                      if part in ("latency", "backlog", "profile", "failover", "relay", "pillows",
                                  "console")
                      else {})
            try:
                results[part] = module.run(quick=args.quick, **kwargs)
            except Exception as exc:  # one broken part must not lose the others' results
                failed.append(part)
                print(f"   {part} FAILED: {type(exc).__name__}: {exc}", flush=True)
                continue
            results[part]["seconds"] = round(time.monotonic() - started, 1)
            # Others' work on this 2-core machine shows here; the ratios are what to trust.
            results[part]["loadavg_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            print(f"   {part} done in {results[part]['seconds']} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if parts:
        results["machine"] = machine()
        results["quick"] = args.quick
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    from . import plots, table

    if "latency" in results:
        plots.latency_cdf(results["latency"], out_dir / "latency_cdf.png")
    if "fanout" in results:
        plots.fanout(results["fanout"], out_dir / "fanout.png")
    for part in PLOTTED:
        if part in results:
            getattr(plots, part)(results[part], out_dir / f"{part}.png")
    if "profile" in parts and "profile" in results:
        (out_dir / "profile.txt").write_text(results["profile"]["text"])
    text = table.markdown(results)
    (out_dir / "table.md").write_text(text)
    print()
    print(text)
    print(f"results in {out_dir.relative_to(ROOT)}/")
    if failed:
        sys.exit(f"bench: parts failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
