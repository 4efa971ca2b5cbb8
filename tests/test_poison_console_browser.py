"""The console's poison card in a real headless Chromium against a real server process: a
hostile text stays text, Show expands, Delete asks first, Requeue reaches the screens, and the
card fits a phone."""

import uuid

import pytest
from playwright.sync_api import expect

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .axe import describe, violations
from .util import poison, wait_for

pytestmark = pytest.mark.browser

TOKEN = "poison-browser-token"
HOSTILE = '<img src=x onerror="window.pwned=1"> not a state'
LONG = "y" * 500  # one unbroken word: it must wrap, not widen the page
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def storage(azurite):
    """A queue of the test's own, made before its server starts (so its first poison count
    already sees what the test poisoned)."""
    storage = Storage(azurite, f"p-{uuid.uuid4().hex[:12]}", "pillow-web")
    storage.ensure()
    yield storage
    storage.close()


def sign_in(page):
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")


def entry(page, text):
    return page.locator("#poison-list > li", has_text=text)


def test_the_poison_card_lists_shows_requeues_and_deletes(azurite, storage, dashboards,
                                                          open_page):
    hostile_id = poison(storage, HOSTILE, "unknown state '<IMG'")
    poison(storage, LONG, "not JSON")
    poison(storage, compose("HUGGING", "back from poison"), "test reason")
    server = dashboards(azurite, storage.queue_name, OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5)
    page, _ = open_page(f"{server.url}/operator/", viewport={"width": WIDTH, "height": HEIGHT})
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    sign_in(page)
    items = page.locator("#poison-list > li")
    expect(items).to_have_count(3)
    expect(page.locator("#poison-summary")).to_contain_text("3 messages poisoned")

    # The hostile text is text: no element was made of it and its handler never ran.
    hostile = entry(page, HOSTILE)
    expect(hostile.locator(".poison-reason")).to_have_text("unknown state '<IMG'")
    expect(hostile.locator(".poison-id")).to_have_text(f"id {hostile_id}")
    assert page.locator("#poison-card img").count() == 0
    assert page.evaluate("() => window.pwned") is None

    # Show expands the whole text, fetched on demand; Hide folds it again.
    hostile.get_by_role("button", name="Show message 1").click()
    whole = hostile.locator(".poison-whole")
    expect(whole).to_be_visible()
    expect(whole).to_have_text(HOSTILE)
    expect(hostile.locator(".poison-show")).to_have_attribute("aria-expanded", "true")

    page.wait_for_load_state("load")
    found = violations(page, within="#poison-card")  # (the other cards: their own tests)
    assert found == [], f"axe-core on the poison card:\n{describe(found)}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    for box in (item.bounding_box() for item in items.all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box

    # Delete asks first (the dialog, accepted), then the entry goes.
    hostile.locator(".poison-delete").click()
    expect(items).to_have_count(2)
    assert questions and questions[-1].startswith("Delete 1 poisoned message for good?")
    assert HOSTILE[:40] in questions[-1]
    expect(page.locator("#poison-status")).to_have_text("Deleted 1 message(s).")
    assert not any(hostile_id in message.content
                   for message in storage.poison.peek_messages(max_messages=32))

    # Requeue sends the original back: the watcher applies it and the screens show it.
    entry(page, "back from poison").get_by_role("button", name="Requeue message 2").click()
    expect(items).to_have_count(1)
    wait_for(lambda: server.state()["text"] == "back from poison", 10, "the requeued state")

    # Delete all asks with the count, and empties the list.
    page.get_by_role("button", name="Delete all").click()
    expect(page.locator("#poison-summary")).to_contain_text("Nothing is poisoned")
    assert questions[-1] == "Delete the 1 poisoned message for good?"
    expect(items).to_have_count(0)
    assert storage.poison.peek_messages(max_messages=32) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
