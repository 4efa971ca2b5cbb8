"""The operator console over HTTP: sign-in, CSRF, sign-out, throttle, posting via the queue."""

import json
import re

from pillow_web.app import create_app
from pillow_web.web.events import socketio

from .conftest import OPERATOR_TOKEN

TOKEN = OPERATOR_TOKEN  # the token of the console_app fixture (conftest)


def csrf_of(response):
    match = re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client, token=TOKEN):
    csrf = csrf_of(client.get("/operator/"))
    return client.post("/operator/signin", data={"csrf": csrf, "token": token})


def signed_in(client):
    return client.get("/operator/data.json").status_code == 200


def queued(app):
    peeked = app.extensions["pillow"].storage.queue.peek_messages(max_messages=32)
    return [json.loads(message.content) for message in peeked]


def test_the_console_is_disabled_without_a_token(settings):
    app = create_app(settings)
    response = app.test_client().get("/operator/")
    assert response.status_code == 403
    assert "PILLOW_OPERATOR_TOKEN" in response.get_data(as_text=True)
    app.extensions["pillow"].storage.close()


def test_sign_in_shows_the_console_and_sign_out_ends_it(browser):
    page = browser.get("/operator/")
    assert page.status_code == 200 and 'name="token"' in page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert not signed_in(browser)
    response = sign_in(browser)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    console = browser.get("/operator/").get_data(as_text=True)
    assert 'value="HUGGING"' in console and "Reload all screens" in console
    data = browser.get("/operator/data.json").json
    assert set(data) == {"current", "history", "queue_depth", "poison_count", "watcher", "screens",
                         "screen_list", "timeline", "oldest_age", "warnings"}
    assert data["queue_depth"] == 0 and data["poison_count"] == 0
    response = browser.post("/operator/signout", data={"csrf": csrf_of(browser.get("/operator/"))})
    assert response.status_code == 302 and not signed_in(browser)


def test_a_wrong_token_is_refused(browser):
    response = sign_in(browser, "not-it")
    assert response.status_code == 401 and "not the operator token" in response.text
    assert not signed_in(browser)


def test_forms_without_the_sessions_csrf_token_are_refused(console_app, browser):
    assert browser.post("/operator/signin", data={"token": TOKEN}).status_code == 400
    assert browser.post("/operator/signin", data={"csrf": "forged", "token": TOKEN}).status_code \
        == 400
    assert not signed_in(browser)
    sign_in(browser)
    assert browser.post("/operator/state", data={"state": "HUGGING"}).status_code == 400
    assert browser.post("/operator/signout", data={"csrf": "forged"}).status_code == 400
    assert signed_in(browser) and queued(console_app) == []


def test_a_posted_state_goes_through_the_queue(console_app, browser):
    sign_in(browser)
    csrf = csrf_of(browser.get("/operator/"))
    response = browser.post("/operator/state", data={"csrf": csrf, "state": "hugging",
                                                    "text": "Hi <b>there</b>"},
                            headers={"Accept": "application/json"})
    assert response.status_code == 202 and response.json["queued"]
    [message] = queued(console_app)
    assert message["state"].upper() == "HUGGING" and message["text"] == "Hi <b>there</b>"
    refused = browser.post("/operator/state", data={"csrf": csrf, "state": "DANCING"},
                           headers={"Accept": "application/json"})
    assert refused.status_code == 422 and "DANCING" in refused.json["message"]
    plain = browser.post("/operator/state", data={"csrf": csrf, "state": "NEUTRAL"})
    assert plain.status_code == 302  # a form without the script: back to the console
    assert "Queued NEUTRAL" in browser.get("/operator/").get_data(as_text=True)
    assert len(queued(console_app)) == 2


def test_posting_needs_a_signed_in_session(console_app, browser):
    csrf = csrf_of(browser.get("/operator/"))
    response = browser.post("/operator/state", data={"csrf": csrf, "state": "HUGGING"},
                            headers={"Accept": "application/json"})
    assert response.status_code == 401 and queued(console_app) == []


def test_failed_sign_ins_are_throttled(browser):
    for _ in range(5):
        assert sign_in(browser, "guess").status_code == 401
    response = sign_in(browser)  # even the right token waits now
    assert response.status_code == 429 and "try again in" in response.text
    assert not signed_in(browser)


def test_changing_the_token_signs_everyone_out(console_app, browser):
    sign_in(browser)
    assert signed_in(browser)
    console_app.config["OPERATOR_TOKEN"] = "a-new-token"
    assert not signed_in(browser)


def test_reload_reaches_every_screen(console_app, browser):
    screen = socketio.test_client(console_app)
    screen.get_received()
    sign_in(browser)
    csrf = csrf_of(browser.get("/operator/"))
    response = browser.post("/operator/reload", data={"csrf": csrf},
                            headers={"Accept": "application/json"})
    assert response.status_code == 202 and "1 screen" in response.json["message"]
    assert [packet["name"] for packet in screen.get_received()] == ["reload"]
    screen.disconnect()
