"""The timeline of a chaos run as one PNG: message numbers in the snapshot and on every screen
(top), and each part's faults as bars in its own lane (bottom), on one time axis."""

# Parts in lane order (top to bottom); parts the run named otherwise follow, sorted.
PARTS = ("watcher-a", "watcher-b", "web-a", "web-b", "redis", "nginx", "azurite")
ACTION_COLORS = {"kill": "#cf222e", "freeze": "#1f6feb", "restart": "#bf8700"}
APPLIED, KIOSK, LEAN = "#111111", "#8250df", "#c4c4c4"
# Points per line kept: more than a 12 in plot at 110 dpi has pixels for.
MAX_POINTS = 4000


def _thin(points, start):
    """Seconds since the start and numbers, at most MAX_POINTS: every k-th step, keeping the
    lowest and highest number of each skipped stretch so a step backwards still shows."""
    if len(points) <= MAX_POINTS:
        return [t - start for t, _ in points], [n for _, n in points]
    k = -(-len(points) // (MAX_POINTS // 2))
    xs, ys = [], []
    for i in range(0, len(points), k):
        chunk = points[i:i + k]
        low, high = min(chunk, key=lambda p: p[1]), max(chunk, key=lambda p: p[1])
        for t, n in sorted({low, high} | {chunk[0]}):
            xs.append(t - start)
            ys.append(n)
    return xs, ys


def _steps(ax, points, start, **style):
    points = [(t, n) for t, n in points if n is not None]
    if points:
        ax.plot(*_thin(points, start), drawstyle="steps-post", **style)


def _numbers(ax, timeline, start):
    shown = timeline["shown"]
    lean = sorted(name for name in shown if name != "kiosk")
    for i, name in enumerate(lean):
        _steps(ax, shown[name], start, color=LEAN, linewidth=0.7,
               label=f"{len(lean)} lean Socket.IO clients" if i == 0 else None)
    if "kiosk" in shown:
        _steps(ax, shown["kiosk"], start, color=KIOSK, linewidth=2.2, alpha=0.7,
               label="Chromium kiosk")
    _steps(ax, timeline["applied"], start, color=APPLIED, linewidth=0.9,
           label="newest number in the snapshot")
    ax.set_ylabel("message number")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


def _backwards(ax, result, start):
    """A red cross where a screen showed an older number after a newer one, where the failure
    says when (``t``) and what (``n``)."""
    hits = [b for b in result["backwards"] if isinstance(b, dict) and "t" in b and "n" in b]
    if hits:
        ax.plot([b["t"] - start for b in hits], [b["n"] for b in hits], "x", color="#cf222e",
                markersize=9, markeredgewidth=2, label=f"shown backwards ({len(hits)})", zorder=5)


def _rows(bars):
    """Overlapping faults of one part stacked: each bar's row within the lane, and the count."""
    ends, rows = [], []
    for begin, end, _ in bars:
        row = next((i for i, last in enumerate(ends) if last <= begin), len(ends))
        ends[row:row + 1] = [end]
        rows.append(row)
    return rows, max(len(ends), 1)


def _lanes(ax, faults, start):
    parts = [p for p in PARTS if any(f[2] == p for f in faults)]
    parts += sorted({f[2] for f in faults} - set(parts))
    for lane, part in enumerate(parts):
        bars = sorted((b - start, max(e - b, 0.5), a) for b, e, p, a in faults if p == part)
        rows, count = _rows([(b, b + width, a) for b, width, a in bars])
        height = 0.8 / count
        for (begin, width, action), row in zip(bars, rows, strict=True):
            ax.broken_barh([(begin, width)], (lane - 0.4 + row * height, height),
                           facecolors=ACTION_COLORS.get(action, "#6e7781"))
    ax.set_yticks(range(len(parts)), parts, fontsize=8)
    ax.set_ylim(max(len(parts), 1) - 0.5, -0.5)
    ax.grid(alpha=0.3, axis="x")
    from matplotlib.patches import Patch
    handles = [Patch(color=c, label=a) for a, c in ACTION_COLORS.items()]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              title="fault", title_fontsize=8)


def _title(result):
    m = result["messages"]
    failures = [f"{name} {len(result[name])}" for name in
                ("lost", "backwards", "split_brain", "final_wrong", "bad_not_poisoned",
                 "wrong_reason", "left_running") if result.get(name)]
    verdict = "passed" if result["passed"] else "FAILED: " + ", ".join(failures or ["see report"])
    return (f"Chaos run, seed {result['seed']}: {m['sent']} messages at "
            f"{result['rate_per_s']:g}/s, {result['faults']['total']} faults, "
            f"{result['takeovers']} takeovers, {result['screens']} screens + kiosk: {verdict}")


def timeline(result, path):
    """The run's timeline as a PNG at ``path``, 12×6 in at 110 dpi (README width)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    line = result["timeline"]
    start = line["start"]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(12, 6), dpi=110,
                                      gridspec_kw={"height_ratios": (7, 3)})
    _numbers(top, line, start)
    _backwards(top, result, start)
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _lanes(bottom, line["faults"], start)
    bottom.set_xlabel("seconds since the start of the run")
    bottom.set_xlim(0, max(result["duration_s"], 1))
    top.set_title(_title(result), fontsize=10, color="#111" if result["passed"] else "#cf222e")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
