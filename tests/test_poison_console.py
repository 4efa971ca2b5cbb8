"""The console's poison routes over HTTP against Azurite: list (a peek), show, requeue, delete,
one or all in bounded steps; sign-in, CSRF, confirmation, unknown pillows, storage down."""

import json
import logging
import re
from collections import Counter

import pytest

from pillow_web.app import create_app
from pillow_web.web import poison_console

from .test_operator import TOKEN, csrf_of
from .test_operator import sign_in as operator_sign_in
from .test_poison_bulk import seed, seed_around_a_refusal, take_all
from .util import poison, wait_for

BIG = '{"state": "HUGGING", "text": "' + "b" * (60 * 1024) + '"}'  # kept in a blob
HOSTILE = '<img src=x onerror="alert(1)"> not a state'
JSON = {"Accept": "application/json"}


def sign_in(client):
    """Sign ``client`` in; return the signed-in session's CSRF token."""
    assert operator_sign_in(client).status_code == 302
    return csrf_of(client.get("/operator/"))


def poison_messages(storage):
    return storage.poison.peek_messages(max_messages=32)


@pytest.fixture
def poisoned(storage):
    """Three entries: a hostile text, a 400-character one, and a 60 KiB one kept in a blob;
    ``{original id: original}`` in the order they were poisoned."""
    return {poison(storage, HOSTILE, "unknown state '<IMG'"): HOSTILE,
            poison(storage, "x" * 400, "not JSON"): "x" * 400,
            poison(storage, BIG, "too big"): BIG}


def test_the_list_peeks_and_changes_no_dequeue_count(browser, storage, poisoned):
    sign_in(browser)
    before = {message.id: message.dequeue_count for message in poison_messages(storage)}
    for _ in range(3):
        response = browser.get("/operator/poison/list.json")
        assert response.status_code == 200, response.text
    data = response.json
    assert data["count"] == 3 and data["as_of"]
    assert [entry["original_id"] for entry in data["entries"]] == list(poisoned)
    hostile, long, big = data["entries"]
    assert hostile["content"] == HOSTILE and hostile["reason"] == "unknown state '<IMG'"
    assert hostile["length"] == len(HOSTILE) and not hostile["kept_in_blob"]
    assert long["content"] == "x" * 300 and long["length"] == 400  # the start, and how long
    assert big["kept_in_blob"] and big["length"] is None and big["content"] == BIG[:200]
    assert set(hostile) == {"id", "original_id", "poisoned_at", "reason", "content", "length",
                            "kept_in_blob"}
    after = {message.id: message.dequeue_count for message in poison_messages(storage)}
    assert after == before and set(after) == {entry["id"] for entry in data["entries"]}
    assert set(after.values()) == {0}  # nothing was received: nothing hidden, nothing counted


def test_an_empty_poison_queue_lists_nothing(browser):
    sign_in(browser)
    data = browser.get("/operator/poison/list.json").json
    assert data["count"] == 0 and data["entries"] == []


def test_show_gives_one_whole_also_when_kept_in_a_blob(browser, storage, poisoned):
    sign_in(browser)
    big_id, long_id = list(poisoned)[2], list(poisoned)[1]
    big = browser.get(f"/operator/poison/entry.json?id={big_id}")
    assert big.status_code == 200
    assert big.json["content"] == BIG and big.json["length"] == len(BIG)
    assert big.json["kept_in_blob"] and big.json["original_id"] == big_id
    poison_id = next(entry["id"] for entry in browser.get("/operator/poison/list.json")
                     .json["entries"] if entry["original_id"] == long_id)
    by_poison_id = browser.get(f"/operator/poison/entry.json?id={poison_id}").json
    assert by_poison_id["content"] == "x" * 400 and by_poison_id["reason"] == "not JSON"
    missing = browser.get("/operator/poison/entry.json?id=no-such-id")
    assert missing.status_code == 404 and "not among" in missing.json["error"]
    assert {message.dequeue_count for message in poison_messages(storage)} == {0}


def test_requeue_one_sends_its_original_back(console_app, browser, storage, poisoned, caplog):
    csrf = sign_in(browser)
    hostile_id = list(poisoned)[0]
    browser.get("/operator/poison/list.json")  # listed (and kept) before the change
    with caplog.at_level(logging.INFO, logger="pillow_web.web.poison_console"):
        response = browser.post("/operator/poison/requeue", headers=JSON,
                                data={"csrf": csrf, "id": hostile_id})
    assert response.status_code == 200, response.text
    assert response.json["done"] == 1 and response.json["left"] == 0
    assert [message.content for message in storage.queue.peek_messages()] == [HOSTILE]
    listed = browser.get("/operator/poison/list.json").json  # not the list kept before
    assert listed["count"] == 2 and hostile_id not in {e["original_id"] for e in listed["entries"]}
    logged = [record.getMessage() for record in caplog.records]
    assert any("requeued" in line for line in logged)
    assert not any("onerror" in line for line in logged)  # ids and counts, never contents
    again = browser.post("/operator/poison/requeue", headers=JSON,
                         data={"csrf": csrf, "id": hostile_id})
    assert again.status_code == 404


def test_delete_one_needs_confirm_and_drops_its_blob(browser, storage, poisoned):
    csrf = sign_in(browser)
    big_id = list(poisoned)[2]

    def blobs():
        return list(storage.container.list_blobs(name_starts_with=f"{storage.poison_name}/"))

    assert len(blobs()) == 1
    unconfirmed = browser.post("/operator/poison/delete", headers=JSON,
                               data={"csrf": csrf, "id": big_id})
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.json["error"]
    assert len(poison_messages(storage)) == 3
    response = browser.post("/operator/poison/delete", headers=JSON,
                            data={"csrf": csrf, "id": big_id, "confirm": "yes"})
    assert response.status_code == 200 and response.json["done"] == 1
    assert len(poison_messages(storage)) == 2 and blobs() == []
    assert storage.queue.peek_messages() == []  # deleted: nothing went back


@pytest.mark.parametrize("verb", ["requeue", "delete"])
def test_all_of_70_goes_in_bounded_steps(browser, storage, monkeypatch, verb):
    """Each request does what it can in its time (here: one batch), says what is left of the
    limit, and the next asks for that, as the page's script does."""
    monkeypatch.setattr(poison_console, "BULK_SECONDS", 0.0)
    originals = seed(storage, 70)
    csrf = sign_in(browser)
    total = browser.get("/operator/poison/list.json").json["count"]
    assert total == 70
    steps, done, left = [], 0, total
    while left and len(steps) < 10:
        fields = {"csrf": csrf, "all": "1", "limit": str(left)}
        response = browser.post(f"/operator/poison/{verb}", headers=JSON,
                                data={**fields, **({"confirm": "yes"} if verb == "delete" else {})})
        assert response.status_code == 200, response.text
        steps.append(response.json["done"])
        done, left = done + response.json["done"], response.json["left"]
        assert left == total - done or left == 0
    assert steps == [32, 32, 6] and done == 70
    assert take_all(storage.poison) == []
    expected = Counter(originals) if verb == "requeue" else Counter()
    assert Counter(take_all(storage.queue)) == expected


def test_requeue_all_stops_at_the_count_while_a_watcher_poisons_again(
        console_app, browser, storage):
    """Unknown states come straight back to poison: the steps end at the count confirmed."""
    originals = seed(storage, 40)
    watcher = console_app.extensions["pillow"].watcher
    watcher.start()
    wait_for(lambda: watcher.ok, message="watcher's first poll")
    csrf = sign_in(browser)
    steps, left = [], 40
    while left and len(steps) < 20:
        response = browser.post("/operator/poison/requeue", headers=JSON,
                                data={"csrf": csrf, "all": "1", "limit": str(left)})
        assert response.status_code == 200, response.text
        steps.append(response.json["done"])
        left = response.json["left"]
    assert sum(steps) == 40 and left == 0
    wait_for(lambda: storage.depth() == 0 and storage.poison_count() == 40, timeout=30,
             message="every requeued message poisoned again")
    assert Counter(json.loads(content)["content"] for content in take_all(storage.poison)) \
        == Counter(originals)


def test_writes_need_the_csrf_token_and_a_signed_in_session(console_app, browser, storage,
                                                            poisoned):
    first = list(poisoned)[0]
    csrf = csrf_of(browser.get("/operator/"))  # a session, not signed in
    assert browser.get("/operator/poison/list.json").status_code == 401
    assert browser.get(f"/operator/poison/entry.json?id={first}").status_code == 401
    for verb in ("requeue", "delete"):
        refused = browser.post(f"/operator/poison/{verb}", headers=JSON,
                               data={"csrf": csrf, "id": first, "confirm": "yes"})
        assert refused.status_code == 401
    csrf = sign_in(browser)
    for verb in ("requeue", "delete"):
        for fields in ({}, {"csrf": "forged"}):
            refused = browser.post(f"/operator/poison/{verb}", headers=JSON,
                                   data={**fields, "id": first, "confirm": "yes"})
            assert refused.status_code == 400
    assert len(poison_messages(storage)) == 3 and storage.queue.peek_messages() == []
    # The header instead of the field, with a JSON body, as scripts may send.
    response = browser.post("/operator/poison/requeue", json={"id": first},
                            headers={**JSON, "X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.json["done"] == 1


def test_bad_requests_and_unknown_pillows(browser, poisoned):
    csrf = sign_in(browser)
    assert browser.get("/operator/poison/list.json?pillow=nope").status_code == 404
    assert browser.post("/operator/poison/requeue", headers=JSON,
                        data={"csrf": csrf, "pillow": "nope", "id": "x"}).status_code == 404
    assert browser.post("/operator/poison/requeue", headers=JSON,
                        data={"csrf": csrf}).status_code == 400
    assert browser.post("/operator/poison/requeue", headers=JSON,
                        data={"csrf": csrf, "all": "1", "limit": "-3"}).status_code == 400


def test_storage_down_answers_503_with_one_redacted_line(own_azurite, settings):
    app = create_app({**settings, "CONNECTION_STRING": own_azurite.connection_string,
                      "OPERATOR_TOKEN": TOKEN})
    try:
        app.extensions["pillow"].storage.ensure()
        client = app.test_client()
        own_azurite.stop()
        csrf = sign_in(client)  # (its console asks for the figures, and learns none)
        for response in (
                client.get("/operator/poison/list.json?pillow="),
                client.get("/operator/poison/entry.json?id=x"),
                client.post("/operator/poison/requeue", headers=JSON,
                            data={"csrf": csrf, "all": "1"}),
                client.post("/operator/poison/delete", headers=JSON,
                            data={"csrf": csrf, "id": "x", "confirm": "yes"})):
            assert response.status_code == 503, response.text
            error = response.json["error"]
            assert error.startswith("Storage: ") and "\n" not in error
            assert "AccountKey" not in error and "Eby8vdM02" not in error  # no secret
    finally:
        app.extensions["pillow"].storage.close()


def test_a_refusal_midway_says_how_many_were_done(browser, storage):
    seed_around_a_refusal(storage)  # a real refusal among them
    csrf = sign_in(browser)
    response = browser.post("/operator/poison/requeue", headers=JSON,
                            data={"csrf": csrf, "all": "1", "limit": "81"})
    assert response.status_code == 503
    said = re.fullmatch(r"Storage: HttpResponseError: .* \((\d+) done before it\)",
                        response.json["error"])
    assert said, response.json["error"]
    requeued, left = take_all(storage.queue), take_all(storage.poison)  # none left hidden
    assert len(requeued) == int(said[1]) and len(requeued) + len(left) == 81


def test_each_pillow_has_its_queues_poison(settings):
    """Two pillows on two queues: each lists, shows and requeues its own queue's poison."""
    base = settings["QUEUE"]
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "PILLOWS": [
        {"id": "hall", "name": "Hallway", "queue": f"{base}-hall"},
        {"id": "den", "name": "Den", "queue": f"{base}-den"}]})
    dashboard = app.extensions["pillow"]
    try:
        for live in dashboard.queues:
            live.storage.ensure()
        den = dashboard.pillow("den").storage
        den_id = poison(den, "den's bad message", "unknown state")
        client = app.test_client()
        csrf = sign_in(client)
        assert client.get("/operator/poison/list.json").json["entries"] == []  # hall's
        listed = client.get("/operator/poison/list.json?pillow=den").json["entries"]
        assert [entry["original_id"] for entry in listed] == [den_id]
        assert client.get(f"/operator/poison/entry.json?id={den_id}").status_code == 404
        assert client.get(f"/operator/poison/entry.json?pillow=den&id={den_id}").json[
            "content"] == "den's bad message"
        assert client.post("/operator/poison/requeue", headers=JSON,
                           data={"csrf": csrf, "id": den_id}).status_code == 404  # not hall's
        response = client.post("/operator/poison/requeue", headers=JSON,
                               data={"csrf": csrf, "pillow": "den", "id": den_id})
        assert response.status_code == 200 and response.json["done"] == 1
        assert [message.content for message in den.queue.peek_messages()] == \
            ["den's bad message"]
    finally:
        dashboard.close()


def test_one_is_found_without_claiming_the_whole_queue(browser, storage):
    """Requeueing one stops receiving after the batch that brought it: of 70 entries, the 38
    or more beyond its batch were never received (a second receive counts them once)."""
    seed(storage, 70)
    csrf = sign_in(browser)
    first = browser.get("/operator/poison/list.json").json["entries"][0]["id"]
    response = browser.post("/operator/poison/requeue", headers=JSON,
                            data={"csrf": csrf, "id": first})
    assert response.status_code == 200 and response.json["done"] == 1
    counts = Counter(message.dequeue_count for message in storage.poison.receive_messages(
        messages_per_page=32, visibility_timeout=300))
    assert sum(counts.values()) == 69 and counts[1] >= 38, counts
