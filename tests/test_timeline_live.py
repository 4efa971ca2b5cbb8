"""The last 24 hours on Azurite: posts become spans in GET /api/history, the day survives a restart
(in its blob beside the snapshot), a bad timeline blob is refused without a crash, and a web
worker (Redis) serves the same history as the watcher's process."""

import json
import logging

import pytest
import requests

from pillow_web.app import create_app
from pillow_web.domain.messages import compose
from pillow_web.storage import timeline as timeline_storage

from .test_roles_web import Fleet, post
from .util import wait_for

TIMELINE = "{queue}/snapshot.timeline.json"


def history(client, **query):
    response = client.get("/api/history", query_string=query)
    assert response.status_code == 200, response.text
    return response.json


def states(data):
    return [(span["state"], span["text"]) for span in data["spans"]]


def showing(client, state):
    return lambda: client.get("/api/state").json.get("state") == state


def post_and_wait(storage, client, state, text=None):
    storage.send(compose(state, text))
    wait_for(showing(client, state), message=f"{state} to be shown")


def test_posts_show_as_spans_in_api_history(live_app, storage):
    client = live_app.test_client()
    post_and_wait(storage, client, "HUGGING", "first")
    post_and_wait(storage, client, "SHAKING")
    data = wait_for(lambda: (found := history(client)) and len(found["spans"]) == 3 and found)
    assert states(data) == [("NOTCONNECTED", "The pillow is not connected."),
                            ("HUGGING", "first"), ("SHAKING", "Whoa, I'm being shaken!")]
    assert data["pillow"] == "default" and data["from"] < data["until"]
    spans = data["spans"]
    assert all(a["until"] == b["from"] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[-1]["until"] == data["until"]
    response = client.get("/api/history?hours=1&pillow=default")
    assert response.headers["Cache-Control"] == "no-cache"
    assert states(response.json)[-2:] == states(data)[-2:]


@pytest.mark.parametrize("query, status, says", [
    ("hours=0", 400, "hours must be a whole number from 1 to 24"),
    ("hours=25", 400, "hours must be"),
    ("hours=1.5", 400, "hours must be"),
    ("hours=%EF%BC%91", 400, "hours must be"),  # a full-width digit one
    ("hours=", 400, "hours must be"),
    ("pillow=nowhere", 404, "There is no pillow 'nowhere'"),
])
def test_a_bad_query_is_refused_with_a_clear_error(client, query, status, says):
    response = client.get(f"/api/history?{query}")
    assert response.status_code == status and says in response.json["error"]


def test_the_active_watcher_writes_the_day_only_when_it_changed(settings, storage, monkeypatch):
    monkeypatch.setattr(timeline_storage, "EVERY", 0.1)  # a write due every 0.1 s, not 60
    app = create_app(settings)
    client, watcher = app.test_client(), app.extensions["pillow"].watcher
    tries = []
    save = watcher.timeline.save
    watcher.timeline.save = lambda: tries.append(1) or save()
    blob = storage.container.get_blob_client(TIMELINE.format(queue=settings["QUEUE"]))

    def last_saved():
        return json.loads(blob.download_blob().readall())["pillows"]["default"][-1]["text"]

    try:
        watcher.start()
        post_and_wait(storage, client, "HUGGING", "saved within a cycle")
        wait_for(lambda: blob.exists() and last_saved() == "saved within a cycle")
        written = blob.get_blob_properties().etag
        since = len(tries)
        wait_for(lambda: len(tries) >= since + 5, message="five more cycles")
        assert blob.get_blob_properties().etag == written  # nothing changed: nothing written
        post_and_wait(storage, client, "SHAKING", "and the next change too")
        wait_for(lambda: last_saved() == "and the next change too")
    finally:
        watcher.stop()
        app.extensions["pillow"].storage.close()


def test_a_restart_keeps_the_day(settings, storage):
    first = create_app(settings)
    client = first.test_client()
    first.extensions["pillow"].watcher.start()
    post_and_wait(storage, client, "HUGGING", "before the restart")
    post_and_wait(storage, client, "SPINNING")
    before = wait_for(lambda: (found := history(client)) and len(found["spans"]) == 3 and found)
    first.extensions["pillow"].watcher.stop()  # a clean stop saves the day
    first.extensions["pillow"].storage.close()
    saved = json.loads(storage.container.download_blob(
        TIMELINE.format(queue=settings["QUEUE"])).readall())
    assert [change["state"] for change in saved["pillows"]["default"]] == [
        "NOTCONNECTED", "HUGGING", "SPINNING"]

    second = create_app(settings)
    try:
        second.extensions["pillow"].watcher.start()
        client = second.test_client()
        wait_for(second.extensions["pillow"].watcher.loaded.is_set, message="the snapshot")
        after = history(client)
        # The snapshot alone knows only SPINNING: the rest of the day is the timeline blob's.
        assert [span["from"] for span in after["spans"]] == [
            span["from"] for span in before["spans"]]
        assert states(after) == states(before)
        post_and_wait(storage, client, "HUGGING", "after the restart")
        wait_for(lambda: states(history(client))[-1] == ("HUGGING", "after the restart"))
    finally:
        second.extensions["pillow"].watcher.stop()
        second.extensions["pillow"].storage.close()


@pytest.mark.parametrize("content", [
    b"\xff not json",
    b'{"version": 1, "pillows": {"default": [{"state": "<script>", "text": "", '
    b'"at": "2026-11-27T10:00:00Z"}]}}',
    b'{"version": 1, "pillows": {"default": [{"state": "HUGGING", "text": "x", '
    b'"at": "2999-01-01T00:00:00Z"}]}}',
])
def test_a_bad_timeline_blob_is_refused_without_a_crash(settings, storage, caplog, content):
    name = TIMELINE.format(queue=settings["QUEUE"])
    storage.container.upload_blob(name, content, overwrite=True)
    app = create_app(settings)
    client = app.test_client()
    watcher = app.extensions["pillow"].watcher
    try:
        with caplog.at_level(logging.ERROR, logger="pillow_web.storage.timeline"):
            watcher.start()
            post_and_wait(storage, client, "PUNCHING", "despite the bad blob")
        assert "ignoring an unreadable timeline" in caplog.text
        wait_for(lambda: states(history(client))[-1] == ("PUNCHING", "despite the bad blob"))
        assert "<script>" not in client.get("/api/history").text
    finally:
        watcher.stop()
        app.extensions["pillow"].storage.close()
    rewritten = json.loads(storage.container.download_blob(name).readall())
    assert rewritten["pillows"]["default"][-1]["text"] == "despite the bad blob"
    assert [record.levelname for record in caplog.records
            if "unreadable timeline" in record.message] == ["ERROR"]  # once, not per read


def api_history(dashboard):
    return requests.get(f"{dashboard.url}/api/history", timeout=5).json()


def test_a_web_worker_serves_the_same_history(dashboards, azurite, redis_server):
    fleet = Fleet(dashboards, azurite, redis_server.url)
    consumer = fleet.consumer()
    post(consumer, "HUGGING", text="one")
    wait_for(lambda: consumer.state()["text"] == "one", 10, "one")
    post(consumer, "SHAKING", text="two")
    wait_for(lambda: consumer.state()["text"] == "two", 10, "two")
    consumer.stop()  # saves the day; a new consumer and a new web worker read it
    consumer.start()
    worker = fleet.web()
    assert states(api_history(worker)) == states(api_history(consumer))
    assert [text for _, text in states(api_history(worker))][-2:] == ["one", "two"]

    # Changes after the worker read the blob come from its snapshot follower.
    post(worker, "SPINNING", text="three")
    wait_for(lambda: states(api_history(worker))[-1] == ("SPINNING", "three"), 10,
             "the worker's history to show the new change")
    assert api_history(worker)["spans"][:-1] == api_history(consumer)["spans"][:-1]
    assert "Traceback" not in worker.output() + consumer.output()
