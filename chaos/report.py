"""The checker's result as Markdown for the terminal and the README, and the fault schedule as
text to print so that a run can be replayed."""

import json

from bench.table import fmt

from .checker import FAILURES

EXAMPLES = 5


def mark(ok):
    return "✅" if ok else "❌"


def zero_row(label, items):
    """A row whose target is none at all: a failure condition."""
    return (label, f"{len(items)} {mark(not items)}", "0")


def header(result):
    minutes = result["duration_s"] / 60
    verdict = "**passed**" if result["passed"] else "**FAILED**"
    return (f"Chaos run: seed {result['seed']}, {result['faults']['total']} fault events over "
            f"{minutes:.1f} min, {fmt(result['rate_per_s'])} messages/s, {result['screens']} "
            f"screens + 1 Chromium kiosk: {verdict}")


def check_rows(result):
    msgs, poisoned = result["messages"], result["poisoned"]
    sent = (f"{msgs['sent']} (json {msgs['json']} / bare {msgs['bare']} / "
            f"legacy {msgs['legacy']} / bad {msgs['bad']})")
    unpoisoned = result["bad_not_poisoned"] + result["wrong_reason"]
    behind = f"{fmt(result['behind_max_s'], ' s')} (p99 {fmt(result['behind_p99_s'], ' s')})"
    return [
        ("messages sent", sent, ""),
        zero_row("lost", result["lost"]),
        (f"bad messages not poisoned ({len(result['bad_not_poisoned'])}) or with another reason "
         f"({len(result['wrong_reason'])})", f"{len(unpoisoned)} {mark(not unpoisoned)}", "0"),
        zero_row("shown older after newer (backwards)", result["backwards"]),
        zero_row("split-brain: a watcher consuming in another's lease period",
                 result["split_brain"]),
        zero_row("a watcher consuming with no lease held", result["unleased_writes"]),
        zero_row("final screen not the last good message", result["final_wrong"]),
        zero_row("processes left running", result["left_running"]),
        ("poisoned: bad + good set aside",
         f"{poisoned['bad']} + {poisoned['good']} {mark(poisoned['bad'] == msgs['bad'])}",
         f"{msgs['bad']} + any"),
        ("takeovers (lease periods)", f"{result['takeovers']} ({result['lease_periods']})", ""),
        ("receives by a watcher without the lease (left to the holder, not consumed)",
         str(result["stale_receives"]), ""),
        ("states shown that the checker could not name (a resent bare name)",
         str(result["unidentified_shows"]), ""),
        ("messages the pillow had to send again (storage did not take them)",
         str(result.get("send_failures", "–")), ""),
        ("longest time a screen was behind", behind, ""),
    ]


def summary(result):
    """Markdown: header line, checks against their targets, faults by kind, failure examples."""
    lines = [header(result), "", "| | |", "| --- | ---: |"]
    for label, value, target in check_rows(result):
        lines.append(f"| {label} | {value}{f' (target {target})' if target else ''} |")
    by_kind = result["faults"]["by_kind"]
    lines += ["", "| fault (target action) | count |", "| --- | ---: |"]
    lines += [f"| {kind} | {by_kind[kind]} |" for kind in sorted(by_kind)]
    lines.append(f"| **total** | **{result['faults']['total']}** |")
    if result["faults"].get("errors"):
        lines += ["", "Faults or the end not carried out: " + "; ".join(result["faults"]["errors"])]
    failing = [name for name in FAILURES if result.get(name)]
    if failing:
        lines += ["", "### Failures"]
        for name in failing:
            items = result[name]
            more = f", first {EXAMPLES}" if len(items) > EXAMPLES else ""
            lines += ["", f"{name} ({len(items)}{more}):", ""]
            lines += [f"    {json.dumps(item, separators=(',', ':'), default=str)}"
                      for item in items[:EXAMPLES]]
    return "\n".join(lines) + "\n"


def schedule_text(schedule):
    """One line per fault event: number, offset from the start, action, target, time down."""
    if not schedule:
        return "(no faults)\n"
    number_width = max(2, len(str(max(e["event"] for e in schedule))))
    at_width = max(len(f"+{e['at_s']:.1f}") for e in schedule)
    target_width = max(len(e["target"]) for e in schedule)
    lines = []
    for e in schedule:
        down = "" if e.get("down_s") is None else f"down {e['down_s']:.1f} s"
        at = f"+{e['at_s']:.1f}"
        lines.append(f"#{e['event']:0{number_width}d}  {at:>{at_width}} s  {e['action']:<7} "
                     f"{e['target']:<{target_width}}  {down}".rstrip())
    return "\n".join(lines) + "\n"
