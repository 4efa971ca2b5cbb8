"""``make screenshots``: PNGs of the kiosk (three screens), the operator console and the overview
of several pillows for the README.

Runs the real thing: a private in-memory Azurite, ``pillow-web serve``, a few states posted with
the SDK, and Debian's headless Chromium. Run from the repository root as
``python -m tests.screenshots``.
"""

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from pillow_web.config import ROOT
from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import Azurite

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


def kiosk(browser, site, name, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{site.url}/")
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
        site.start()
        try:
            post_history(azurite.connection_string, site.queue, site)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                for name, size in KIOSKS.items():
                    kiosk(browser, site, name, size)
                screen = browser.new_page()  # so the console counts one connected screen
                screen.goto(f"{site.url}/")
                operator(browser, site, "operator", (1280, 800))
                operator(browser, site, "operator-phone", (390, 844), device_scale_factor=2,
                         is_mobile=True, has_touch=True)
                overview(browser, azurite.connection_string, tmp)
                browser.close()
        finally:
            site.stop()
    for path in sorted(DOCS.glob("*.png")):
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
