"""Reads a chaos run's logs afterwards and says what went wrong, if anything.

Order is the dashboard's own rule, restated here independently: a JSON message happened at its
``at`` (to the microsecond), a bare name or legacy tuple somewhere in its insertion second; a
message is older than another only when its span ends before the other's begins. A screen went
backwards if it was shown a message older than one it was shown before (across reconnects).
"""

import json
from pathlib import Path

from bench.common import percentile
from bench.wsclient import epoch

from . import leases

MICRO = 1e-6
# The result's lists of what went wrong: any entry in one fails the run.
FAILURES = ("lost", "bad_not_poisoned", "wrong_reason", "backwards", "split_brain",
            "unleased_writes", "final_wrong", "left_running")


def lines(path):
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


class Numbering:
    """Which message a ``state`` payload shows, and the span in which each message happened."""

    def __init__(self, sent):
        self.sent = {m["n"]: m for m in sent}
        self.by_text = {f"#{m['n']}": m["n"] for m in sent if m["form"] == "json"}
        self.by_second = {(m["state"], int(m["inserted"])): m["n"] for m in sent
                          if m["form"] in ("bare", "legacy")}

    def of(self, payload):
        if payload.get("text") in self.by_text:
            return self.by_text[payload["text"]]
        if payload.get("at") and payload.get("state"):
            return self.by_second.get((payload["state"], int(epoch(payload["at"]))))
        return None

    def span(self, n):
        message = self.sent[n]
        if message["form"] == "json":
            start = epoch(message["at"])
            return start, start + MICRO
        start = float(int(message["inserted"]))
        return start, start + 1.0


def backwards(events, numbering):
    """Per screen, each show of a message older than one it showed before."""
    out, newest = [], {}
    for event in events:
        n = event.get("n")
        if n is None:
            continue
        start, end = numbering.span(n)
        before = newest.get(event["client"])
        if before and end <= before[0]:
            out.append({"client": event["client"], "t": event["t"], "n": n, "after": before[1],
                        "conn": event.get("conn")})
        if not before or start > before[0]:
            newest[event["client"]] = (start, n)
    return out


def behind(events, applied, numbering):
    """Seconds each screen took to show (at least) each state the snapshot made current."""
    lags = []
    for client in sorted({e["client"] for e in events}):
        shown = [(e["t"], numbering.span(e["n"])[0]) for e in events
                 if e["client"] == client and e.get("n") is not None]
        i, newest = 0, float("-inf")
        for t, n in applied:
            if n is None:
                continue
            goal = numbering.span(n)[0]
            while newest < goal and i < len(shown):
                newest, reached = max(newest, shown[i][1]), shown[i][0]
                i += 1
            if newest >= goal:
                lags.append(max(0.0, reached - t))
    return lags


def check(run_dir, queue, collected):
    """The verdict. ``collected``: what the run gathered at its end (``applied_ids``,
    ``poison`` {id: reason}, ``applied`` [(t, n)], ``final`` {client: payload},
    ``kiosk_text``, ``left_running``, ``fault_errors``, ``last``)."""
    run_dir = Path(run_dir)
    sent = lines(run_dir / "sent.jsonl")
    numbering = Numbering(sent)
    events = [e for e in lines(run_dir / "screens.jsonl") if "event" not in e]
    for event in events:
        event["n"] = numbering.of(event)
    events.sort(key=lambda e: e["t"])
    applied_ids, poison = set(collected["applied_ids"]), collected["poison"]
    good = [m for m in sent if m["form"] != "bad"]
    lost = [m["n"] for m in good if m["id"] not in applied_ids and m["id"] not in poison]
    bad = [m for m in sent if m["form"] == "bad"]
    last, result = collected["last"], {}
    applied = [(t, numbering.of(current) if current else None) for t, current in
               collected["applied"]]
    final_wrong = [{"client": client, "shows": numbering.of(payload) if payload else None}
                   for client, payload in collected["final"].items()
                   if not payload or numbering.of(payload) != last]
    if collected["kiosk_text"] != f"#{last}":
        final_wrong.append({"client": "kiosk page", "shows": collected["kiosk_text"]})
    lags = behind(events, applied, numbering)
    faults = lines(run_dir / "faults.jsonl")
    begun = {f["event"]: f for f in faults if f["phase"] == "begin"}
    ended = {f["event"]: f["t"] for f in faults if f["phase"] == "end"}
    by_kind = {}
    for fault in begun.values():
        kind = f"{fault['target']} {fault['action']}"
        by_kind[kind] = by_kind.get(kind, 0) + 1
    result.update(leases.check(run_dir, queue))
    forms = {form: sum(m["form"] == form for m in sent)
             for form in ("json", "bare", "legacy", "bad")}
    result.update({
        "messages": {"sent": len(sent), **forms, "last": last},
        "faults": {"by_kind": by_kind, "total": len(begun), "errors": collected["fault_errors"]},
        "lost": lost,
        "bad_not_poisoned": [m["n"] for m in bad if m["id"] not in poison],
        "wrong_reason": [{"n": m["n"], "expected": m["reason"], "got": poison[m["id"]]}
                         for m in bad if m["id"] in poison
                         and not poison[m["id"]].startswith(m["reason"])],
        "backwards": backwards(events, numbering),
        "final_wrong": final_wrong,
        "left_running": collected["left_running"],
        "poisoned": {"bad": sum(m["id"] in poison for m in bad),
                     "good": sum(m["id"] in poison for m in good),
                     "good_reasons": sorted({poison[m["id"]] for m in good
                                             if m["id"] in poison})},
        # (Not the catalog's initial state, which a screen gets before any message.)
        "unidentified_shows": sum(e["n"] is None and e.get("at") is not None for e in events),
        "behind_max_s": round(max(lags), 2) if lags else None,
        "behind_p99_s": round(percentile(lags, 99), 2) if lags else None,
        "timeline": {"applied": [[t, n] for t, n in applied if n is not None],
                     "shown": shown_series(events),
                     "faults": [[f["t"], ended.get(e, f["t"]), f["part"], f["action"]]
                                for e, f in sorted(begun.items())]},
    })
    result["passed"] = not any(result[key] for key in FAILURES) and not \
        collected["fault_errors"]
    return result


def shown_series(events):
    series = {}
    for event in events:
        if event["n"] is not None:
            series.setdefault(event["client"], []).append([event["t"], event["n"]])
    return series
