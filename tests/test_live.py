"""The whole path against a real Azurite: queue -> watcher -> state -> Socket.IO and HTTP."""

import json
from datetime import UTC, datetime, timedelta

from pillow_web.app import create_app
from pillow_web.domain.messages import compose, encode
from pillow_web.web.events import socketio

from .util import Received, wait_for


def poison_records(storage):
    return [json.loads(m.content) for m in storage.poison.peek_messages(max_messages=32)]


def test_a_post_reaches_a_screen_as_a_state_event(storage, socket_client):
    received = Received(socket_client)
    assert received("state")[0]["state"] == "NOTCONNECTED"  # sent on connect
    storage.send(compose("HUGGING", "Squeeze!"))
    event = received.wait("state", lambda e: e["state"] == "HUGGING")
    assert event["text"] == "Squeeze!"
    assert event["image"] == "/static/img/hugging.svg"
    assert event["color"] == "#ffb3c7"
    assert event["at"] and event["received_at"]


def test_every_form_is_applied(storage, socket_client):
    received = Received(socket_client)
    forms = [("SPINNING", lambda: "spinning"), ("SHAKING", lambda: "('SHAKING', 0.93)"),
             ("THROWING", lambda: encode(compose("THROWING"), as_base64=True))]
    for name, content in forms:
        storage.send(content())
        received.wait("state", lambda e, name=name: e["state"] == name)


def test_an_unchanged_state_is_not_pushed_again(live_app, storage, socket_client):
    received = Received(socket_client)
    storage.send(compose("HUGGING"))
    received.wait("state", lambda e: e["state"] == "HUGGING")
    storage.send(compose("HUGGING"))
    storage.send(compose("HUGGING"))
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             message="the queue to drain")
    storage.send(compose("NEUTRAL"))
    received.wait("state", lambda e: e["state"] == "NEUTRAL")
    assert [e["state"] for e in received("state")] == ["NOTCONNECTED", "HUGGING", "NEUTRAL"]


def test_a_burst_of_100_coalesces_and_ends_on_the_last(app, storage):
    names = ["HUGGING", "PUNCHING", "SHAKING", "SPINNING", "THROWING"]
    for i in range(100):  # queued before the watcher starts, so batches are full
        storage.send(compose(names[i % 5], f"#{i}"))
    received = Received(socketio.test_client(app))
    app.extensions["pillow"].watcher.start()
    received.wait("state", lambda e: e["text"] == "#99")
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             message="the queue to drain")
    pushed = received("state")[1:]
    assert pushed[-1]["text"] == "#99"
    assert len(pushed) <= 4, f"{len(pushed)} pushes for 100 messages in batches of 32"


def test_an_older_message_never_overwrites_a_newer_state(live_app, storage, socket_client):
    received = Received(socket_client)
    now = datetime.now(UTC)
    storage.send(compose("HUGGING", at=now.isoformat()))
    received.wait("state", lambda e: e["state"] == "HUGGING")
    storage.send(compose("PUNCHING", at=(now - timedelta(seconds=30)).isoformat()))
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             message="the stale message to be consumed")
    assert live_app.extensions["pillow"].store.current.state == "HUGGING"
    assert all(e["state"] != "PUNCHING" for e in received("state"))
    assert poison_records(storage) == []  # stale is not bad: it is consumed, not poisoned


def test_bad_messages_go_to_the_poison_queue_with_a_reason(live_app, storage):
    bad = {
        "dancing": "unknown state 'DANCING'",
        '{"state": "HUGGING"': "invalid JSON",
        "[1, 2, 3]": "must be an object",
        '{"state": "HUGGING", "at": "1999-12-31T23:59:59Z"}': "before 2000",  # future: test_skew
        "(__import__('os').system('echo pwned'),)": "not a plain Python literal",
    }
    for content in bad:
        storage.send(content)
    records = wait_for(lambda: len(poison_records(storage)) == len(bad) and poison_records(storage),
                       message="every bad message in the poison queue")
    reasons = {record["content"]: record["reason"] for record in records}
    for content, reason in bad.items():
        assert reason in reasons[content]
    # Each record is sent before its original is deleted: all five seen is not an empty queue.
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             message="the poisoned originals to be deleted")
    assert live_app.extensions["pillow"].watcher.ok


def test_a_message_delivered_too_often_is_poisoned(live_app, storage):
    watcher = live_app.extensions["pillow"].watcher
    watcher.stop()
    storage.send(compose("HUGGING"))
    for _ in range(5):  # five deliveries that never got applied
        wait_for(lambda: storage.receive(visibility_timeout=1), message="a redelivery")
    watcher.start()  # again, under a new lease
    records = wait_for(lambda: poison_records(storage), message="the poisoned message")
    assert "delivered 6 times without being applied" in records[0]["reason"]
    assert live_app.extensions["pillow"].store.current.state == "NOTCONNECTED"


def test_a_new_screen_gets_the_current_state_at_once(live_app, storage, socket_client):
    received = Received(socket_client)
    storage.send(compose("SPINNING"))
    received.wait("state", lambda e: e["state"] == "SPINNING")
    late = socketio.test_client(live_app)
    first = late.get_received()
    assert [p["name"] for p in first] == ["hello", "state", "status"]
    assert first[0]["args"][0]["build"] == live_app.config["BUILD_ID"]
    assert first[1]["args"][0]["state"] == "SPINNING"
    assert first[2]["args"][0]["queue_ok"] is True
    late.disconnect()


def test_screens_cannot_change_the_state(live_app, socket_client):
    socket_client.emit("state", {"state": "HUGGING"})
    socket_client.emit("post", "HUGGING")
    assert live_app.extensions["pillow"].store.current.state == "NOTCONNECTED"


def test_the_snapshot_restores_the_state_after_a_restart(settings, live_app, storage):
    storage.send(compose("PUNCHING", "first"))
    storage.send(compose("THROWING", "second"))
    store = live_app.extensions["pillow"].store
    wait_for(lambda: store.current.text == "second" and not store.dirty, message="second applied")
    wait_for(lambda: storage.queue.get_queue_properties().approximate_message_count == 0,
             message="messages deleted")
    live_app.extensions["pillow"].watcher.stop()

    again = create_app(settings)
    pillow = again.extensions["pillow"]
    pillow.watcher.start()
    try:
        wait_for(lambda: pillow.store.current.state == "THROWING", message="snapshot loaded")
        assert [e.text for e in pillow.store.history][:2] == ["second", "first"]
        page = again.test_client().get("/")
        assert b"/static/img/throwing.svg" in page.data and b"second" in page.data
    finally:
        pillow.watcher.stop()
        pillow.storage.close()


def test_http_state_and_page(live_app, storage):
    client = live_app.test_client()
    storage.send(compose("HUGGING", "<b>hi</b>"))
    wait_for(lambda: client.get("/api/state").json["state"] == "HUGGING", message="HUGGING")
    body = client.get("/api/state").json
    assert set(body) == {"state", "text", "image", "color", "at", "received_at"}
    page = client.get("/").get_data(as_text=True)
    assert 'src="/static/img/hugging.svg"' in page
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page
    assert "/static/vendor/socket.io.min.js" in page and "//cdn" not in page


def test_healthz_is_ok_while_the_queue_answers(live_app):
    response = live_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["last_poll"]
