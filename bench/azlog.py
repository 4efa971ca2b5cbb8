"""Count storage requests from Azurite's ``--debug`` log.

Azurite writes one ``info`` line per incoming request, e.g.::

    2026-11-22T04:37:02.420Z <request id> info: QueueStorageContextMiddleware: RequestMethod=GET
    RequestURL=http://127.0.0.1/devstoreaccount1/q1/messages?numofmessages=32&... RequestHeaders...

(blob requests say ``BlobStorageContextMiddleware``). The request's other lines (handler, errors,
response) carry the same id but not ``RequestMethod=``, so each request is counted exactly once.
"""

import re
from datetime import datetime
from urllib.parse import urlsplit

LINE = re.compile(
    r"^(?P<time>\S+Z) \S+ info: (?P<service>Queue|Blob)StorageContextMiddleware: "
    r"RequestMethod=(?P<method>\S+) RequestURL=(?P<url>\S+)")


def requests_in(path, start=None, end=None):
    """Every request in the log as (epoch seconds, service, method, path, query)."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if "StorageContextMiddleware: RequestMethod=" not in line:
                continue
            match = LINE.match(line)
            if not match:
                continue
            at = datetime.fromisoformat(match["time"].replace("Z", "+00:00")).timestamp()
            if (start is not None and at < start) or (end is not None and at > end):
                continue
            url = urlsplit(match["url"])
            found.append((at, match["service"].lower(), match["method"], url.path, url.query))
    return found


def kind(method, path, query):
    """A short name for what a queue or blob request did."""
    if path.endswith("/messages") and method == "GET":
        return "peek" if "peekonly=true" in query.lower() else "receive"
    if "/messages/" in path and method == "DELETE":
        return "delete"
    if path.endswith("/messages") and method == "POST":
        return "send"
    return f"{method} other"


def count(path, queue, start=None, end=None):
    """Requests touching ``queue`` (and its poison queue and snapshot blob), by kind."""
    totals = {}
    for _, service, method, url_path, query in requests_in(path, start, end):
        parts = url_path.strip("/").split("/")
        if service == "queue" and len(parts) > 1 and parts[1] in (queue, f"{queue}-poison"):
            name = kind(method, url_path, query)
        elif service == "blob" and f"/{queue}/" in url_path:
            name = f"blob {method}"
        else:
            continue
        totals[name] = totals.get(name, 0) + 1
    totals["total"] = sum(totals.values())
    return totals


def first(path, queue, what="receive"):
    """Epoch time of the first request of kind ``what`` on ``queue``, or None."""
    for at, service, method, url_path, query in requests_in(path):
        parts = url_path.strip("/").split("/")
        if service == "queue" and len(parts) > 1 and parts[1] == queue:
            if kind(method, url_path, query) == what:
                return at
    return None
