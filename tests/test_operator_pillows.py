"""The operator console with several pillows: a picker of every pillow, each console posting for
its own pillow only, a 404 for an unknown one, CSRF as always (on Azurite)."""

import json
import re

import pytest

from pillow_web.app import create_app
from pillow_web.config import ASSETS
from pillow_web.watch import sampler

from .test_operator import TOKEN, csrf_of, sign_in
from .util import wait_for

JSON = {"Accept": "application/json"}
OWN_STATES = """initial = "NOTCONNECTED"
[[state]]
name = "NOTCONNECTED"
image = "notconnected.svg"
text = "Not yet."
[[state]]
name = "NAPPING"
image = "neutral.svg"
text = "Zzz."
"""


@pytest.fixture
def pillows_app(settings, tmp_path):
    """hall on a queue of its own; den and attic share another (den with a catalog of its own).
    The watchers do not run (see ``watching``)."""
    states = tmp_path / "den-states.toml"
    states.write_text(OWN_STATES, encoding="utf-8")
    base = settings["QUEUE"]
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "PILLOWS": [
        {"id": "hall", "name": "Hallway", "queue": f"{base}-hall"},
        {"id": "den", "name": "Den <b>cosy</b>", "queue": f"{base}-shared",
         "states_file": str(states)},
        {"id": "attic", "name": "Attic", "queue": f"{base}-shared"}]})
    dashboard = app.extensions["pillow"]
    for live in dashboard.queues:
        live.storage.ensure()
    yield app
    for live in dashboard.queues:
        live.watcher.stop()
    dashboard.close()


@pytest.fixture
def watching(pillows_app):
    """``pillows_app`` with every queue's watcher running and its snapshot read."""
    for live in pillows_app.extensions["pillow"].queues:
        live.watcher.start()
        wait_for(live.watcher.loaded.is_set, message=f"{live.storage.queue_name}'s snapshot")
    return pillows_app


@pytest.fixture
def browser(pillows_app):
    client = pillows_app.test_client()
    sign_in(client)
    return client


def queued(app):
    """Every message waiting, by queue name."""
    return {live.storage.queue_name: [json.loads(message.content) for message in
                                      live.storage.queue.peek_messages(max_messages=32)]
            for live in app.extensions["pillow"].queues}


def test_the_picker_lists_every_pillow_with_its_health_and_queue(pillows_app, browser):
    page = browser.get("/operator/").get_data(as_text=True)
    links = re.findall(r'<a href="/operator/\?pillow=(\w+)" data-pillow="\1"', page)
    assert links == ["hall", "den", "attic"]
    assert 'data-pillow="hall" aria-current="page"' in page  # the default pillow's console
    assert "Den &lt;b&gt;cosy&lt;/b&gt;" in page and "<b>cosy" not in page
    assert 'href="/" target="_blank"' in page  # the default's kiosk
    den_console = browser.get("/operator/?pillow=den")
    den = den_console.get_data(as_text=True)
    assert 'data-pillow="den" aria-current="page"' in den and 'href="/p/den"' in den
    assert 'name="pillow" value="den"' in den
    # Each console's buttons are its pillow's catalog.
    assert 'value="NAPPING"' in den and 'value="HUGGING"' not in den
    assert 'value="HUGGING"' in page and 'value="NAPPING"' not in page
    # Reload is for every screen; a plain form comes back to the console it was sent from.
    reload = browser.post("/operator/reload", data={"csrf": csrf_of(den_console), "pillow": "den"})
    assert reload.status_code == 302 and reload.headers["Location"].endswith("?pillow=den")


def test_data_is_per_pillow_and_counts_each_queue_once(pillows_app, browser, monkeypatch):
    dashboard = pillows_app.extensions["pillow"]
    shared = dashboard.pillows["den"].storage
    shared.send(json.dumps({"state": "NEUTRAL", "pillow": "attic"}))
    shared.send(json.dumps({"state": "NEUTRAL", "pillow": "attic"}))
    monkeypatch.setattr(sampler, "ASK_EVERY", 0.0)  # every look asks each queue's next figure
    wait_for(lambda: browser.get("/operator/data.json?pillow=attic").json["queue_depth"] == 2,
             message="the shared queue's depth asked again")
    monkeypatch.setattr(sampler, "ASK_EVERY", 15.0)
    asked = []  # (storage request, queue) of one data.json

    def counting(storage, name):
        count = getattr(storage, name)
        return lambda: asked.append((name, storage.queue_name)) or count()

    for live in dashboard.queues:
        for name in ("depth", "poison_count"):
            setattr(live.storage, name, counting(live.storage, name))
    data = browser.get("/operator/data.json?pillow=attic").json
    # One figures cache per queue, each asked within ASK_EVERY: this look asks nothing.
    assert asked == []
    assert set(data) == {"current", "history", "queue_depth", "poison_count", "watcher",
                         "screens", "pillows", "screen_list", "timeline", "oldest_age",
                         "warnings"}
    assert data["queue_depth"] == 2 and data["poison_count"] == 0
    assert data["watcher"]["status"] == "starting" and "last_ok" in data["watcher"]
    assert [(each["id"], each["name"], each["queue_depth"], each["poison_count"])
            for each in data["pillows"]] == [
        ("hall", "Hallway", 0, 0), ("den", "Den <b>cosy</b>", 2, 0), ("attic", "Attic", 2, 0)]
    assert {each["status"] for each in data["pillows"]} <= {"ok", "degraded", "starting"}
    assert browser.get("/operator/data.json?pillow=hall").json["queue_depth"] == 0


def test_a_post_shows_on_its_pillow_only(watching, browser):
    csrf = csrf_of(browser.get("/operator/?pillow=attic"))
    response = browser.post("/operator/state", headers=JSON, data={
        "csrf": csrf, "pillow": "attic", "state": "HUGGING", "text": "up in the attic"})
    assert response.status_code == 202 and "Attic" in response.json["message"]

    def text_of(pillow):
        response = browser.get(f"/api/pillows/{pillow}/state")
        return response.status_code == 200 and response.json["text"]

    wait_for(lambda: text_of("attic") == "up in the attic", message="attic's new state")
    assert text_of("den") != "up in the attic" and text_of("hall") != "up in the attic"
    console = browser.get("/operator/data.json?pillow=attic").json
    assert console["current"]["text"] == "up in the attic"
    assert browser.get("/operator/data.json?pillow=den").json["current"]["text"] != \
        "up in the attic"
    # A plain form (no script) posts for hall and comes back to hall's console.
    plain = browser.post("/operator/state", data={"csrf": csrf, "pillow": "hall",
                                                  "state": "NEUTRAL", "text": "in the hall"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/operator/?pillow=hall")
    wait_for(lambda: text_of("hall") == "in the hall", message="hall's new state")
    assert text_of("attic") == "up in the attic"
    # den's catalog has no HUGGING: refused by den's catalog, not attic's.
    refused = browser.post("/operator/state", headers=JSON,
                           data={"csrf": csrf, "pillow": "den", "state": "HUGGING"})
    assert refused.status_code == 422


def test_an_unknown_pillow_is_404(pillows_app, browser):
    page = browser.get("/operator/?pillow=nowhere")
    assert page.status_code == 404  # the app's not-found page, naming the pillows there are
    assert "There is no pillow &#39;nowhere&#39;" in page.text and 'href="/p/den"' in page.text
    assert browser.get("/operator/data.json?pillow=nowhere").status_code == 404
    csrf = csrf_of(browser.get("/operator/"))
    posted = browser.post("/operator/state", headers=JSON,
                          data={"csrf": csrf, "pillow": "nowhere", "state": "HUGGING"})
    assert posted.status_code == 404 and "nowhere" in posted.json["message"]
    plain = browser.post("/operator/state",
                         data={"csrf": csrf, "pillow": "nowhere", "state": "HUGGING"})
    assert plain.status_code == 302 and "no pillow" in browser.get("/operator/").text
    assert all(messages == [] for messages in queued(pillows_app).values())


def test_posting_for_a_pillow_still_needs_the_csrf_token(pillows_app, browser):
    for data in ({"pillow": "den", "state": "NAPPING"},
                 {"pillow": "den", "state": "NAPPING", "csrf": "forged"}):
        assert browser.post("/operator/state", data=data).status_code == 400
    assert all(messages == [] for messages in queued(pillows_app).values())


def test_a_dashboard_of_one_pillow_shows_no_picker(settings):
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN})
    app.extensions["pillow"].storage.ensure()
    client = app.test_client()
    sign_in(client)
    page = client.get("/operator/").get_data(as_text=True)
    assert "picker" not in page and 'name="pillow"' not in page
    assert "pillows" not in client.get("/operator/data.json").json
    assert client.get("/operator/?pillow=nowhere").status_code == 404
    app.extensions["pillow"].storage.close()


def test_the_script_writes_server_text_with_text_content_only():
    script = (ASSETS / "static" / "js" / "operator.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)
