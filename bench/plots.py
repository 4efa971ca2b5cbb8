"""The two plots: post -> screen latency CDF, and fan-out time against the number of clients."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from .scaleout import TARGETS as SCALE_TARGETS  # noqa: E402

OURS, REF = "#1f6feb", "#9a6700"


def _cdf(ax, samples, label, color):
    data = sorted(samples)
    if not data:
        return
    fractions = [(i + 1) / len(data) for i in range(len(data))]
    ax.step([0] + data, [0] + fractions, where="post", label=label, color=color, linewidth=2)


def latency_cdf(latency, path):
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    _cdf(ax, latency["ours_samples"],
         f"pillow-web (default poll settings), n={latency['ours']['n']}", OURS)
    _cdf(ax, latency["reference_samples"],
         f"fixed {latency['reference_sleep_s']} s sleep-and-poll, n={latency['reference']['n']}",
         REF)
    for x, label in ((0.6, "p50 target"), (1.1, "p95 target")):
        ax.axvline(x, color="#888", linestyle=":", linewidth=1)
        ax.text(x, 0.03, f" {label}", color="#555", fontsize=8)
    ax.axhline(0.5, color="#ccc", linewidth=0.8)
    ax.axhline(0.95, color="#ccc", linewidth=0.8)
    ax.set_xlabel("post → screen latency (s): send_message returned → Socket.IO client got state")
    ax.set_ylabel("fraction of posts")
    ax.set_ylim(0, 1.01)
    slowest = max(latency["ours_samples"] + latency["reference_samples"] + [1.1])
    ax.set_xlim(0, slowest * 1.08)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title(f"Post → screen latency, {latency['posts']} posts at random intervals "
                 f"({latency['interval_s'][0]}–{latency['interval_s'][1]} s)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fanout(fan, path):
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for server, color in (("pillow-web", OURS), ("node socket.io", REF)):
        points = sorted((p for p in fan["points"] if p["server"] == server and p["fanout_ms"]["n"]),
                        key=lambda p: p["n"])
        xs = [p["n"] for p in points]
        ax.plot(xs, [p["fanout_ms"]["p50"] for p in points], "o-", color=color,
                label=f"{server} p50")
        ax.plot(xs, [p["fanout_ms"]["p99"] for p in points], "s--", color=color,
                label=f"{server} p99", alpha=0.7)
    ax.axhline(500, color="#888", linestyle=":", linewidth=1)
    ax.text(fan["sizes"][0], 505, " p99 target 500 ms", color="#555", fontsize=8)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(fan["sizes"], [str(n) for n in fan["sizes"]])
    ax.set_xlabel("websocket clients held by one server")
    ax.set_ylabel("ms from the server's broadcast stamp to the last client")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax.set_title(f"Fan-out of one state change, {fan['changes']} changes per point", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def scaleout(result, path):
    """Scale-out. Left: last-client fan-out p50/p99 per setup; right: CPU per change per screen."""
    points, n, n_held = result["points"], result["n"], result["n_held"]
    bars = [(f"2 web workers\nN={n}", points["two_web"], OURS),
            (f"1 process\nN={n}", points["all_in_one"], "#8fb8f5"),
            (f"Node socket.io\nN={n}", points["node"], REF),
            (f"2 web workers\nN={n_held}", points["two_web_held"], OURS)]
    xs = list(range(len(bars)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=100)
    for offset, q, alpha in ((-0.2, "p50", 1.0), (0.2, "p99", 0.55)):
        left.bar([x + offset for x in xs], [p["fanout_ms"][q] or 0 for _, p, _ in bars], 0.4,
                 color=[color for _, _, color in bars], alpha=alpha, label=f"last client {q}")
    for x, key in ((0, "two_web_p99_ms"), (3, "held_p99_ms")):
        left.hlines(SCALE_TARGETS[key], x - 0.45, x + 0.45, color="#555", linestyle=":")
        target = SCALE_TARGETS[key]
        left.text(x, target, f"p99 target {target} ms", ha="center", va="bottom", fontsize=8,
                  color="#555")
    left.set_ylabel("ms from the broadcast stamp to the last screen")
    bottom = [0.0] * len(bars)
    for part, color in (("web", None), ("watcher", "#6e7781"), ("redis", "#cf222e")):
        heights = []
        for _, p, _ in bars:
            per_change = (p["cpu_ms_per_change"] if part == "web"
                          else p["side_cpu_ms_per_change"].get(part, 0))
            heights.append(per_change * 1000 / max(p["connected"], 1))
        right.bar(xs, heights, 0.6, bottom=bottom, label=part if color else "serving processes",
                  color=color or [c for _, _, c in bars])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    right.set_ylabel("CPU µs per change per connected screen")
    for ax in (left, right):  # headroom for the legend above the bars
        ax.set_ylim(0, max(ax.get_ylim()[1], 1) * 1.3)
        ax.legend(fontsize=8, loc="upper center", ncol=3)
        ax.set_xticks(xs, [label for label, _, _ in bars], fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"Scale-out: one change to every screen, {result['changes']} changes per point",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def failover(result, path):
    """Failover: seconds from each SIGKILL to the takeover, against the lease and the target."""
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    kills = range(1, len(result["rounds"]) + 1)
    for key, style, color, label in (
            ("to_first_applied_s", "o", "#1f6feb", "first message applied by the standby"),
            ("to_active_s", "x", "#9a6700", "the standby's /healthz says active")):
        ax.plot(kills, [r[key] for r in result["rounds"]], style, color=color,
                label=f"SIGKILL → {label}")
    for y, label, style in ((result["lease_s"], "lease period", ":"),
                            (result["target_s"], "target", "--")):
        ax.axhline(y, color="#888", linestyle=style, linewidth=1, label=f"{label} {y:g} s")
    ax.set(xlabel="kill", ylabel="seconds after the SIGKILL", ylim=(0, result["target_s"] + 3),
           xticks=list(kills))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(f"Failover over {result['kills']} SIGKILLs of the active process, "
                 f"{result['sent']} messages at {result['rate_per_s']:g}/s, "
                 f"{result['lost']} lost", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
