"""The operator write API: disabled without a token, guarded by it, throttled, capped, and a
post that goes through the queue still changes the screens at once."""

import json
from time import monotonic

import pytest

from pillow_web.app import create_app
from pillow_web.web import security
from pillow_web.web.security import Throttle

from .util import Received, wait_for

TOKEN = "op-token-4d1c8e0b7a"


@pytest.fixture
def settings(settings):
    return {**settings, "OPERATOR_TOKEN": TOKEN}


def auth(token=TOKEN, scheme="Bearer"):
    return {"Authorization": f"{scheme} {token}"}


def post(client, body=None, headers=None, addr="127.0.0.1", **kwargs):
    if body is not None and "data" not in kwargs:
        kwargs["json"] = body
    return client.post("/api/state", headers=headers if headers is not None else auth(),
                       environ_base={"REMOTE_ADDR": addr}, **kwargs)


def test_without_a_token_the_write_api_is_disabled(settings, storage):
    app = create_app({**settings, "OPERATOR_TOKEN": ""})
    try:
        client = app.test_client()
        for headers in ({}, auth(""), auth("anything")):
            response = post(client, {"state": "HUGGING"}, headers)
            assert response.status_code == 403
            assert "set PILLOW_OPERATOR_TOKEN to enable it" in response.json["error"]
        assert client.post("/api/reload", headers=auth("")).status_code == 403
        assert storage.queue.peek_messages() == []
    finally:
        app.extensions["pillow"].storage.close()


@pytest.mark.parametrize("headers", [
    {}, auth("wrong"), auth(TOKEN[:-1]), auth(TOKEN + "x"), auth(TOKEN, "Basic"),
    {"Authorization": TOKEN}, auth(TOKEN.upper()), auth(""),
], ids=["missing", "wrong", "prefix", "longer", "basic", "no-scheme", "case", "empty"])
def test_a_bad_or_missing_token_is_401(client, storage, headers):
    response = post(client, {"state": "HUGGING"}, headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert TOKEN not in response.get_data(as_text=True)
    assert storage.queue.peek_messages() == []


def test_the_token_is_compared_in_constant_time(client, storage, monkeypatch):
    calls = []
    real = security.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    assert post(client, {"state": "HUGGING"}, auth("guess")).status_code == 401
    assert post(client, {"state": "HUGGING"}).status_code == 202
    assert calls == [(TOKEN.encode(), b"guess"), (TOKEN.encode(), TOKEN.encode())]


def test_repeated_bad_tokens_are_throttled_per_client(client, storage):
    for _ in range(5):
        assert post(client, {"state": "HUGGING"}, auth("guess"), "10.0.0.1").status_code == 401
    refused = post(client, {"state": "HUGGING"}, auth(), "10.0.0.1")  # even the right token
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "try again" in refused.json["error"]
    assert post(client, {"state": "HUGGING"}, auth(), "10.0.0.2").status_code == 202


def test_the_throttle_forgets_after_its_window():
    # A window long enough that a stalled machine cannot let it pass between the two checks.
    throttle = Throttle(limit=2, window=2.0)
    throttle.failed("a")
    assert throttle.retry_after("a") == 0
    throttle.failed("a")
    assert throttle.retry_after("a") >= 1 and throttle.retry_after("b") == 0
    wait_for(lambda: throttle.retry_after("a") == 0, timeout=10, message="the window to pass")


def test_the_throttle_is_bounded():
    throttle = Throttle(limit=1, max_clients=3)
    for client in "abcd":
        throttle.failed(client)
    assert throttle.retry_after("a") == 0 and throttle.retry_after("d") >= 1


def test_a_big_body_is_413(client, storage):
    padding = "x" * 2100
    assert post(client, {"state": "HUGGING", "pad": padding}).status_code == 413
    assert post(client, data="x" * 20_000, content_type="application/json").status_code == 413
    assert storage.queue.peek_messages() == []


@pytest.mark.parametrize("data, content_type", [
    ("[]", "application/json"), ('"HUGGING"', "application/json"), ("null", "application/json"),
    ("{not json", "application/json"), ('{"state": "HUGGING"}', "text/plain"), ("", None),
])
def test_a_body_that_is_not_a_json_object_is_400(client, data, content_type):
    response = post(client, data=data, content_type=content_type)
    assert response.status_code == 400
    assert "JSON object" in response.json["error"]


@pytest.mark.parametrize("body, reason", [
    ({"state": "DANCING"}, "unknown state 'DANCING'"),
    ({"state": "../etc/passwd"}, "not a state name"),
    ({}, "state must be a string"),
    ({"state": 3}, "state must be a string"),
    ({"state": "HUGGING", "text": "x" * 201}, "limit is 200"),
    ({"state": "HUGGING", "text": "a\u0000b"}, "control characters"),
    ({"state": "HUGGING", "text": "\ud800"}, "lone surrogate"),
    ({"state": "HUGGING", "at": "1999-01-01T00:00:00Z"}, "before 2000"),
])
def test_an_unusable_message_is_422_with_the_known_states(app, client, storage, body, reason):
    response = post(client, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    assert reason in response.json["error"]
    assert response.json["known_states"] == app.extensions["pillow"].catalog.names
    assert storage.queue.peek_messages() == []


def test_a_good_post_is_queued_as_a_message(client, storage):
    response = post(client, {"state": " hugging ", "text": "From the desk"})
    assert response.status_code == 202
    assert response.json["state"] == "HUGGING"
    [queued] = storage.queue.peek_messages()
    assert queued.id == response.json["queued"]
    body = json.loads(queued.content)
    assert body["state"].upper() == "HUGGING" and body["text"] == "From the desk" and body["at"]


def test_a_post_wakes_the_watcher_so_screens_change_at_once(settings):
    """With a 10 s poll (9.5 s at the least, with jitter), only the wake can make the change
    arrive within 4 s: a deadline generous for a busy machine that still proves the wake."""
    app = create_app({**settings, "POLL_MIN": 10.0, "POLL_MAX": 10.0})
    pillow = app.extensions["pillow"]
    pillow.watcher.start()
    try:
        wait_for(lambda: pillow.watcher.ok, message="the first poll")  # next one is ~10 s away
        started = monotonic()
        response = post(app.test_client(), {"state": "SPINNING"})
        assert response.status_code == 202
        wait_for(lambda: pillow.store.current.state == "SPINNING", timeout=4,
                 message="the posted state on screen")
        assert monotonic() - started < 4
        assert response.json["queued"] in pillow.store.applied_ids  # it went through the queue
    finally:
        pillow.watcher.stop()
        pillow.storage.close()


def test_reload_needs_the_token_and_reaches_screens(live_app, socket_client):
    client = live_app.test_client()
    assert client.post("/api/reload").status_code == 401
    assert client.post("/api/reload", headers=auth("wrong")).status_code == 401
    received = Received(socket_client)
    assert received("reload") == []
    response = client.post("/api/reload", headers=auth())
    assert response.status_code == 202 and response.json["screens"] == 1
    wait_for(lambda: received("reload") == [{}], message="the reload event")
