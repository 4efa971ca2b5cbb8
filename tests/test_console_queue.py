"""The console's queue view: its JSON routes (signed in only, per pillow, 503 while storage is
down, no peek while the figures say that nothing waits) and, in a real headless Chromium against
a real server on a phone and a laptop, the queue card (what waits, with its forecast; a hostile
text stays text), the charts, the warnings and no WCAG A/AA violation."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobLeaseClient
from playwright.sync_api import expect

from pillow_web.app import create_app
from pillow_web.domain.messages import compose
from pillow_web.domain.queue_stats import QueueStats
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import azurite_connection_string, free_port
from pillow_web.storage.queue_stats import StatsBlob
from pillow_web.web import queue_console

from .axe import assert_no_violations
from .procs import Dashboard
from .test_operator import sign_in
from .util import wait_for

TOKEN = "operator-secret-token"  # (test_operator's sign_in signs in with it)
HOSTILE = '<img src=x onerror="window.pwned = 1">'


@pytest.fixture
def consoles(settings):
    """``consoles(**settings)``: ``(app, signed-in test client)`` of an app on the test's queue
    whose watcher does not run (unless the test starts it): messages stay waiting."""
    made = []

    def make(**extra):
        app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, **extra})
        made.append(app)
        app.extensions["pillow"].storage.ensure()
        client = app.test_client()
        sign_in(client)
        return app, client

    yield make
    for app in made:
        app.extensions["pillow"].watcher.stop()
        app.extensions["pillow"].storage.close()


@pytest.fixture
def console(consoles):
    return consoles()


@pytest.fixture
def peeks(monkeypatch):
    """The peeks the queue view makes (the real ones, counted)."""
    made = []

    def counted(storage, *args, **kwargs):
        made.append(storage.queue_name)
        return real(storage, *args, **kwargs)

    real = queue_console.peek
    monkeypatch.setattr(queue_console, "peek", counted)
    return made


@pytest.mark.parametrize("path", ["waiting.json", "stats.json"])
def test_the_routes_need_a_signed_in_operator(settings, path):
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN})
    try:
        response = app.test_client().get(f"/operator/queue/{path}")
        assert response.status_code == 401 and response.json == {"error": "sign in first"}
        assert response.headers["Cache-Control"] == "no-store"
    finally:
        app.extensions["pillow"].storage.close()


@pytest.mark.parametrize("path", ["waiting.json", "stats.json"])
def test_an_unknown_pillow_is_404(console, peeks, path):
    _, client = console
    response = client.get(f"/operator/queue/{path}?pillow=%3Cb%3Enope")
    assert response.status_code == 404
    assert response.json == {"error": "there is no pillow '<b>nope'"}
    assert peeks == []


@pytest.mark.parametrize("hours", ["0", "25", "x", "-1", "1.5"])
def test_stats_hours_must_be_1_to_24(console, hours):
    _, client = console
    response = client.get(f"/operator/queue/stats.json?hours={hours}")
    assert response.status_code == 400 and "from 1 to 24" in response.json["error"]


def test_waiting_messages_come_with_their_forecast_and_stay_waiting(console, storage, peeks):
    app, client = console
    storage.send(compose("HUGGING", "Hello there"))
    storage.send(HOSTILE)
    storage.send(json.dumps({"state": "SHAKING", "text": "x" * 5000}))
    data = client.get("/operator/queue/waiting.json").json
    assert data["peeked"] is True and peeks == [storage.queue_name]
    assert set(data) == {"as_of", "peeked", "rows", "figures"}
    assert set(data["figures"]) >= {"depth", "oldest_age", "poison_count", "as_of"}
    hugging, hostile, long = data["rows"]
    assert (hugging["outcome"], hugging["state"], hugging["text"], hugging["summary"]) == (
        "shows", "HUGGING", "Hello there", 'shows HUGGING "Hello there"')
    assert hugging["dequeue_count"] == 0 and hugging["inserted_on"]
    assert hostile["outcome"] == "poison" and hostile["content"] == HOSTILE
    assert hostile["summary"].startswith("goes to poison: ")
    assert long["length"] > len(long["content"]) == 4200
    # Peeking delivered nothing: each is still there, never dequeued.
    again = storage.queue.peek_messages(max_messages=32)
    assert [message.dequeue_count for message in again] == [0, 0, 0]


def test_the_peek_is_skipped_while_nothing_waits(consoles, peeks):
    """An idle consumer's empty receives say that nothing waits: no peek while they are fresh
    (within 3 × POLL_MAX: 3 s here, as a busy machine's receive may be slow)."""
    app, client = consoles(POLL_MAX=1.0)
    watcher = app.extensions["pillow"].watcher
    watcher.start()
    wait_for(lambda: watcher.role == "active" and watcher.queue_figures()["depth"] == 0,
             message="the watcher to consume and find the queue empty")
    for _ in range(5):
        data = client.get("/operator/queue/waiting.json").json
        assert data["peeked"] is False and data["rows"] == [] and data["as_of"]
        assert data["figures"]["depth"] == 0
    assert peeks == []


def test_storage_down_is_503_with_one_sentence(settings, peeks):
    dead = azurite_connection_string(blob_port=free_port(), queue_port=free_port())
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "CONNECTION_STRING": dead})
    try:
        client = app.test_client()
        sign_in(client)
        response = client.get("/operator/queue/waiting.json")
        assert response.status_code == 503
        assert peeks == [app.extensions["pillow"].storage.queue_name]
        error = response.json["error"]
        assert error.startswith("Cannot look into the queue: ") and "\n" not in error
        assert "AccountKey=" not in error and "Traceback" not in error
    finally:
        app.extensions["pillow"].storage.close()


def test_each_pillow_sees_its_own_queue(settings):
    """Several pillows: each one's waiting list is its queue's (two pillows on a shared queue
    both see its messages, each message's pillow named)."""
    base = settings["QUEUE"]
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "PILLOWS": [
        {"id": "hall", "name": "Hallway", "queue": f"{base}-hall"},
        {"id": "den", "name": "Den", "queue": f"{base}-shared"},
        {"id": "attic", "name": "Attic", "queue": f"{base}-shared"}]})
    dashboard = app.extensions["pillow"]
    try:
        for live in dashboard.queues:
            live.storage.ensure()
        dashboard.pillows["den"].storage.send(json.dumps({"state": "HUGGING", "pillow": "attic"}))
        client = app.test_client()
        sign_in(client)

        def rows(pillow):
            response = client.get(f"/operator/queue/waiting.json?pillow={pillow}")
            assert response.status_code == 200
            return [(row["pillow"], row["outcome"]) for row in response.json["rows"]]

        assert rows("den") == rows("attic") == [("attic", "shows")]
        assert rows("hall") == []
        assert client.get("/operator/queue/waiting.json").json["rows"] == []  # hall: the default
    finally:
        dashboard.close()


def test_stats_count_what_the_watcher_did(console, storage):
    app, client = console
    watcher = app.extensions["pillow"].watcher
    watcher.start()
    storage.send(compose("HUGGING", "counted"))
    storage.send("no-such-state")

    def counted():
        data = client.get("/operator/queue/stats.json?hours=1").json
        return data if data["totals"]["applied"] == 1 and data["totals"]["poisoned"] == 1 else None

    data = wait_for(counted, message="the applied and the poisoned message to be counted")
    assert len(data["series"]) == 60 and data["totals"]["skipped"] == 0
    assert set(data["series"][-1]) == {"minute", "applied", "skipped", "poisoned", "depth",
                                       "oldest_age"}
    assert sum(point["applied"] + point["poisoned"] for point in data["series"][-2:]) == 2
    day = client.get("/operator/queue/stats.json").json
    assert len(day["series"]) == 24 * 60 and day["totals"]["applied"] == 1


# --- in a real browser, against a real server ---

LONG = HOSTILE + " and more" * 20
WAITING = [compose("HUGGING", "Hello from the queue"), HOSTILE, compose("SHAKING", HOSTILE), LONG]


def a_busy_day(now=None):
    """Queue stats as a watcher would have kept them: an hour ago 30 applied, 5 skipped and 2
    poisoned, and depth samples of 12 and oldest ages of 95 s in that minute."""
    now, stats = now or datetime.now(UTC), QueueStats()
    hour_ago = now - timedelta(hours=1)
    stats.count([("default", "applied", hour_ago)] * 30 + [("default", "skipped", hour_ago)] * 5,
                hour_ago)
    stats.poisoned(2, hour_ago)
    stats.sample(12, 95.0, hour_ago)
    return stats


@pytest.fixture(scope="module")
def standby(azurite, tmp_path_factory):
    """``(server, storage)``: a dashboard standing by, as the test holds its queue's lease: the
    messages it was sent stay waiting."""
    server = Dashboard(azurite, tmp_path_factory.mktemp("queue") / "server.log",
                       OPERATOR_TOKEN=TOKEN, POLL_MAX=0.5, WARN_WAITING_AGE=1)
    storage = Storage(azurite, server.queue, "pillow-web")
    storage.ensure()
    StatsBlob(storage).save(a_busy_day().to_dict())
    storage.snapshot_blob.upload_blob(b"", overwrite=False)  # (a lease needs a blob)
    lease = BlobLeaseClient(storage.snapshot_blob)
    lease.acquire(lease_duration=-1)
    try:
        for content in WAITING:
            storage.send(content)
        with server:
            yield server.start(), storage
    finally:
        lease.release()
        storage.close()


def open_console(open_page, server, width, height):
    page, _ = open_page(f"{server.url}/operator/", viewport={"width": width, "height": height})
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#waiting-list li")
    page.wait_for_load_state("load")
    return page


def assert_fits(page, width):
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


@pytest.mark.browser
@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_the_queue_card_lists_what_waits_with_its_forecast(standby, open_page, width, height):
    server, storage = standby
    page = open_console(open_page, server, width, height)
    items = page.locator("#waiting-list li")
    expect(items).to_have_count(len(WAITING))
    expect(page.locator("#waiting-status")).to_contain_text("4 messages wait")
    first, hostile, shaking, long = (items.nth(index) for index in range(len(WAITING)))
    expect(first).to_have_attribute("data-outcome", "shows")
    expect(first.locator(".waiting-forecast")).to_have_text('shows HUGGING "Hello from the queue"')
    expect(first.locator(".waiting-deliveries")).to_have_text("not delivered yet")
    expect(hostile).to_have_attribute("data-outcome", "poison")
    expect(hostile.locator(".waiting-forecast")).to_contain_text("goes to poison: ")
    expect(hostile.locator(".waiting-text")).to_have_text(HOSTILE)
    expect(shaking.locator(".waiting-forecast")).to_have_text(f'shows SHAKING "{HOSTILE}"')
    # A long text is shortened; its whole text is one click away.
    expect(long.locator(".waiting-text")).to_have_text(LONG[:120] + "…")
    expect(long.locator(".waiting-content")).not_to_be_visible()
    long.locator("summary").click()
    expect(long.locator(".waiting-content")).to_have_text(LONG)
    # Hostile text stayed text.
    assert page.locator("#console img:not(.now-image):not(.state img)").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert_fits(page, width)
    # Still waiting, never delivered: the page only peeked.
    assert [message.dequeue_count for message in storage.queue.peek_messages(32)] == [0] * 4


@pytest.mark.browser
@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_the_charts_draw_and_fit(standby, open_page, width, height):
    server, _ = standby
    page = open_console(open_page, server, width, height)
    for chart, label in [("messages", "Messages per "), ("depth", "Messages waiting over "),
                         ("age", "Age of the oldest waiting message over ")]:
        svg = page.locator(f"#chart-{chart} svg")
        expect(svg).to_have_count(1)
        expect(svg).to_have_attribute("role", "img")
        assert svg.get_attribute("aria-label").startswith(label)
        assert "the last 24 hours" in svg.get_attribute("aria-label")
        assert svg.locator("text.queue-axis").count() >= 4  # the y axis's three, and times
        box = svg.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    # The busy minute an hour ago, in each chart and in the table.
    bars = page.locator("#chart-messages rect.queue-bar")
    assert sorted(bars.evaluate_all("rects => rects.map(r => r.dataset.series)")) == [
        "applied", "poisoned", "skipped"]
    expect(page.locator("#chart-messages svg")).to_have_attribute(
        "aria-label", re.compile(r": 30 applied, 5 skipped, 2 poisoned\. "))
    expect(page.locator("#chart-depth rect.queue-bar")).to_have_count(1)
    expect(page.locator("#chart-depth svg")).to_have_attribute(
        "aria-label", re.compile(r": at most 12\. "))
    expect(page.locator("#chart-age svg")).to_have_attribute(
        "aria-label", re.compile(r": at most 1 min\. "))
    page.click("#queue-table-summary")
    rows = page.locator("#queue-rows tr")
    # An hour a row, on the hour (the first and the last are parts of one).
    page.wait_for_function("() => [24, 25].includes(document.querySelectorAll("
                           "'#queue-rows tr').length)")
    cells = rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert [row[1:] for row in cells if row[1] != "0"] == [["30", "5", "2", "12", "1 min"]]
    assert all(row[0].endswith(":00") for row in cells)
    # 24 hours in bars of a few minutes each (3 px or more), 1 hour a bar a minute.
    expect(page.locator("#chart-messages-title")).to_have_text(re.compile(r"^Messages per "
                                                                          r"(10|15|20) min$"))
    page.click(".queue-range button[data-hours='1']")
    expect(page.locator(".queue-range button[data-hours='1']")).to_have_attribute(
        "aria-pressed", "true")
    expect(page.locator("#chart-messages-title")).to_have_text("Messages per minute")
    expect(page.locator("#chart-messages svg")).to_have_attribute(
        "aria-label", re.compile("^Messages per minute over the last 1 hour: "))
    page.wait_for_function("() => [12, 13].includes(document.querySelectorAll("
                           "'#queue-rows tr').length)")  # 5 min a row
    assert_fits(page, width)


@pytest.mark.browser
def test_the_warnings_show_and_the_console_has_no_axe_violation(standby, open_page):
    """Messages wait and nothing consumes them: the console says so at its top. A process that
    does not consume asks for one figure per 15 s, in turn: the oldest age may take 45 s."""
    server, _ = standby
    page = open_console(open_page, server, 390, 844)
    warning = page.locator("#warnings li[data-kind='waiting']")
    expect(warning).to_have_count(1, timeout=50_000)
    expect(warning).to_have_text(re.compile(r"^The oldest waiting message is \d+ (s|min) old: "
                                            r"messages wait but are not being consumed\.$"))
    expect(page.locator("#warnings")).to_have_attribute("role", "status")
    expect(page.locator("#waiting-status")).to_contain_text("; the oldest for ")
    assert page.locator("#warnings").bounding_box()["y"] < page.locator(
        ".stats").bounding_box()["y"]  # at the top
    assert_fits(page, 390)
    page.wait_for_selector("#chart-age svg")
    page.locator("#waiting-list details summary").first.click()
    page.click("#queue-table-summary")
    assert_no_violations(page, "the console with its warnings and queue card (phone)")
