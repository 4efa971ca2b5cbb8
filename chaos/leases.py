"""Who held the lease, and who consumed, as storage saw it: from Azurite's request logs.

Azurite's ``--debug`` log has one line per request (method, URL, every header, the client's
User-Agent among them) and one per response (its status), joined by the request's id. Each
watcher process names itself in its User-Agent (``chaos-watcher-a-g2``, see topology.py), so
this reads, from storage's side: every lease acquire, renew and release that succeeded, and
every write that consumes the queue (a message deleted, a message put in the poison queue, the
snapshot written). A lease is held from a successful acquire to 15 s after the holder's last
successful acquire or renew, or to its release or another's successful acquire.
"""

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from pillow_web.storage.lease import DURATION

REQUEST = re.compile(r"^(?P<time>\S+Z) (?P<id>\S+) info: \w+StorageContextMiddleware: "
                     r"RequestMethod=(?P<method>\S+) RequestURL=(?P<url>\S+) "
                     r"RequestHeaders:(?P<headers>\{.*\}) ClientIP=")
RESPONSE = re.compile(r"^\S+Z (?P<id>\S+) info: EndMiddleware: End response\. .*?"
                      r"StatusCode=(?P<status>\d+)")
AGENT = re.compile(r"chaos-(watcher-[a-z])-g(\d+)")
OK = {"acquire": 201, "renew": 200, "release": 200}


def requests_by_watchers(run_dir):
    """(epoch, process, method, path, query, detail, status) of each request a watcher made."""
    found, status = {}, {}
    for path in sorted(Path(run_dir).glob("azurite-*.log")):
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                if "RequestMethod=" in line and "chaos-watcher" in line:
                    match = REQUEST.match(line)
                    agent = match and AGENT.search(json.loads(match["headers"])
                                                   .get("user-agent", ""))
                    if agent:
                        url, headers = urlsplit(match["url"]), json.loads(match["headers"])
                        at = datetime.fromisoformat(match["time"].replace("Z", "+00:00"))
                        # The lease's action; for a write, whether it had a body (the lease
                        # creates the blob it holds empty: that consumes nothing).
                        detail = headers.get("x-ms-lease-action") or (
                            "empty" if headers.get("content-length") == "0" else None)
                        found[match["id"]] = (at.timestamp(), agent[0], match["method"],
                                              url.path, url.query, detail)
                elif "End response" in line:
                    match = RESPONSE.match(line)
                    if match:
                        status[match["id"]] = int(match["status"])
    return sorted((*request, status.get(request_id))
                  for request_id, request in found.items())


def periods(requests, snapshot_path):
    """{process: [[start, end], ...]}: when storage counted the lease as each one's, by the
    lease calls it answered with success. An acquire or renew makes it the caller's for 15 s;
    a release ends that; so does another's successful acquire, which is how storage says it no
    longer counted the lease as the first one's (an Azurite restart may forget a lease)."""
    held, last = {}, None  # ``last``: (process, span) of the newest span of any process
    for at, who, _, path, query, action, status in requests:
        if path != snapshot_path or "comp=lease" not in query or status != OK.get(action):
            continue
        if action == "release":
            if last and last[0] == who:
                last[1][1] = min(last[1][1], at)
        elif last and last[0] == who and last[1][1] >= at:
            last[1][1] = max(last[1][1], at + DURATION)
        else:
            if last:
                last[1][1] = min(last[1][1], at)
            last = (who, [at, at + DURATION])
            held.setdefault(who, []).append(last[1])
    return held


def consuming(requests, queue, snapshot_path):
    """(epoch, process, what) of each write that consumed: deletes, poisonings, snapshots."""
    out = []
    for at, who, method, path, query, detail, status in requests:
        if status is None or status >= 300 or detail == "empty":
            continue
        if method == "DELETE" and path.startswith(f"/devstoreaccount1/{queue}/messages/"):
            out.append((at, who, "delete"))
        elif method == "POST" and path == f"/devstoreaccount1/{queue}-poison/messages":
            out.append((at, who, "poison"))
        elif method == "PUT" and path == snapshot_path and "comp" not in parse_qs(query):
            out.append((at, who, "snapshot"))
    return out


def holder(held, at):
    return next((who for who, spans in held.items()
                 if any(start <= at < end for start, end in spans)), None)


def check(run_dir, queue, container="pillow-web"):
    """Split-brain (a write by one watcher while storage counted the lease as another's),
    writes outside any lease, receives by a watcher without the lease, and takeovers."""
    snapshot_path = f"/devstoreaccount1/{container}/{queue}/snapshot.json"
    requests = requests_by_watchers(run_dir)
    held = periods(requests, snapshot_path)
    split, unleased = [], []
    for at, who, what in consuming(requests, queue, snapshot_path):
        owner = holder(held, at)
        if owner != who:
            entry = {"t": round(at, 3), "process": who, "write": what, "holder": owner}
            (split if owner else unleased).append(entry)
    stale_receives = sum(
        1 for at, who, method, path, query, _, status in requests
        if method == "GET" and path == f"/devstoreaccount1/{queue}/messages"
        and "peekonly" not in query and status == 200 and holder(held, at) != who)
    starts = sorted((start, who) for who, spans in held.items() for start, _ in spans)
    takeovers = sum(1 for (_, a), (_, b) in zip(starts, starts[1:], strict=False) if a != b)
    return {"split_brain": split, "unleased_writes": unleased,
            "stale_receives": stale_receives, "takeovers": takeovers,
            "lease_periods": sum(len(spans) for spans in held.values()),
            "watcher_requests": len(requests)}
