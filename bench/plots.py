"""The two plots: post -> screen latency CDF, and fan-out time against the number of clients."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

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
