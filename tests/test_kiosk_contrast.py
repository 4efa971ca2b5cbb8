"""The kiosk reads well in both themes: every state's text and the footer meet WCAG AA, computed
from the colours Chromium applies, and axe-core finds nothing whatever the screen's options.
"""

import re
import tomllib

import pytest

from pillow_web.config import ROOT

from .axe import assert_no_violations
from .browser import wait_live
from .procs import Dashboard, sender

pytestmark = pytest.mark.browser

AA = 4.5  # for text of any size (large text needs 3:1): the kiosk aims for this everywhere


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    with Dashboard(azurite, tmp_path_factory.mktemp("contrast") / "server.log",
                   POLL_MAX=0.5) as server:
        yield server.start()


@pytest.fixture(scope="module")
def post(azurite, site):
    with sender(azurite, site.queue) as say:
        yield say



def contrast(foreground, background):
    """WCAG 2 contrast ratio of two CSS rgb() colours."""
    def luminance(colour):
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                   for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


COLOURS = """() => {
  const style = el => getComputedStyle(el);
  const text = document.getElementById('text'), footer = document.querySelector('.footer');
  return {text: style(text).color, chip: style(text).backgroundColor,
          accent: style(document.getElementById('kiosk')).getPropertyValue('--accent').trim(),
          updated: style(document.getElementById('updated')).color,
          link: style(document.getElementById('link')).color,
          footer: style(footer).backgroundColor,
          footerSize: parseFloat(style(document.getElementById('updated')).fontSize),
          linkSize: parseFloat(style(document.getElementById('link')).fontSize)};
}"""


def test_every_states_text_and_the_footer_meet_wcag_aa_in_both_themes(site, post, open_page):
    catalog = tomllib.loads((ROOT / "config" / "states.toml").read_text())["state"]
    pages = {}
    for theme in ("dark", "light"):
        pages[theme], _ = open_page(f"{site.url}/?theme={theme}",
                                    viewport={"width": 800, "height": 480})
        wait_live(pages[theme])
    figures = []
    for state in catalog:
        post(state["name"])
        for theme, page in pages.items():
            page.wait_for_function("t => document.getElementById('text').textContent === t",
                                   arg=state["text"])
            colours = page.evaluate(COLOURS)
            assert colours["accent"] == state["color"]
            # Solid grounds, or what lies behind (gradient, picture) would be the background.
            assert opaque(colours["chip"]) and opaque(colours["footer"]), colours
            text = contrast(colours["text"], colours["chip"])
            white_on_accent = contrast("rgb(255, 255, 255)", hex_to_rgb(state["color"]))
            footer = min(contrast(colours["updated"], colours["footer"]),
                         contrast(colours["link"], colours["footer"]))
            figures.append((state["name"], theme, text, footer, white_on_accent))
            assert text >= AA, (state["name"], theme, colours)
            assert footer >= AA, (state["name"], theme, colours)
            assert min(colours["footerSize"], colours["linkSize"]) >= 14, colours
    print("\n[figure] contrast at 800×480, state / theme: text on its chip, footer "
          "(white on the accent alone, as before)")
    for name, theme, text, footer, before in figures:
        print(f"[figure] {name:13} {theme:5}: text {text:5.2f}:1, footer {footer:5.2f}:1 "
              f"({before:4.2f}:1)")


def opaque(colour):
    """Whether a computed CSS colour is fully opaque (Chromium writes rgba() only otherwise)."""
    return colour.startswith("rgb(")


def hex_to_rgb(colour):
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


@pytest.mark.parametrize("query", ["", "?theme=light", "?theme=light&rotate=90&text=xl",
                                   "?footer=hide&text=s", "?rotate=180&theme=dark"])
def test_axe_finds_nothing_on_the_kiosk_with_any_options(site, post, open_page, query):
    post("SHAKING")
    page, _ = open_page(f"{site.url}/{query}", viewport={"width": 800, "height": 480})
    wait_live(page)
    page.wait_for_function("() => getComputedStyle(document.querySelector('.picture.is-shown'))"
                           ".opacity === '1'")
    assert_no_violations(page, f"the kiosk at /{query}")
