"""``make screenshots``: PNGs of the kiosk (three screens), the operator console, its last 24
hours, its queue view and the overview of several pillows for the README.

Runs the real thing: a private in-memory Azurite, ``pillow-web serve``, a few states posted with
the SDK, and Debian's headless Chromium. Run from the repository root as
``python -m tests.screenshots``.
"""

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.storage.blob import BlobLeaseClient
from playwright.sync_api import sync_playwright

from pillow_web.config import ROOT
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import compose
from pillow_web.domain.queue_stats import QueueStats
from pillow_web.domain.timeline import Timelines
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import Azurite
from pillow_web.storage.queue_stats import StatsBlob
from pillow_web.storage.timeline import TimelineBlob

from .browser import launch
from .procs import Dashboard
from .util import wait_for

DOCS = ROOT / "docs"
TOKEN = "screenshot-token"
KIOSKS = {"landscape": (1920, 1080), "portrait": (1080, 1920), "small": (800, 480)}
HISTORY = [("NEUTRAL", None), ("SPINNING", None), ("SHAKING", "Easy there!"),
           ("HUGGING", "Someone is hugging me!")]


def post_history(connection_string, queue, site):
    storage = Storage(connection_string, queue, "pillow-web")
    try:
        for state, text in HISTORY:
            storage.send(compose(state, text))
            # One at a time, so each becomes its own history entry.
            wait_for(lambda state=state: _current(site) == state, 10, f"{state} applied")
    finally:
        storage.close()


def _current(site):
    import requests

    return requests.get(f"{site.url}/api/state", timeout=2).json()["state"]


def kiosk(browser, site, name, size, options=""):
    """docs/kiosk-<name>.png: the kiosk on a screen of ``size``, with URL ``options``."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{site.url}/{options}")
    page.wait_for_function("() => document.getElementById('link').dataset.link === 'live'")
    page.wait_for_function("() => getComputedStyle(document.querySelector('.picture.is-shown'))"
                           ".opacity === '1'")
    page.screenshot(path=DOCS / f"kiosk-{name}.png")
    context.close()


def operator(browser, site, name, size, **options):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, **options)
    page = context.new_page()
    page.goto(f"{site.url}/operator/")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#history tr")
    page.screenshot(path=DOCS / f"{name}.png", full_page=True)
    context.close()


def seed_day(connection_string, queue):
    """A day of states in the queue's timeline blob, as a dashboard that ran since yesterday
    would have saved it (the server reads it when it starts)."""
    rng, now = random.Random(20261127), datetime.now(UTC)
    catalog = Catalog.from_file(ROOT / "config" / "states.toml")
    day, at = Timelines(["default"]), now - timedelta(hours=24)
    names = ["NEUTRAL", "HUGGING", "SHAKING", "SPINNING", "PUNCHING", "THROWING"]
    while at < now - timedelta(minutes=20):
        state = rng.choices(names, weights=[6, 4, 2, 2, 1, 1])[0]
        day.record("default", state, catalog[state].text, at, now)
        at += timedelta(minutes=rng.choice([5, 10, 20, 30, 45, 60, 90]))
    storage = Storage(connection_string, queue, "pillow-web")
    try:
        storage.ensure()
        TimelineBlob(storage).save(day.to_dict())
    finally:
        storage.close()


def timeline(browser, site):
    """docs/timeline.png: the console's last 24 hours and its connected screens, on a laptop."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{site.url}/operator/")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#timeline .timeline-span")
    page.locator(".timeline-card").screenshot(path=DOCS / "timeline.png")
    context.close()


def seed_queue_stats(storage, now):
    """A day of queue stats, as an active watcher would have saved them: a few messages most
    minutes, a skipped one now and then, two poisoned, and a backlog that waited for a while
    about three hours ago (the pillow sent while the dashboard was stopped)."""
    rng, stats = random.Random(14), QueueStats()
    for minutes_ago in range(24 * 60 - 1, 0, -1):
        at = now - timedelta(minutes=minutes_ago)
        backlog = 170 <= minutes_ago < 200
        if backlog:
            stats.sample(40 - (200 - minutes_ago), (200 - minutes_ago) * 60.0, at)
            continue
        if minutes_ago == 169:
            stats.count([("default", "applied", at)] * 12 + [("default", "skipped", at)] * 18,
                        at)
        elif rng.random() < 0.3:
            stats.count([("default", "applied", at)] * rng.choice([1, 1, 1, 2, 3]), at)
        if minutes_ago in (610, 95):
            stats.poisoned(1, at)
        stats.sample(0, None, at)
    StatsBlob(storage).save(stats.to_dict())


def queue_view(browser, connection_string, folder):
    """docs/console-queue.png: the console's queue card on a laptop, with messages waiting (a
    dashboard that stands by: this script holds the queue's lease) and a day of stats."""
    site = Dashboard(connection_string, Path(folder) / "queue.log", OPERATOR_TOKEN=TOKEN,
                     POLL_MAX=0.5)
    storage = Storage(connection_string, site.queue, "pillow-web")
    storage.ensure()
    seed_queue_stats(storage, datetime.now(UTC))
    storage.snapshot_blob.upload_blob(b"", overwrite=False)  # (a lease needs a blob)
    lease = BlobLeaseClient(storage.snapshot_blob)
    lease.acquire(lease_duration=-1)
    try:
        for content in [compose("HUGGING", "Good morning!"), "DANCING",
                        compose("SPINNING", "Wheee! " * 30)]:
            storage.send(content)
        site.start()
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{site.url}/operator/")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_function("() => document.querySelectorAll('#waiting-list li').length === 3"
                               " && document.querySelectorAll('#chart-messages rect').length")
        page.locator("#waiting-list details summary").first.click()
        page.locator(".queue-card").screenshot(path=DOCS / "console-queue.png")
        context.close()
    finally:
        site.stop()
        lease.release()
        storage.close()


# The overview's pillows: (id, name, state, text); each on a queue of its own.
PILLOWS = [("hall", "Hallway", "HUGGING", "Someone is hugging me!"),
           ("den", "Den", "NEUTRAL", None), ("kids", "Kids' room", "SPINNING", "Wheee!"),
           ("studio", "Studio", "SHAKING", "Easy there!"), ("porch", "Porch", "THROWING", None),
           ("attic", "Attic", "PUNCHING", "Ouch!")]


def overview(browser, connection_string, folder):
    """docs/overview.png: a wall screen (1920x1080) showing six pillows at once."""
    config = Path(folder) / "pillows.toml"
    config.write_text("".join(f'[[pillow]]\nid = "{pillow}"\nname = "{name}"\n'
                              f'queue = "shot-{pillow}"\n' for pillow, name, *_ in PILLOWS))
    site = Dashboard(connection_string, Path(folder) / "overview.log", CONFIG=config,
                     POLL_MAX=0.5)
    site.start()
    try:
        for pillow, _, state, text in PILLOWS:
            storage = Storage(connection_string, f"shot-{pillow}", "pillow-web")
            try:
                storage.send(compose(state, text))
            finally:
                storage.close()
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        page.goto(f"{site.url}/overview")
        page.wait_for_function("""states => [...document.querySelectorAll('.tile')].every(
            (tile, i) => tile.dataset.shows === states[i]
              && tile.querySelector('.link').dataset.link === 'live'
              && tile.querySelector('.picture').getAttribute('src')
                 === `/static/img/${states[i].toLowerCase()}.svg`
              && tile.querySelector('.picture').complete)""",
                               arg=[state for _, _, state, _ in PILLOWS])
        page.screenshot(path=DOCS / "overview.png")
        context.close()
    finally:
        site.stop()


def main():
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, Azurite() as azurite:
        site = Dashboard(azurite.connection_string, Path(tmp) / "server.log",
                         OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5)
        seed_day(azurite.connection_string, site.queue)
        site.start()
        try:
            post_history(azurite.connection_string, site.queue, site)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                for name, size in KIOSKS.items():
                    kiosk(browser, site, name, size)
                # A 800x480 screen mounted sideways, whose system cannot turn its picture.
                kiosk(browser, site, "rotated", (480, 800), "?rotate=90&screen=Hall%20left")
                screen = browser.new_page()  # so the console lists one connected screen
                screen.goto(f"{site.url}/?screen=Lobby")
                operator(browser, site, "operator", (1280, 800))
                timeline(browser, site)
                operator(browser, site, "operator-phone", (390, 844), device_scale_factor=2,
                         is_mobile=True, has_touch=True)
                overview(browser, azurite.connection_string, tmp)
                queue_view(browser, azurite.connection_string, tmp)
                browser.close()
        finally:
            site.stop()
    for path in sorted(DOCS.glob("*.png")):
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
