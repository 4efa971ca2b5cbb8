"""Several pillows on a real ``pillow-web serve`` and a real Azurite, seen by Socket.IO clients
that name their pillow in the connect auth (as /p/<id> and /overview do): each pillow's messages
reach its own screens only, whether it has a queue of its own or shares one; a queue that fails
takes down its pillows only. (A browser sees the same in tests/test_pillows_browser.py.)"""

import uuid
from time import monotonic

import pytest

from pillow_web.domain.messages import compose

from .pillows import NAMES, SHARED, TOKEN, Queues, Screens, post, queues_for, refusal, write_pillows
from .procs import Dashboard
from .test_live import poison_records
from .util import wait_for

FEW_SECONDS = 3.0


@pytest.fixture
def screens():
    with Screens() as opened:
        yield opened


@pytest.fixture(scope="module")
def site(azurite, tmp_path_factory):
    """One ``serve`` for the module: hall and den on queues of their own, attic and porch on one
    they share; each test posts texts of its own."""
    folder = tmp_path_factory.mktemp("pillows-live")
    queues = queues_for(f"l-{uuid.uuid4().hex[:8]}", NAMES)
    server = Dashboard(azurite, folder / "serve.log", queues["hall"], OPERATOR_TOKEN=TOKEN,
                       CONFIG=write_pillows(folder / "pillows.toml", queues))
    server.queues = queues
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="module")
def send(azurite, site):
    with Queues(azurite, site.queues) as queues:
        yield queues


def check_only_its_own_screens_change(site, send, screens, one, other):
    tag = uuid.uuid4().hex[:8]
    mine, theirs = screens(site.url, {"pillow": one}), screens(site.url, {"pillow": other})
    overview = screens(site.url, {"overview": True})
    for screen, pillows in ((mine, {one}), (theirs, {other}), (overview, set(NAMES))):
        wait_for(lambda screen=screen, pillows=pillows: {
            pillow for pillow, _ in screen.texts()} == pillows, 5, "each pillow's state")
    before = site.get(f"/api/pillows/{other}/state").json()

    send.say("HUGGING", f"{one} {tag}", one)
    for screen in (mine, overview):
        screen.wait("state", lambda data: data["text"] == f"{one} {tag}")
    assert (overview.received("state")[-1]["pillow"], mine.received("state")[-1]["pillow"]) == (
        one, one)
    assert site.get(f"/api/pillows/{other}/state").json() == before
    assert site.get(f"/api/pillows/{one}/state").json()["text"] == f"{one} {tag}"
    # Had the change reached the other's screen, it would be there before the other's next one.
    send.say("SHAKING", f"{other} {tag}", other)
    for screen in (theirs, overview):
        screen.wait("state", lambda data: data["text"] == f"{other} {tag}")
    assert {pillow for pillow, _ in mine.texts()} == {one}, mine.texts()
    assert {pillow for pillow, _ in theirs.texts()} == {other}, theirs.texts()
    assert {(one, f"{one} {tag}"), (other, f"{other} {tag}")} <= set(overview.texts())
    for screen, pillow in ((mine, one), (theirs, other)):
        assert all(pillow in status["pillows"] for status in screen.received("status"))
    return overview


def test_pillows_on_queues_of_their_own_reach_only_their_own_screens(site, send, screens):
    overview = check_only_its_own_screens_change(site, send, screens, "hall", "den")
    statuses = overview.received("status")  # one per queue, each naming the pillows it is about
    assert sorted(status["pillows"] for status in statuses) == [["attic", "porch"], ["den"],
                                                                ["hall"]]
    assert {status["status"] for status in statuses} == {"ok"}


def test_pillows_sharing_a_queue_reach_only_their_own_screens(azurite, site, send, screens):
    check_only_its_own_screens_change(site, send, screens, "attic", "porch")
    snapshot = send.storage("attic").load_snapshot()
    assert snapshot["version"] == 1 and set(snapshot["pillows"]) == set(SHARED)


def test_a_shared_queue_poisons_an_unknown_pillow_and_a_message_naming_none(site, send, screens):
    tag = uuid.uuid4().hex[:8]
    attic = screens(site.url, {"pillow": "attic"})
    unknown = compose("HUGGING", f"cellar {tag}", pillow="cellar")
    unnamed = compose("HUGGING", f"nobody {tag}")
    for content in (unknown, unnamed):
        send(content, "attic")
    storage = send.storage("attic")

    def poisoned():
        records = {record["content"]: record["reason"] for record in poison_records(storage)}
        return records if {unknown, unnamed} <= set(records) else None

    reasons = wait_for(poisoned, 10, "both messages in the shared queue's poison queue")
    assert reasons[unknown] == "unknown pillow 'cellar'; this queue serves attic, porch"
    assert reasons[unnamed].startswith("message names no pillow, and this queue serves several "
                                       "(attic, porch)")
    assert storage.poison_name == f"{site.queues['attic']}-poison"
    assert all(tag not in text for _, text in attic.texts())
    for pillow in SHARED:
        assert tag not in site.get(f"/api/pillows/{pillow}/state").json()["text"]


def test_a_connect_naming_an_unknown_pillow_is_refused(site, screens):
    for auth in ({"pillow": "cellar"}, {"pillow": ["hall"]}, {"pillow": "Hall"}):
        assert refusal(site.url, auth) == [{"message": "no such pillow"}], auth
    old_page = screens(site.url, None)  # an older kiosk page sends no auth: the default pillow
    wait_for(lambda: old_page.received("state"), 5, "the default pillow's state")
    assert [state["pillow"] for state in old_page.received("state")] == ["hall"]


@pytest.mark.parametrize("one, other", [("den", "hall"), ("porch", "attic")])
def test_a_post_for_one_pillow_shows_on_its_screens_only(site, screens, one, other):
    tag = uuid.uuid4().hex[:8]
    mine, theirs = screens(site.url, {"pillow": one}), screens(site.url, {"pillow": other})
    assert post(site, one, "spinning", f"{one} {tag}").status_code == 202
    mine.wait("state", lambda data: data["text"] == f"{one} {tag}")
    assert post(site, other, "NEUTRAL", f"{other} {tag}").status_code == 202
    theirs.wait("state", lambda data: data["text"] == f"{other} {tag}")
    assert {pillow for pillow, _ in mine.texts()} == {one}
    assert f"{one} {tag}" not in {text for _, text in theirs.texts()}


def test_a_post_for_an_unknown_pillow_is_404_with_the_known_pillows(site):
    response = post(site, "cellar", "HUGGING", "lost")
    assert response.status_code == 404
    assert response.json() == {"error": "there is no pillow 'cellar'",
                               "known_pillows": list(NAMES)}
    assert post(site, "cellar", "HUGGING", "lost", headers={}).status_code == 401
    assert site.get("/api/pillows/cellar/state").status_code == 404


def test_a_pillow_whose_queue_fails_leaves_the_others_live(azurite, dashboards, tmp_path,
                                                           screens):
    queues = queues_for(f"b-{uuid.uuid4().hex[:8]}", ("hall", "den"))
    server = dashboards(azurite, queues["hall"], OPERATOR_TOKEN=TOKEN,
                        CONFIG=write_pillows(tmp_path / "pillows.toml", queues))
    with Queues(azurite, queues) as send:
        check_a_broken_queue_leaves_the_other_live(server, send, screens)


def check_a_broken_queue_leaves_the_other_live(server, send, screens):
    hall, den = screens(server.url, {"pillow": "hall"}), screens(server.url, {"pillow": "den"})
    overview = screens(server.url, {"overview": True})
    send.storage("den").queue.delete_queue()
    wait_for(lambda: server.health() == 503, 10, "/healthz to say 503")
    health = server.get("/healthz").json()
    assert (health["status"], health["queue_ok"]) == ("degraded", False)
    assert health["pillows"]["den"] == {"status": "degraded", "queue_ok": False,
                                        "reason": "queue or container not found"}
    assert health["pillows"]["hall"] == {"status": "ok", "queue_ok": True, "reason": None}
    for screen in (den, overview):
        screen.wait("status", lambda data: data["status"] == "degraded" and
                    data["pillows"] == ["den"], timeout=5)

    sent = monotonic()
    send(compose("HUGGING", "still live"), "hall")
    shown, _ = hall.wait("state", lambda data: data["text"] == "still live", timeout=10)
    assert shown - sent < FEW_SECONDS
    overview.wait("state", lambda data: data["text"] == "still live", timeout=5)
    assert {status["status"] for status in hall.received("status")} == {"ok"}
    late = screens(server.url, {"pillow": "hall"})
    assert late.wait("status", timeout=5)[1]["status"] == "ok"
    assert post(server, "hall", "SHAKING", "posted").status_code == 202
    hall.wait("state", lambda data: data["text"] == "posted", timeout=FEW_SECONDS)
    refused = post(server, "den", "SHAKING", "lost")
    assert refused.status_code == 503 and "the queue is unreachable" in refused.json()["error"]
    assert "Traceback" not in server.output()


def test_a_single_pillow_dashboard_answers_as_it_always_did(live_app, storage):
    client = live_app.test_client()
    storage.send(compose("HUGGING", "alone"))
    wait_for(lambda: client.get("/api/state").json["text"] == "alone", message="HUGGING")
    assert set(client.get("/api/state").json) == {"state", "text", "image", "color", "at",
                                                  "received_at"}
    health = client.get("/healthz")
    assert health.status_code == 200 and "pillows" not in health.json
    assert client.get("/api/pillows/default/state").json["pillow"] == "default"
    [pillow] = client.get("/api/pillows").json
    assert (pillow["id"], pillow["name"], pillow["url"]) == ("default", "Cloud Pillow", "/")
    wait_for(lambda: (storage.load_snapshot() or {}).get("current", {}).get("text") == "alone",
             message="the snapshot saved")
    assert "pillows" not in storage.load_snapshot()
