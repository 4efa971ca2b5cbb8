"""Several pillows on one server, in a real headless Chromium: each kiosk (/p/<id>) and each
overview tile follows its own pillow only, whether pillows have queues of their own or share one;
an unknown pillow gets a real 404 page; the overview fits a phone and a wall screen.
"""

import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .procs import Dashboard

pytestmark = pytest.mark.browser

NAMES = {"hall": "Hallway", "den": "Den", "attic": "Attic", "porch": "Porch",
         "kitchen": "Kitchen", "garden": "Garden"}
OWN_QUEUE = ("hall", "den", "kitchen")  # each on a queue of its own
SHARED = ("attic", "porch")  # one queue, messages name their pillow; garden: the QUEUE setting

# Every text each pillow's screen element ever showed, as "<pillow>:<text>": a change that came
# and went between two checks is still caught.
RECORD_SEEN = """(() => {
  window.seen = new Set();
  const record = () => document.querySelectorAll('#text, .tile .text').forEach(el => {
    const owner = el.closest('[data-pillow]');
    window.seen.add((owner ? owner.dataset.pillow : '?') + ':' + el.textContent);
  });
  new MutationObserver(record).observe(document, {subtree: true, childList: true,
                                                  characterData: true});
})()"""


def queue_of(default_queue, pillow):
    """The queue ``pillow`` reads on a server whose QUEUE is ``q-<uid>-default``."""
    if pillow in OWN_QUEUE:
        return default_queue.replace("-default", f"-{pillow}")
    return default_queue.replace("-default", "-shared") if pillow in SHARED else default_queue


def pillow_config(path, default_queue, pillows=NAMES):
    """A PILLOW_CONFIG file with ``pillows`` (id: name), on queues named after the server's."""
    lines = []
    for pillow, name in pillows.items():
        lines += ["[[pillow]]", f'id = "{pillow}"', f'name = "{name}"']
        if queue_of(default_queue, pillow) != default_queue:
            lines.append(f'queue = "{queue_of(default_queue, pillow)}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    """One server with six pillows for this module; each test posts texts of its own."""
    folder = tmp_path_factory.mktemp("pillows")
    queue = f"q-{uuid.uuid4().hex[:8]}-default"
    server = Dashboard(azurite, folder / "server.log", queue=queue, POLL_MAX=0.5,
                       CONFIG=pillow_config(folder / "pillows.toml", queue))
    try:  # a start that fails (never healthy) must not leave the process running either
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="module")
def post(azurite, site):
    """``post(pillow, state, text)``: a message on that pillow's queue, as the pillow sends it
    (naming the pillow on the shared queue)."""
    queues = {}

    def send(pillow, state, text):
        queue = queue_of(site.queue, pillow)
        if queue not in queues:
            queues[queue] = Storage(azurite, queue, "pillow-web")
        queues[queue].send(compose(state, text, pillow=pillow if pillow in SHARED else None))

    yield send
    for storage in queues.values():
        storage.close()


def open_recorded(open_page, url):
    """``(page, pillows)``: ``url`` recording what it shows (``seen``) and, in ``pillows``, the
    pillow named by each ``state`` event its socket receives."""
    page, _ = open_page(None)
    page.add_init_script(RECORD_SEEN)
    pillows = []

    def on_frame(frame):
        if isinstance(frame, str) and frame.startswith('42["state"'):
            pillows.append(json.loads(frame[2:])[1].get("pillow"))

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    page.goto(url)
    return page, pillows


def seen(page):
    return set(page.evaluate("() => [...window.seen]"))


def wait_shows(page, pillow, state, text):
    """Wait until ``pillow``'s kiosk or tile on ``page`` shows ``state``'s picture and ``text``."""
    page.wait_for_function("""([pillow, image, text]) => {
      const screen = document.querySelector(`[data-pillow="${pillow}"]`);
      const img = screen.querySelector('.picture.is-shown, .tile .picture');
      return img.getAttribute('src') === image && getComputedStyle(img).opacity === '1'
        && screen.querySelector('.text').textContent === text;
    }""", arg=[pillow, f"/static/img/{state.lower()}.svg", text])


def wait_live(page):
    page.wait_for_function("""() => {
      const links = [...document.querySelectorAll('#link, .tile .link')];
      return links.length > 0 && links.every(link => link.dataset.link === 'live');
    }""", timeout=15_000)


def check_only_its_own_screens_change(site, post, open_page, one, other):
    """Posting to ``one`` changes its kiosk and tile, never ``other``'s (which stays put)."""
    tag = uuid.uuid4().hex[:8]
    opened = {pillow: open_recorded(open_page, f"{site.url}/p/{pillow}") for pillow in (one, other)}
    kiosks = {pillow: page for pillow, (page, _) in opened.items()}
    overview, _ = open_recorded(open_page, f"{site.url}/overview")
    for pillow, kiosk in kiosks.items():
        expect(kiosk.locator("#kiosk")).to_have_attribute("data-pillow", pillow)
        expect(kiosk).to_have_title(f"{NAMES[pillow]} · Cloud Pillow")
    for page in (*kiosks.values(), overview):
        wait_live(page)
    post(other, "SPINNING", f"settled {tag}")
    post(one, "SHAKING", f"settled {tag}")
    for pillow, state in ((one, "SHAKING"), (other, "SPINNING")):
        for page in (kiosks[pillow], overview):
            wait_shows(page, pillow, state, f"settled {tag}")

    post(one, "HUGGING", f"hugged {tag}")
    for page in (kiosks[one], overview):
        wait_shows(page, one, "HUGGING", f"hugged {tag}")
    # The other's next state comes after the hug on every socket: had the hug reached the
    # other's screens, they would have shown (and recorded) it before this one.
    post(other, "NEUTRAL", f"moved {tag}")
    for page in (kiosks[other], overview):
        wait_shows(page, other, "NEUTRAL", f"moved {tag}")
    assert f"{other}:hugged {tag}" not in seen(kiosks[other]) | seen(overview)
    assert f"{one}:moved {tag}" not in seen(kiosks[one]) | seen(overview)
    assert {f"{other}:settled {tag}", f"{one}:hugged {tag}"} <= seen(overview)
    for pillow, (_, sent) in opened.items():  # the server's rooms: each socket its own pillow's
        assert sent and set(sent) == {pillow}, f"{pillow}'s kiosk was sent states of {sent}"
    kiosk_url = {pillow["id"]: pillow["url"] for pillow in site.get("/api/pillows").json()}
    assert overview.locator(f'.tile[data-pillow="{one}"]').get_attribute("href") == kiosk_url[one]


def test_pillows_on_queues_of_their_own_change_only_their_own_screens(site, post, open_page):
    check_only_its_own_screens_change(site, post, open_page, "hall", "den")


def test_pillows_sharing_a_queue_change_only_their_own_screens(site, post, open_page):
    check_only_its_own_screens_change(site, post, open_page, "porch", "attic")


def test_an_unknown_pillow_gets_a_404_page_leading_to_the_others(site, open_page):
    assert site.get("/p/unknown").status_code == 404
    page, recorder = open_page(None, java_script_enabled=False)
    response = page.goto(f"{site.url}/p/unknown")
    assert response.status == 404
    expect(page).to_have_title(re.compile("No such pillow"))
    expect(page.locator("h1")).to_have_text("No such pillow")
    links = page.locator("main a").evaluate_all(
        "links => links.map(a => [a.textContent.trim(), a.getAttribute('href')])")
    pillows = site.get("/api/pillows").json()
    assert links[:-1] == [[pillow["name"], pillow["url"]] for pillow in pillows]
    assert [pillow["id"] for pillow in pillows] == list(NAMES) and links[-1][1] == "/overview"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    page.click("text=Hallway")  # the first pillow listed: the one at the root
    expect(page.locator("#kiosk")).to_have_attribute("data-pillow", "hall")
    expect(page).to_have_title("Hallway · Cloud Pillow")
    # The 404 of the page itself was the point: it must not hide any other error.
    recorder.errors[:] = [error for error in recorder.errors if "404" not in error]


def test_the_overview_shows_every_tile_before_any_script(site, open_page):
    page, _ = open_page(None, java_script_enabled=False)
    page.goto(f"{site.url}/overview", wait_until="load")
    assert page.locator("h1").count() == 1
    assert page.locator('meta[name="description"]').get_attribute("content")
    expect(page.locator(".tile")).to_have_count(len(NAMES))
    expect(page.locator(".tile .name")).to_have_text(list(NAMES.values()))
    loaded = page.evaluate("() => [...document.querySelectorAll('.tile .picture')]"
                           ".map(img => img.complete && img.naturalWidth > 0)")
    assert loaded == [True] * len(NAMES)


@pytest.mark.parametrize("width,height", [(390, 844), (1920, 1080)])
def test_the_overview_fits_a_phone_and_a_wall(site, open_page, width, height):
    page, _ = open_page(f"{site.url}/overview", viewport={"width": width, "height": height})
    wait_live(page)
    box = page.evaluate("""() => ({
      scrollW: document.documentElement.scrollWidth,
      scrollH: document.documentElement.scrollHeight,
      tiles: [...document.querySelectorAll('.tile')].map(tile => {
        const r = tile.getBoundingClientRect();
        const img = tile.querySelector('.picture').getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                picture: Math.min(img.width, img.height)};
      })})""")
    assert len(box["tiles"]) == len(NAMES)
    assert box["scrollW"] <= width, box
    for tile in box["tiles"]:
        assert tile["left"] >= 0 and tile["right"] <= width and tile["picture"] >= 120, box
    if width < height:  # a phone: one column, scrolling down
        assert len({round(tile["left"]) for tile in box["tiles"]}) == 1, box
    else:  # a wall: every tile on the screen at once
        assert box["scrollH"] <= height, box
        assert all(tile["top"] >= 0 and tile["bottom"] <= height for tile in box["tiles"]), box


def test_every_tile_says_reconnecting_while_the_server_is_away(azurite, dashboards, tmp_path,
                                                                open_page):
    queue = f"q-{uuid.uuid4().hex[:8]}-default"
    config = pillow_config(tmp_path / "two.toml", queue, {"hall": "Hallway", "den": "Den"})
    server = dashboards(azurite, queue, CONFIG=config)
    page, recorder = open_page(f"{server.url}/overview")
    wait_live(page)
    recorder.outage = True
    page.evaluate("() => { window.sameDocument = true; }")
    server.stop()
    page.wait_for_function("() => [...document.querySelectorAll('.tile .link')]"
                           ".every(link => link.dataset.link === 'reconnecting')")
    expect(page.locator("#summary")).to_contain_text("reconnecting")
    server.start()
    wait_live(page)
    expect(page.locator("#summary")).to_contain_text("all live")
    assert page.evaluate("() => window.sameDocument") is True  # live again, not reloaded
