"""The WebSocket stack and the garbage collector: what lowers the cost of a broadcast?

The fan-out benchmark's method (``fanout.point``) on one all-in-one server, once per variant of
``bench.variant``: as shipped (gevent-websocket, Python's collector as it comes),
simple-websocket instead, and ``gc.freeze()`` after start-up and every 10 s. The variants run
forward then backward (ABC CBA), so a drift in the machine's load weighs on each the same; each
variant's percentiles are over all its runs' changes.
"""

from .common import Azurite, summary
from .fanout import Ours, point

VARIANTS = ("", "simple-websocket", "gc-freeze")
LABELS = {"": "as shipped (gevent-websocket)", "simple-websocket": "simple-websocket instead",
          "gc-freeze": "gc.freeze() after start-up and every 10 s"}


def server(variant):
    def make(azurite):
        ours = Ours(azurite, launcher="bench.variant", env_extra={"BENCH_VARIANT": variant})
        ours.name = LABELS[variant]
        return ours

    return make


def run(quick=False, log=print):
    n, changes = (200, 5) if quick else (5000, 20)
    order = list(VARIANTS) if quick else list(VARIANTS) + list(reversed(VARIANTS))
    runs = {variant: [] for variant in VARIANTS}
    with Azurite() as azurite:
        for variant in order:
            log(f"  stack: {LABELS[variant]} N={n} ...")
            result = point(server(variant), azurite, n, changes, budget=180,
                           label=variant or "shipped")
            log(f"    connected {result['connected']}/{n}, fan-out p50 "
                f"{result['fanout_ms']['p50']} ms p99 {result['fanout_ms']['p99']} ms, "
                f"{result['cpu_ms_per_change']} ms CPU per change")
            runs[variant].append(result)
    variants = []
    for variant in VARIANTS:
        rows = [row for result in runs[variant] for row in result["rows"] if row["received"]]
        connected = min(result["connected"] for result in runs[variant])
        cpu = [result["cpu_ms_per_change"] for result in runs[variant]]
        variants.append({
            "variant": variant or "shipped", "label": LABELS[variant], "n": n,
            "connected": connected, "runs": len(runs[variant]),
            "fanout_ms": summary([row["fanout"] for row in rows], 1000, 1),
            "cpu_ms_per_change": round(sum(cpu) / len(cpu), 1),
            "cpu_us_per_change_per_client": round(sum(cpu) / len(cpu) / max(connected, 1) * 1000,
                                                  2),
            "rss_per_client_kb": round(sum(r["rss_per_client_kb"] for r in runs[variant])
                                       / len(runs[variant]), 1),
            "points": runs[variant],
        })
    return {"n": n, "changes": changes, "order": [v or "shipped" for v in order],
            "variants": variants}


def rows(result):
    """One row per variant: last client p50 / p99, CPU and RSS per screen; ratio: CPU against
    the variant as shipped."""
    base = result["variants"][0]["cpu_us_per_change_per_client"]
    out = []
    for variant in result["variants"]:
        fan, cpu = variant["fanout_ms"], variant["cpu_us_per_change_per_client"]
        out.append(("stack", f"N={variant['n']} {variant['label']}: last client p50 / p99, "
                    "CPU and RSS per screen",
                    f"{fan['p50']} / {fan['p99']} ms, {cpu} µs, {variant['rss_per_client_kb']} KB",
                    "", round(cpu / base, 2) if base else None, "the lowest CPU kept", "–"))
    return out
