"""Every page readable by everyone, in a real headless Chromium against real server processes:
no WCAG 2.x A/AA violation that axe-core finds (the kiosk in every state of the catalog on a small
and a wall screen, the overview on a phone and a wall, the console signed in and its sign-in, the
404 page), and the words over each state's colour at AA contrast, measured on the pixels Chromium
paints (axe cannot judge text over the gradients of the kiosk and the overview's tiles).
"""

import tomllib
import uuid

import pytest
from playwright.sync_api import Error, expect

from pillow_web.config import ROOT

from .axe import assert_aa_contrast, assert_no_violations, describe, lowest_contrast, violations
from .pillows import NAMES, TOKEN, Queues, queues_for, write_pillows
from .procs import Dashboard, sender

pytestmark = pytest.mark.browser

CATALOG = tomllib.loads((ROOT / "config" / "states.toml").read_text(encoding="utf-8"))["state"]
STATES = {state["name"]: state for state in CATALOG}
WALL, PHONE, SMALL = ({"width": 1920, "height": 1080}, {"width": 390, "height": 844},
                      {"width": 800, "height": 480})
# The overview's words over a tile; the link's dot is a picture, not text.
TILE_TEXT = ("name", "text", "updated", "link-text")


@pytest.fixture(scope="module")
def single(azurite, tmp_path_factory):
    """One pillow with an operator token: the kiosk at /, the console."""
    with Dashboard(azurite, tmp_path_factory.mktemp("single") / "server.log",
                   OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5) as server:
        yield server.start()


@pytest.fixture(scope="module")
def single_queue(azurite, single):
    """``say(state, text=None)``: a message on the single pillow's queue, as the pillow sends it."""
    with sender(azurite, single.queue) as say:
        yield say


@pytest.fixture(scope="module")
def blank(chromium):
    """An about:blank page (no CSP, no server) to decode screenshots in."""
    context = chromium.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def several(azurite, tmp_path_factory):
    """``(server, queues)``: four pillows (two sharing a queue) and an operator token."""
    folder = tmp_path_factory.mktemp("several")
    base = f"a-{uuid.uuid4().hex[:8]}"
    queues = queues_for(base, NAMES)
    server = Dashboard(azurite, folder / "server.log", queue=f"{base}-default", POLL_MAX=0.5,
                       OPERATOR_TOKEN=TOKEN, CONFIG=write_pillows(folder / "p.toml", queues))
    with Queues(azurite, queues) as say:
        try:
            yield server.start(), say
        finally:
            server.close()


def wait_kiosk_shows(page, state, text):
    """Wait until the kiosk's picture is ``state``'s, fully faded in, over ``text``."""
    page.wait_for_function("""([image, text]) => {
      const img = document.querySelector('.picture.is-shown');
      return img.getAttribute('src') === image && getComputedStyle(img).opacity === '1'
        && document.getElementById('text').textContent === text;
    }""", arg=[f"/static/img/{STATES[state]['image']}", text])


def wait_tile_shows(page, pillow, state, text):
    page.wait_for_function("""([pillow, image, text]) => {
      const tile = document.querySelector(`.tile[data-pillow="${pillow}"]`);
      return tile.dataset.shows === image[0] && tile.querySelector('.picture')
        .getAttribute('src') === image[1] && tile.querySelector('.text').textContent === text;
    }""", arg=[pillow, [state, f"/static/img/{STATES[state]['image']}"], text])


def wait_live(page):
    page.wait_for_function("""() => {
      const links = [...document.querySelectorAll('#link, .tile .link')];
      return links.length > 0 && links.every(link => link.dataset.link === 'live');
    }""", timeout=15_000)


def sign_in(page, url):
    page.goto(f"{url}/operator/")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("button.state")).to_have_count(len(STATES))
    page.wait_for_load_state("load")


@pytest.mark.parametrize("viewport", [SMALL, WALL], ids=["800x480", "1920x1080"])
def test_the_kiosk_in_every_state(single, single_queue, open_page, blank, viewport):
    """Each state of the catalog in turn: no axe violation, and the words at AA contrast on the
    pixels (the kiosk's ground is a gradient in the state's colour, which axe cannot judge)."""
    size = f"{viewport['width']}x{viewport['height']}"
    page, _ = open_page(f"{single.url}/", viewport=viewport, reduced_motion="reduce")
    wait_live(page)
    found, figures = {}, {}
    for state in STATES:
        single_queue(state)
        wait_kiosk_shows(page, state, STATES[state]["text"])
        found[state] = violations(page)
        figures[state] = {part: lowest_contrast(page, f"#{part}", blank)
                          for part in ("text", "updated", "link-text")}
    assert not any(found.values()), "axe-core found WCAG A/AA violations on the kiosk at " + \
        size + "".join(f"\nshowing {state}:\n{describe(rules)}"
                       for state, rules in found.items() if rules)
    assert_aa_contrast(figures, f"the kiosk at {size}")


def test_the_kiosk_with_a_long_text_on_a_small_screen(single, single_queue, open_page):
    text = f"A longer line to wrap on a small screen ({uuid.uuid4().hex[:8]}) " * 3
    page, _ = open_page(f"{single.url}/", viewport=SMALL)
    wait_live(page)
    single_queue("HUGGING", text.strip())
    wait_kiosk_shows(page, "HUGGING", text.strip())
    assert_no_violations(page, "the kiosk at 800x480 with a long text")


@pytest.mark.parametrize("viewport", [PHONE, WALL], ids=["390x844", "1920x1080"])
def test_the_overview_in_every_state(several, open_page, blank, viewport):
    """Four pillows in four states: no axe violation. Then one tile in each state of the catalog
    in turn: its words at AA contrast on the pixels (axe leaves text over a gradient unjudged)."""
    server, queues = several
    size, tag = f"{viewport['width']}x{viewport['height']}", uuid.uuid4().hex[:8]
    page, _ = open_page(f"{server.url}/overview", viewport=viewport, reduced_motion="reduce")
    wait_live(page)
    shown = dict(zip(NAMES, ["HUGGING", "SHAKING", "PUNCHING", "THROWING"], strict=True))
    for pillow, state in shown.items():
        queues.say(state, f"{state.title()} {tag}", pillow)
    for pillow, state in shown.items():
        wait_tile_shows(page, pillow, state, f"{state.title()} {tag}")
    assert_no_violations(page, f"the overview at {size}")
    pillow, figures = next(iter(NAMES)), {}
    for state in STATES:
        queues.say(state, f"{state.title()} again {tag}", pillow)
        wait_tile_shows(page, pillow, state, f"{state.title()} again {tag}")
        figures[state] = {part: lowest_contrast(page, f'[data-pillow="{pillow}"] .{part}', blank)
                          for part in TILE_TEXT}
    assert_aa_contrast(figures, f"an overview tile at {size}")


def test_the_console_signed_in_with_one_pillow(single, open_page):
    page, _ = open_page(None)
    sign_in(page, single.url)
    assert_no_violations(page, "the console (one pillow)")


def test_the_console_signed_in_with_several_pillows(several, open_page):
    """On a phone, with a poisoned message: the picker and the stats in their warning colours."""
    server, queues = several
    first, second = list(NAMES)[:2]
    queues("no-such-state", first)  # an unknown state: poisoned at once
    page, _ = open_page(None, viewport=PHONE)
    sign_in(page, server.url)
    expect(page.locator("#pillows a")).to_have_count(len(NAMES))
    expect(page.locator("#stat-poison")).to_have_attribute("data-ok", "no", timeout=15_000)
    expect(page.locator(f'#pillows a[data-pillow="{first}"] .pillow-poison')).to_have_attribute(
        "data-ok", "no")
    assert_no_violations(page, "the console (several pillows, one with poison)")
    page.click(f'#pillows a[data-pillow="{second}"]')
    expect(page.locator('#pillows a[aria-current="page"]')).to_have_attribute(
        "data-pillow", second)
    assert_no_violations(page, "the console (several pillows, the second chosen)")


def test_the_state_buttons_meet_aa_contrast(single, open_page, blank):
    page, _ = open_page(None, reduced_motion="reduce")
    sign_in(page, single.url)
    page.mouse.move(0, 0)  # no button hovered
    figures = {state: {"name": lowest_contrast(page, f'button.state[value="{state}"] span', blank)}
               for state in STATES}
    assert_aa_contrast(figures, "the console's state buttons")


def test_the_sign_in_page_and_its_refusal(single, open_page):
    page, recorder = open_page(f"{single.url}/operator/")
    expect(page.locator("#token")).to_be_visible()
    assert_no_violations(page, "the sign-in page")
    page.fill("#token", "not the token")
    page.click("button[type=submit]")
    expect(page.locator(".notice.error")).to_be_visible()
    assert_no_violations(page, "the sign-in page refusing a token")
    # The refused sign-in (401) was the point: it must not hide any other error.
    recorder.errors[:] = [error for error in recorder.errors if "401" not in error]


@pytest.mark.parametrize("path", ["/p/unknown", "/no/such/page"])
def test_the_404_page(several, open_page, path):
    server, _ = several
    page, recorder = open_page(None)
    assert page.goto(f"{server.url}{path}").status == 404
    assert_no_violations(page, f"the 404 page of {path}")
    recorder.errors[:] = [error for error in recorder.errors if "404" not in error]


def test_axe_runs_under_the_pages_own_csp_and_finds_a_planted_fault(single, open_page):
    """The checks above can fail: the page keeps its CSP (an inline script is refused), axe
    still runs, and it reports a fault planted in the page."""
    page, recorder = open_page(f"{single.url}/operator/")
    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="window.planted = true")
    assert page.evaluate("() => window.planted") is None
    recorder.errors[:] = [error for error in recorder.errors
                          if "Content Security Policy" not in error]
    page.evaluate("() => document.documentElement.removeAttribute('lang')")
    assert [rule["id"] for rule in violations(page)] == ["html-has-lang"]
    assert not [url for url in recorder.urls if "axe" in url]  # no request: the app serves none
