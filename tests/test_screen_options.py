"""Per-screen options in the kiosk's URL (theme, footer, rotate, text, screen) and what every
screen tells the server when it connects, in a real headless Chromium against a real server.
"""

import json
import uuid

import pytest

from .browser import wait_live
from .procs import Dashboard, sender
from .util import wait_for

pytestmark = pytest.mark.browser

# What the page applied: classes on <html>, the text scale, and the boxes that matter.
APPLIED = """() => {
  const html = document.documentElement, kiosk = document.getElementById('kiosk');
  const text = document.getElementById('text'), footer = document.querySelector('.footer');
  const round = x => Math.round(x * 100) / 100;
  const box = el => { const r = el.getBoundingClientRect();
                      return {left: round(r.left), top: round(r.top), width: round(r.width),
                              height: round(r.height)}; };
  return {classes: [...html.classList].sort(),
          scale: html.style.getPropertyValue('--text-scale'),
          fontSize: parseFloat(getComputedStyle(text).fontSize),
          transform: getComputedStyle(kiosk).transform,
          kiosk: box(kiosk), layout: {width: kiosk.offsetWidth, height: kiosk.offsetHeight},
          text: box(text), textLayout: {width: text.offsetWidth, height: text.offsetHeight},
          footer: box(footer),
          scrollW: document.documentElement.scrollWidth,
          scrollH: document.documentElement.scrollHeight};
}"""


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    with Dashboard(azurite, tmp_path_factory.mktemp("options") / "server.log",
                   POLL_MAX=0.5) as server:
        yield server.start()


@pytest.fixture(scope="module")
def post(azurite, site):
    with sender(azurite, site.queue) as say:
        yield say



def applied(page):
    return page.evaluate(APPLIED)


def test_each_option_applies(site, post, open_page):
    text = f"Options {uuid.uuid4().hex[:6]}"
    post("NEUTRAL", text)
    plain, _ = open_page(f"{site.url}/", viewport={"width": 1280, "height": 720})
    wait_live(plain, text)
    usual = applied(plain)
    assert usual["classes"] == [] and usual["scale"] == ""
    assert usual["footer"]["height"] > 20

    light, _ = open_page(f"{site.url}/?theme=light", viewport={"width": 1280, "height": 720})
    wait_live(light, text)
    assert applied(light)["classes"] == ["theme-light"]
    colours = light.evaluate("""() => [getComputedStyle(document.getElementById('text')).color,
        getComputedStyle(document.body).backgroundColor]""")
    assert colours == ["rgb(29, 36, 48)", "rgb(243, 245, 248)"]  # dark ink, light ground
    dark, _ = open_page(f"{site.url}/?theme=dark", viewport={"width": 1280, "height": 720})
    wait_live(dark, text)
    assert applied(dark)["classes"] == ["theme-dark"]

    for hide in ("hide", "0"):
        bare, _ = open_page(f"{site.url}/?footer={hide}", viewport={"width": 1280, "height": 720})
        wait_live(bare, text)
        shown = applied(bare)
        assert shown["classes"] == ["footer-hidden"] and shown["footer"]["height"] <= 1
        # Out of sight, still in the page for screen readers.
        assert bare.locator("#link-text").text_content() == "live"

    for size, scale in (("s", 0.75), ("m", 1), ("l", 1.25), ("xl", 1.5), ("150", 1.5),
                        ("50%", 0.5), ("200", 2)):
        scaled, _ = open_page(f"{site.url}/?text={size}", viewport={"width": 1280, "height": 720})
        wait_live(scaled, text)
        shown = applied(scaled)
        assert shown["fontSize"] == pytest.approx(usual["fontSize"] * scale, rel=0.02), size

    upside_down, _ = open_page(f"{site.url}/?rotate=180", viewport={"width": 1280, "height": 720})
    wait_live(upside_down, text)
    shown = applied(upside_down)
    assert shown["classes"] == ["rotate-180", "rotated"]
    assert shown["transform"].startswith("matrix(-1, ")
    assert shown["kiosk"] == {"left": 0, "top": 0, "width": 1280, "height": 720}


@pytest.mark.parametrize("rotate,matrix", [("90", "matrix(0, 1, -1, 0, 480, 0)"),
                                           ("270", "matrix(0, -1, 1, 0, 0, 800)")])
def test_a_sideways_screen_is_filled_by_the_turned_page(site, post, open_page, rotate, matrix):
    """A landscape kiosk page on a 480×800 screen mounted sideways: laid out 800 wide and 480
    high, turned to fill the screen exactly, no scrollbars, the text upright in that layout."""
    text = f"Sideways {uuid.uuid4().hex[:6]}"
    post("SPINNING", text)
    page, _ = open_page(f"{site.url}/?rotate={rotate}", viewport={"width": 480, "height": 800})
    wait_live(page, text)
    shown = applied(page)
    assert shown["classes"] == sorted([f"rotate-{rotate}", "rotated", "sideways"])
    assert shown["transform"] == matrix
    assert shown["layout"] == {"width": 800, "height": 480}
    assert shown["kiosk"] == {"left": 0, "top": 0, "width": 480, "height": 800}
    assert shown["scrollW"] <= 480 and shown["scrollH"] <= 800, shown
    # Wider than high in the layout, so on screen (turned with it) higher than wide.
    assert shown["textLayout"]["width"] > shown["textLayout"]["height"]
    assert shown["text"]["height"] > shown["text"]["width"]
    # Laid out as a landscape page, all inside the turned page: picture, text, footer.
    inside = page.evaluate("""() => {
      const kiosk = document.getElementById('kiosk');
      return [...kiosk.querySelectorAll('.stage, .text, .footer')].map(el => [
        el.offsetLeft, el.offsetTop, el.offsetLeft + el.offsetWidth,
        el.offsetTop + el.offsetHeight]);
    }""")
    stage, words, footer = inside
    assert all(0 <= left and right <= 800 and 0 <= top and bottom <= 480
               for left, top, right, bottom in inside), inside
    assert stage[3] <= words[1] + 1 and words[3] <= footer[1] + 1, inside


def test_bad_values_are_ignored_without_a_script_error(site, post, open_page):
    text = f"Nothing odd here {uuid.uuid4().hex[:6]}"
    post("HUGGING", text)
    for query in ("theme=purple&footer=maybe&rotate=45&text=999",
                  "theme=&footer=&rotate=&text=&screen=",
                  "rotate=90deg&text=abc&theme=LIGHT&footer=1",
                  "text=49&rotate=-90&theme=light%00", "text=201%25&rotate=360",
                  "screen=" + "x" * 41, "screen=%0Aname", "theme=light&theme=dark",
                  "%E0%A4%A=broken&text=%"):
        page, recorder = open_page(f"{site.url}/?{query}", viewport={"width": 800,
                                                                      "height": 480})
        wait_live(page, text)
        shown = applied(page)
        expected = ["theme-light"] if query.startswith("theme=light&") else []
        assert shown["classes"] == expected and shown["scale"] == "", query
        assert recorder.unexpected() == [], query


def connect_auth(page):
    """The auth of the page's Socket.IO connect packet ("40{…}"), by polling or WebSocket."""
    sent = []
    page.on("request", lambda request: "/socket.io/" in request.url and request.post_data
            and sent.append(request.post_data))
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(
        frame if isinstance(frame, str) else "")))
    return sent


def auth_of(sent):
    for data in sent:
        for packet in data.split("\x1e"):  # Engine.IO's record separator (polling)
            if packet.startswith("40{"):
                return json.loads(packet[2:])
    return None


@pytest.mark.parametrize("path,query,expected", [
    ("/", "?screen=Hall%20left&theme=light", {"pillow": "default", "screen": "Hall left"}),
    ("/p/default", "", {"pillow": "default"}),
    ("/overview", "?screen=Wall", {"overview": True, "screen": "Wall"}),
    ("/", "?screen=" + "n" * 40, {"pillow": "default", "screen": "n" * 40}),
    ("/", "?screen=" + "n" * 41, {"pillow": "default"}),  # too long: no name, still a screen
])
def test_every_screen_tells_the_server_its_page_build_and_name(site, open_page, path, query,
                                                                expected):
    page, _ = open_page(None)
    sent = connect_auth(page)
    page.goto(f"{site.url}{path}{query}")
    build = page.locator("main").get_attribute("data-build")

    def captured():
        page.wait_for_timeout(20)  # Playwright delivers events only inside its own calls
        return auth_of(sent)

    auth = wait_for(captured, 10, "the connect packet")
    assert auth == {**expected, "page": path, "build": build}, sent
