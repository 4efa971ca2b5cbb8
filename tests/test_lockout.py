"""Nobody locks out the operator, and a sign-out ends the session whatever cookies were copied.

Each test replays an attack against a real ``pillow-web serve`` (real sockets, real Azurite) and
fails on the code before the fix.
"""

import re

import pytest
import requests

from pillow_web.config import ConfigError

TOKEN = "lockout-token-0f3a9c2e71"


@pytest.fixture
def dashboard(dashboards, azurite):
    return dashboards(azurite, None, OPERATOR_TOKEN=TOKEN)


def api_post(dashboard, headers=None):
    return requests.post(f"{dashboard.url}/api/state", json={"state": "HUGGING"},
                         headers=headers or {}, timeout=5).status_code


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_requests_without_a_token_do_not_lock_out_the_operator(dashboard):
    # Any web page the operator visits can make the browser send these (no header needed).
    assert [api_post(dashboard) for _ in range(10)] == [401] * 10
    assert api_post(dashboard, bearer(TOKEN)) == 202


def test_wrong_tokens_are_still_braked_per_client(dashboard):
    assert [api_post(dashboard, bearer("guess")) for _ in range(5)] == [401] * 5
    assert api_post(dashboard, bearer("guess")) == 429


def test_guessing_from_many_addresses_is_braked_and_the_operator_still_gets_in(settings):
    from pillow_web.app import create_app

    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN})
    app.extensions["pillow"].storage.ensure()
    try:
        client = app.test_client()

        def post(token, addr):
            return client.post("/api/state", json={"state": "HUGGING"}, headers=bearer(token),
                               environ_base={"REMOTE_ADDR": addr}).status_code

        # 100 wrong guesses from 20 addresses: once past the global limit, each address gets one.
        statuses = [post("guess", f"10.1.0.{i % 20}") for i in range(100)]
        assert statuses.count(401) <= 25 and statuses.count(429) >= 75
        assert post(TOKEN, "10.2.0.1") == 202  # the operator, from an address of its own
    finally:
        app.extensions["pillow"].storage.close()


def sign_in(dashboard, session):
    page = session.get(f"{dashboard.url}/operator/", timeout=5)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{dashboard.url}/operator/signin",
                            data={"csrf": csrf, "token": TOKEN}, timeout=5,
                            allow_redirects=False)
    assert response.status_code == 302
    return session.get(f"{dashboard.url}/operator/", timeout=5)


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(dashboard):
    operator = requests.Session()
    console = sign_in(dashboard, operator)
    saved = operator.cookies.get_dict()  # what an attacker copied off the machine
    assert operator.get(f"{dashboard.url}/operator/data.json", timeout=5).status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', console.text).group(1)
    operator.post(f"{dashboard.url}/operator/signout", data={"csrf": csrf}, timeout=5)

    thief = requests.Session()
    thief.cookies.update(saved)
    assert thief.get(f"{dashboard.url}/operator/data.json", timeout=5).status_code == 401
    posted = thief.post(f"{dashboard.url}/operator/state", timeout=5,
                        data={"csrf": csrf, "state": "HUGGING"},
                        headers={"Accept": "application/json"})
    assert posted.status_code == 401


def test_the_cookie_holds_no_token_material_and_expires(dashboard):
    from itsdangerous import URLSafeTimedSerializer

    operator = requests.Session()
    sign_in(dashboard, operator)
    cookie = next(c for c in operator.cookies if c.name == "session")
    assert cookie.expires is not None  # a lifetime, not 31 days of Flask's default
    payload = URLSafeTimedSerializer("unused").loads_unsafe(cookie.value)[1]
    import hashlib

    for digest in (hashlib.sha256(f"pillow-operator:{TOKEN}".encode()).hexdigest()[:32],
                   hashlib.sha256(TOKEN.encode()).hexdigest(), TOKEN):
        assert digest not in str(payload)


def test_operator_pages_are_not_cached(dashboard):
    operator = requests.Session()
    console = sign_in(dashboard, operator)
    assert console.headers["Cache-Control"] == "no-store"
    data = operator.get(f"{dashboard.url}/operator/data.json", timeout=5)
    assert data.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("key", ["k", "short-key-of-31-characters-xxxx"])
def test_a_weak_secret_key_is_refused_outside_the_demo(settings, key):
    from pillow_web.app import create_app

    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32 characters"):
        create_app({**settings, "SECRET_KEY": key})


def test_deeply_nested_json_is_a_clear_400_not_a_500(dashboard):
    body = "[" * 1020 + "]" * 1020
    response = requests.post(f"{dashboard.url}/api/state", data=body, timeout=5,
                             headers={**bearer(TOKEN), "Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON object" in response.json()["error"]
