"""The kiosk page: bytes a screen loads before any image, and time until the right picture is
painted in headless Chromium (Debian's, driven by Playwright; never a downloaded browser).

Bytes: the page and every stylesheet and script it names, as served (``Accept-Encoding: gzip``)
and gzip -6 compressed (what a compressing proxy would send). Paint: a fresh browser context per
run (nothing cached) loads ``/`` after a non-initial state was posted; the time is
``performance.now()`` (ms since navigation start) at the frame after the shown ``<img>`` holds that
state's picture, fully decoded.
"""

import gzip
import re
import time

import requests

from pillow_web.domain.messages import compose

from .common import Azurite, Serve, summary, unique_queue, wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PAINTED = """async (image) => {
  const img = document.querySelector("img.picture.is-shown");
  if (!img || !img.src.endsWith(image) || !img.complete || !img.naturalWidth) return null;
  await img.decode();
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return performance.now();
}"""


def page_bytes(url):
    session = requests.Session()
    html = session.get(url + "/", headers={"Accept-Encoding": "gzip"}, timeout=10)
    urls = re.findall(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"',
                      html.text)
    items = [("/", html)] + [(u, session.get(url + u, headers={"Accept-Encoding": "gzip"},
                                             timeout=10)) for u in urls]
    rows = []
    for path, response in items:
        body = response.content  # decoded; the wire size is the header's if it was compressed
        wire = int(response.headers.get("Content-Length", len(body)))
        rows.append({"path": path, "plain": len(body), "gzip": len(gzip.compress(body, 6)),
                     "served": wire, "encoding": response.headers.get("Content-Encoding", "")})
    session.close()
    return {"files": rows, "plain": sum(r["plain"] for r in rows),
            "gzip": sum(r["gzip"] for r in rows), "served": sum(r["served"] for r in rows),
            "served_compressed": any(r["encoding"] == "gzip" for r in rows)}


def paint_times(url, image, runs):
    from playwright.sync_api import sync_playwright

    times, walls = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1024, "height": 768})
                page = context.new_page()
                started = time.monotonic()
                page.goto(url + "/", wait_until="commit")
                handle = page.wait_for_function(PAINTED, arg=image, timeout=15000, polling="raf")
                walls.append(time.monotonic() - started)
                times.append(handle.json_value() / 1000)
                context.close()
        finally:
            browser.close()
    return times, walls


def run(quick=False, log=print):
    runs = 3 if quick else 7
    with Azurite() as azurite:
        queue_name = unique_queue("page")
        client = azurite.queue(queue_name)
        server = Serve(azurite.connection_string, queue_name)
        try:
            server.wait_healthy()
            client.send_message(compose("HUGGING", text="Bench: the correct picture"))
            wait_until(lambda: server.state()["state"] == "HUGGING", 15, "the posted state")
            log("  page: bytes and paint times ...")
            sizes = page_bytes(server.url)
            image = server.state()["image"]
            times, walls = paint_times(server.url, image, runs)
        finally:
            server.stop()
            client.close()
    return {"bytes": sizes, "image": image, "runs": runs,
            "painted_s": summary(times), "painted_wall_s": summary(walls)}
