"""What an operator console left open costs an idle dashboard, in storage requests.

One all-in-one ``pillow-web serve`` (default settings) on a fresh Azurite with its debug log
(``bench/azlog.py`` counts each request once). Window 1: nothing but the server. Window 2: the
console open in Chromium, signed in, on the queue view, its scripts polling as they do for a
person (the console's figures, the waiting messages, the poison list and the charts), after a
settling minute in which the charts and the poison list were read once. Each window counts the
requests on the queue, its poison queue and the container's blobs by kind; the lease renewals
(blob PUT ``comp=lease``, 1 per 4 s, there before any of this) are shown apart.
"""

import secrets
import time

from . import azlog
from .common import Azurite, Serve, unique_queue, wait_until
from .page import ARGS, CHROMIUM
from .table import fmt, met

TARGET = 1.05  # storage requests/s of an idle dashboard, lease renewals apart (bench/latency.py)


def window(log_path, queue, seconds):
    """Requests on ``queue`` (and its poison queue and blobs) in the next ``seconds``, by kind."""
    start = time.time()
    time.sleep(seconds)  # the measured window itself: the server and the page work alone
    end = time.time()
    kinds = {}
    for _, service, method, path, query in azlog.requests_in(log_path, start, end):
        parts = path.strip("/").split("/")
        if service == "queue" and parts[1:2] in ([queue], [f"{queue}-poison"]):
            name = f"{azlog.kind(method, path, query)}{' (poison)' if parts[1] != queue else ''}"
        elif service == "blob" and f"/{queue}/" in path:
            name = "lease" if "comp=lease" in query else f"blob {method} {parts[-1]}"
        else:
            continue
        kinds[name] = kinds.get(name, 0) + 1
    total = sum(kinds.values())
    lease = kinds.get("lease", 0)
    return {"window_s": seconds, "requests": kinds,
            "per_second": round((total - lease) / seconds, 3),
            "lease_per_second": round(lease / seconds, 3),
            "beyond_receives_per_second": round(
                (total - lease - kinds.get("receive", 0)) / seconds, 3)}


def run(quick=False, workdir=None, log=print):
    from playwright.sync_api import sync_playwright

    seconds, settle = (30, 20) if quick else (180, 60)
    token = secrets.token_urlsafe(24)
    queue = unique_queue("console")
    with Azurite(debug_log=workdir / "azurite-console.log") as azurite:
        server = Serve(azurite.connection_string, queue, operator_token=token).wait_healthy()
        try:
            wait_until(lambda: server.state()["state"], 30, "the first state")
            time.sleep(settle)  # let the watcher back off to POLL_MAX
            log(f"  console: {seconds} s without a console ...")
            alone = window(azurite.debug_log, queue, seconds)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{server.url}/operator/")
                page.fill("#token", token)
                page.click("button[type=submit]")
                page.wait_for_selector("#queue-card")
                time.sleep(settle)
                log(f"  console: {seconds} s with the console open ...")
                with_console = window(azurite.debug_log, queue, seconds)
                browser.close()
        finally:
            server.stop()
    return {"alone": alone, "console": with_console}


def rows(result):
    alone, console = result["alone"], result["console"]
    return [
        ("console", "idle storage requests/s, no console (lease renewals apart)",
         fmt(alone["per_second"]), "", None, f"≤ {TARGET}", met(alone["per_second"] <= TARGET)),
        ("console", "idle storage requests/s, console open (lease renewals apart)",
         fmt(console["per_second"]), "", None, f"≤ {TARGET}",
         met(console["per_second"] <= TARGET)),
        ("console", "of which beyond the watcher's receives, console open",
         fmt(console["beyond_receives_per_second"]), "", None, "", "–"),
    ]
