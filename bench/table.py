"""The results as one markdown table: metric, ours, reference, ratio, target, met."""

import importlib

# Parts whose module makes its own rows.
OWN_ROWS = ("scaleout", "failover", "relay", "stack", "pillows", "console")


def fmt(value, unit=""):
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    return f"{value}{unit}"


def met(ok):
    return "–" if ok is None else ("yes" if ok else "**no**")


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def rows(results):
    out = []
    lat = results.get("latency")
    if lat:
        for q, target in (("p50", 0.6), ("p95", 1.1), ("p99", None)):
            ours, ref = lat["ours"][q], lat["reference"][q]
            out.append(("latency", f"post → screen {q}", fmt(ours, " s"), fmt(ref, " s"),
                        ratio(ours, ref), f"≤ {target} s" if target else "",
                        met(ours <= target) if target and ours is not None else "–"))
        idle = lat["idle"]["per_second"]
        out.append(("latency", "idle queue requests/s", fmt(idle), "1.18 (1 / 0.85 s)", None,
                    "≤ 1.05", met(idle <= 1.05)))
    fan = results.get("fanout")
    if fan:
        for n in fan["sizes"]:
            ours = next((p for p in fan["points"] if p["n"] == n and p["server"] == "pillow-web"),
                        None)
            node = next((p for p in fan["points"] if p["n"] == n and p["server"] != "pillow-web"),
                        None)
            if not ours or not node:
                continue
            held = f"{ours['connected']}/{n} held"
            for q in ("p50", "p99"):
                o, r = ours["fanout_ms"][q], node["fanout_ms"][q]
                times = ratio(o, r)
                target = "≤ 500 ms, ≤ 1.5× node" if q == "p99" else "≤ 1.5× node"
                near = met(None if times is None else times <= 1.5)
                verdict = near if q == "p50" or o is None else f"{met(o <= 500)}; 1.5×: {near}"
                out.append(("fan-out", f"N={n} last client {q} ({held})", fmt(o, " ms"),
                            fmt(r, " ms"), times, target, verdict))
            out.append(("fan-out", f"N={n} RSS per client", fmt(ours["rss_per_client_kb"], " KB"),
                        fmt(node["rss_per_client_kb"], " KB"),
                        ratio(ours["rss_per_client_kb"], node["rss_per_client_kb"]), "≤ 60 KB",
                        met(ours["rss_per_client_kb"] <= 60)))
            out.append(("fan-out", f"N={n} server CPU per change",
                        fmt(ours["cpu_ms_per_change"], " ms"), fmt(node["cpu_ms_per_change"],
                                                                     " ms"),
                        ratio(ours["cpu_ms_per_change"], node["cpu_ms_per_change"]), "", "–"))
    back = results.get("backlog")
    if back:
        for point in back["points"]:
            o, r = point["ours"], point["reference"]
            capped = not (o.get("drained", True) and r.get("drained", True))
            note = f" (first {back['cap_s']} s, not drained)" if capped else ""
            # Not drained in the window: Azurite's per-request cost, not the clients, sets the rate.
            verdict = "n/a" if capped else met(point["ratio"] >= 0.8)
            out.append(("backlog", f"{point['n']} queued: msg/s{note}", fmt(o["rate"]),
                        fmt(r["rate"]), point["ratio"], "≥ 0.8× reference", verdict))
            out.append(("backlog", f"{point['n']} queued: requests (server)",
                        fmt(o["requests"].get("drain", o["requests"]["total"])),
                        fmt(r["requests"].get("drain", r["requests"]["total"])), None, "", "–"))
    page = results.get("page")
    if page:
        b = page["bytes"]
        out.append(("page", "bytes before images, plain", fmt(b["plain"]), "", None, "", "–"))
        out.append(("page", "bytes before images, gzip -6", fmt(b["gzip"]), "", None, "", "–"))
        out.append(("page", "correct picture painted (p50)", fmt(page["painted_s"]["p50"], " s"),
                    "", None, "", "–"))
    for part in OWN_ROWS:
        if part in results:
            out.extend(importlib.import_module(f"bench.{part}").rows(results[part]))
    return out


def markdown(results):
    lines = ["| part | metric | pillow-web | reference | ratio | target | met |",
             "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for row in rows(results):
        lines.append("| " + " | ".join("–" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
