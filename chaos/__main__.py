"""``python -m chaos``: numbered messages through a seeded schedule of faults over the whole
scale-out topology, then the checker's verdict (exit status 1 if it failed).

The schedule is printed first; the same ``--seed`` and ``--faults`` replay it. The run's logs,
``report.json``, ``summary.md`` and ``timeline.png`` go to ``--out``.
"""

import argparse
import random
import sys
import time
from pathlib import Path

from bench.common import ROOT, raise_nofile

from . import faults, report
from .run import run

FULL = {"faults": 100, "screens": 20, "rate": 5.0, "gap": 6.0}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None,
                        help="the schedule's seed (default: a new one, printed)")
    parser.add_argument("--faults", type=int, default=FULL["faults"], metavar="N",
                        help=f"fault events (default {FULL['faults']}; make test runs 10)")
    parser.add_argument("--gap", type=float, default=FULL["gap"], metavar="S",
                        help=f"mean seconds between faults' begins (default {FULL['gap']:g})")
    parser.add_argument("--rate", type=float, default=FULL["rate"], metavar="PER_S",
                        help=f"messages per second (default {FULL['rate']:g})")
    parser.add_argument("--screens", type=int, default=FULL["screens"], metavar="N",
                        help=f"lean Socket.IO screens besides the kiosk (default "
                             f"{FULL['screens']})")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="run folder (default chaos/results/run-<seed>)")
    parser.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True,
                        help="draw timeline.png (needs matplotlib: make chaos installs it)")
    args = parser.parse_args(argv)
    if args.faults < 0 or args.screens < 1 or not 0 < args.rate <= 50 or args.gap <= 0:
        parser.error("--faults >= 0, --screens >= 1, 0 < --rate <= 50 and --gap > 0")
    seed = args.seed if args.seed is not None else random.randrange(10**8)
    out = args.out or ROOT / "chaos" / "results" / f"run-{seed}"
    raise_nofile()
    plan = faults.schedule(seed, args.faults, args.gap)
    print(f"chaos: seed {seed}, {len(plan)} faults; replay with "
          f"python -m chaos --seed {seed} --faults {args.faults} --gap {args.gap:g}")
    print(report.schedule_text(plan), flush=True)
    started = time.monotonic()
    result = run(seed, plan, args.rate, args.screens, out,
                 log=lambda line: print(line, flush=True))
    text = report.summary(result)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    if args.plot:
        from .plot import timeline

        try:
            timeline(result, out / "timeline.png")
        except ImportError:  # the verdict stands without its picture
            print("chaos: no plot: matplotlib is missing (make chaos installs it)")
    print(f"chaos: {time.monotonic() - started:.0f} s; logs, report.json, summary.md in {out}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
