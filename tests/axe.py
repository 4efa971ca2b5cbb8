"""Accessibility checks in a real page: axe-core's WCAG 2.x A and AA rules, and the contrast of
text as Chromium paints it (which axe cannot judge over a gradient or a picture).

axe-core comes from node_modules (a devDependency): the tests put it into the page, the app never
serves it.
"""

import base64

from pillow_web.config import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's best-practice rules are not WCAG).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AA_TEXT = 4.5  # WCAG 1.4.3, for text of any size

RUN = """async ([tags, within]) => {
  const results = await axe.run(within || document, {runOnly: {type: 'tag', values: tags},
                                                     resultTypes: ['violations']});
  return results.violations.map(rule => ({
    id: rule.id, impact: rule.impact, help: rule.help,
    nodes: rule.nodes.map(node => ({target: node.target.join(' '), summary: node.failureSummary}))
  }));
}"""


def inject(page):
    """Load axe-core into ``page`` (once per document).

    The pages' CSP allows only their own scripts (script-src 'self'), so a <script> tag with
    axe's source (``page.add_script_tag``) would be refused. ``page.evaluate`` runs the source
    through the DevTools protocol (Runtime.evaluate), which CSP does not govern: the page keeps
    the policy it is served with, where a context with ``bypass_csp=True`` would drop it for
    every script and hide a page that only works without it.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    assert page.evaluate("() => typeof window.axe.run === 'function'"), "axe-core did not load"


def violations(page, within=None):
    """axe-core's WCAG A/AA violations on ``page`` as it is now (only in the element the CSS
    selector ``within`` names, if given): [{id, impact, help, nodes}]."""
    inject(page)
    return page.evaluate(RUN, [TAGS, within])


def describe(found):
    """One line per failing element: what to fix and where."""
    return "\n".join(f"  {rule['id']} ({rule['impact']}): {rule['help']}\n"
                     f"    at {node['target']}: {' '.join(node['summary'].split())}"
                     for rule in found for node in rule["nodes"])


def assert_no_violations(page, where):
    found = violations(page)
    assert found == [], f"axe-core found WCAG A/AA violations on {where}:\n{describe(found)}"


# The text's colour and the element's content box (where its glyphs are: a border in the state's
# colour under a chip is no background of the text), in view; then its text is hidden (colour
# and shadow) so a screenshot shows only what lies behind it. CSSOM changes are not inline markup:
# CSP allows them.
HIDE_TEXT = """(el) => {
  el.scrollIntoView({block: 'center', inline: 'center'});
  const style = getComputedStyle(el), color = style.color, r = el.getBoundingClientRect();
  const inset = (side) => parseFloat(style[`border${side}Width`])
                          + parseFloat(style[`padding${side}`]);
  const left = Math.max(r.left + inset('Left'), 0), top = Math.max(r.top + inset('Top'), 0);
  const right = Math.min(r.right - inset('Right'), innerWidth);
  const bottom = Math.min(r.bottom - inset('Bottom'), innerHeight);
  el.style.setProperty('color', 'transparent', 'important');
  el.style.setProperty('text-shadow', 'none', 'important');
  return {color, x: left, y: top, width: right - left, height: bottom - top};
}"""
SHOW_TEXT = """(el) => {
  el.style.removeProperty('color');
  el.style.removeProperty('text-shadow');
}"""
# In a blank page (no CSP there): decode the PNG and return the lowest contrast between the text
# colour, blended over each pixel as the browser would, and that pixel (WCAG's formula).
LOWEST = """async ([png, color]) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = new OffscreenCanvas(img.width, img.height), ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const [r, g, b, a = 1] = color.match(/[\\d.]+/g).map(Number);
  const lum = (c) => {
    const [R, G, B] = c.map(v => { v /= 255; return v <= 0.04045 ? v / 12.92
                                                           : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  let lowest = Infinity;
  for (let i = 0; i < data.length; i += 4) {
    const bg = [data[i], data[i + 1], data[i + 2]];
    const fg = [r, g, b].map((v, k) => v * a + bg[k] * (1 - a));
    const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    lowest = Math.min(lowest, (hi + 0.05) / (lo + 0.05));
  }
  return lowest;
}"""


def lowest_contrast(page, selector, blank):
    """The lowest contrast ratio, over every pixel behind any element matching ``selector``,
    between that element's text colour and what Chromium paints there; ``blank`` is an
    about:blank page of any context to decode the screenshots in."""
    elements = page.locator(selector).element_handles()
    assert elements, f"nothing matches {selector!r}"
    ratios = []
    for element in elements:
        box = element.evaluate(HIDE_TEXT)
        try:
            clip = {key: box[key] for key in ("x", "y", "width", "height")}
            png = page.screenshot(clip=clip, animations="disabled", caret="hide")
        finally:
            element.evaluate(SHOW_TEXT)
        ratios.append(blank.evaluate(LOWEST, [base64.b64encode(png).decode(), box["color"]]))
    return min(ratios)


def assert_aa_contrast(figures, where):
    """Print ``figures`` ({state: {text: lowest ratio}}) and fail naming every text below AA."""
    print(f"\n[figure] lowest text contrast on {where}: " + "; ".join(
        f"{state} " + " ".join(f"{part} {ratio:.2f}" for part, ratio in parts.items())
        for state, parts in figures.items()))
    low = {state: {part: round(ratio, 2) for part, ratio in parts.items() if ratio < AA_TEXT}
           for state, parts in figures.items()}
    assert {state: parts for state, parts in low.items() if parts} == {}, \
        f"text below {AA_TEXT}:1 on {where}"
