"""Behind a reverse proxy: the token brake counts real clients (from X-Forwarded-For, only as many
hops as TRUSTED_PROXIES says), and the session cookie is Secure when the client used HTTPS."""

import re

import pytest

from pillow_web.app import create_app
from pillow_web.config import ConfigError

TOKEN = "proxy-token-5c2e77"
PROXY = "10.9.9.9"  # every request reaches the app from the proxy's address


@pytest.fixture
def make_client(settings):
    apps = []

    def make(hops):
        app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "TRUSTED_PROXIES": hops})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["pillow"].storage.close()


def post(client, token, forwarded_for=None):
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post("/api/state", json={"state": "dancing"}, headers=headers,
                       environ_base={"REMOTE_ADDR": PROXY}).status_code


def test_behind_a_trusted_proxy_a_guesser_does_not_lock_out_the_operator(make_client):
    client = make_client(1)
    assert [post(client, "wrong", "203.0.113.7") for _ in range(5)] == [401] * 5
    assert post(client, "wrong", "203.0.113.7") == 429  # the guesser is braked...
    assert post(client, TOKEN, "198.51.100.20") == 422  # ...the operator is not (dancing: 422)


def test_a_client_cannot_dodge_the_brake_by_sending_its_own_forwarded_for(make_client):
    client = make_client(1)
    # The proxy appends the address it saw; whatever the client put first is not believed.
    for fake in range(5):
        assert post(client, "wrong", f"192.0.2.{fake}, 203.0.113.7") == 401
    assert post(client, "wrong", "192.0.2.99, 203.0.113.7") == 429


def test_without_trusted_proxies_forwarded_headers_are_ignored(make_client):
    client = make_client(0)
    for fake in range(5):
        assert post(client, "wrong", f"192.0.2.{fake}") == 401
    assert post(client, "wrong", "192.0.2.200") == 429  # all one client: the proxy's address


def signin_cookie(client, **headers):
    page = client.get("/operator/", headers=headers, environ_base={"REMOTE_ADDR": PROXY})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/operator/signin", data={"csrf": csrf, "token": TOKEN},
                           headers=headers, environ_base={"REMOTE_ADDR": PROXY})
    assert response.status_code == 302
    return response.headers["Set-Cookie"], response.headers["Location"]


def test_the_session_cookie_is_secure_when_the_client_used_https(make_client):
    cookie, location = signin_cookie(make_client(1), **{"X-Forwarded-Proto": "https",
                                                        "X-Forwarded-Host": "kiosk.example"})
    assert "; Secure" in cookie and "HttpOnly" in cookie
    assert location in ("/operator/", "https://kiosk.example/operator/")


@pytest.mark.parametrize("hops", [0, 1])
def test_the_session_cookie_is_not_secure_over_plain_http(make_client, hops):
    # Over plain HTTP a Secure cookie would never come back: sign-in would silently fail.
    cookie, _ = signin_cookie(make_client(hops), **{"X-Forwarded-Proto": "http"})
    assert "; Secure" not in cookie


def test_a_forwarded_https_is_not_believed_without_trusted_proxies(make_client):
    cookie, _ = signin_cookie(make_client(0), **{"X-Forwarded-Proto": "https"})
    assert "; Secure" not in cookie


@pytest.mark.parametrize("hops", [-1, 6])
def test_trusted_proxies_out_of_range_is_a_config_error(settings, hops):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        create_app({**settings, "TRUSTED_PROXIES": hops})
