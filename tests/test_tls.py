"""HTTPS served directly by ``pillow-web serve`` (TLS_CERT / TLS_KEY): the kiosk page with HSTS, a
Secure session cookie, Socket.IO over wss://, and plain HTTP on that port refused; HSTS never over
plain HTTP; SECURE_COOKIES; and one ``Error:`` line for a certificate or key that cannot be used.
"""

import re
import subprocess

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pillow_web.app import create_app
from pillow_web.config import ROOT, ConfigError
from pillow_web.web.tls import server_context

from .identity import make_certificate
from .procs import PYTHON, START_TIMEOUT, Dashboard, Screen

TOKEN = "tls-token-6f1d0a"
HSTS = "Strict-Transport-Security"


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1: (certificate path, key path)."""
    folder = tmp_path / "tls"
    folder.mkdir()
    return make_certificate(folder)


def sign_in(http, url, **headers):
    """Sign in to the console through ``http``; return the sign-in answer (a 302)."""
    page = http.get(f"{url}/operator/", headers=headers, timeout=5)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return http.post(f"{url}/operator/signin", data={"csrf": csrf, "token": TOKEN},
                     headers=headers, allow_redirects=False, timeout=5)


def test_served_over_https_with_hsts_a_secure_cookie_and_wss(azurite, dashboards, certificate):
    cert, key = certificate
    dashboard = dashboards(azurite, None, TLS_CERT=cert, TLS_KEY=key, OPERATOR_TOKEN=TOKEN)
    assert dashboard.url.startswith("https://")

    page = dashboard.get("/")
    assert page.status_code == 200 and "/static/img/" in page.text
    assert page.headers[HSTS] == "max-age=31536000"
    assert dashboard.get("/healthz").headers[HSTS] == "max-age=31536000"

    signed_in = sign_in(dashboard.http, dashboard.url)
    assert signed_in.status_code == 302
    assert "; Secure" in signed_in.headers["Set-Cookie"], signed_in.headers["Set-Cookie"]
    assert dashboard.http.get(f"{dashboard.url}/operator/data.json", timeout=5).status_code == 200

    trusting = requests.Session()
    trusting.verify = str(cert)  # the test's CA: wss:// is verified, not waved through
    trusting.trust_env = False  # else REQUESTS_CA_BUNDLE wins over ``verify``
    screen = Screen(dashboard.url, http_session=trusting)
    try:
        assert screen.client.transport() == "websocket"
        screen.wait("state", lambda state: state["state"])
        screen.wait("status", lambda status: status["queue_ok"] is True)
    finally:
        screen.close()
    assert "serving on https://127.0.0.1:" in dashboard.output()


def test_plain_http_to_the_https_port_gets_nothing_but_a_hint(azurite, dashboards,
                                                               certificate):
    cert, key = certificate
    dashboard = dashboards(azurite, None, TLS_CERT=cert, TLS_KEY=key)
    plain = requests.get(f"http://127.0.0.1:{dashboard.port}/api/state", timeout=5)
    assert plain.status_code == 400 and plain.text == "This port speaks HTTPS: use https://.\n"
    with pytest.raises(requests.exceptions.SSLError):  # nor does an untrusted client get in
        requests.get(f"{dashboard.url}/", timeout=5, verify=True)
    assert dashboard.get("/api/state").status_code == 200  # and the server serves on
    assert "Traceback" not in dashboard.output()


def test_hsts_when_a_trusted_proxy_says_https_and_never_over_plain_http(settings):
    app = create_app({**settings, "TRUSTED_PROXIES": 1})
    client = app.test_client()
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.headers[HSTS] == "max-age=31536000"
    for headers in ({}, {"X-Forwarded-Proto": "http"}):
        assert HSTS not in client.get("/healthz", headers=headers).headers
    app.extensions["pillow"].storage.close()


def test_secure_cookies_forces_a_secure_session_cookie(settings):
    """TLS ended by a proxy that sends no X-Forwarded-Proto: the app sees http."""
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "SECURE_COOKIES": True})
    client = app.test_client()
    page = client.get("/operator/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/operator/signin", data={"csrf": csrf, "token": TOKEN})
    assert response.status_code == 302 and "; Secure" in response.headers["Set-Cookie"]
    app.extensions["pillow"].storage.close()


def other_key(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    path = folder / "other.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"secret")))
    return key, path


def unusable(certificate, tmp_path):
    """(settings, what the one line must say) for each way a certificate or key is unusable."""
    cert, key = certificate
    _, encrypted = other_key(tmp_path)
    (tmp_path / "second").mkdir()
    _, second_key = make_certificate(tmp_path / "second")
    return [
        ({"TLS_CERT": str(cert)}, "TLS_CERT and TLS_KEY go together"),
        ({"TLS_CERT": str(tmp_path / "none.pem"), "TLS_KEY": str(key)},
         "setting TLS_CERT: cannot read"),
        ({"TLS_CERT": str(key), "TLS_KEY": str(key)}, "holds no PEM certificate"),
        ({"TLS_CERT": str(cert), "TLS_KEY": str(cert)}, "holds no PEM private key"),
        ({"TLS_CERT": str(cert), "TLS_KEY": str(encrypted)}, "the key is encrypted"),
        ({"TLS_CERT": str(cert), "TLS_KEY": str(second_key)}, "do not match"),
    ]


def test_every_unusable_certificate_or_key_is_one_clear_error(certificate, tmp_path):
    for given, expected in unusable(certificate, tmp_path):
        settings = {"TLS_CERT": "", "TLS_KEY": "", **given}
        with pytest.raises(ConfigError, match=expected):
            server_context(settings)


def test_serve_with_a_mismatched_key_stops_with_one_line(azurite, certificate, tmp_path):
    cert, _ = certificate
    (tmp_path / "second").mkdir()
    _, second_key = make_certificate(tmp_path / "second")
    dashboard = Dashboard(azurite, tmp_path / "serve.log", TLS_CERT=cert, TLS_KEY=second_key)
    command = [str(PYTHON), "-m", "pillow_web", "serve", "--port", str(dashboard.port)]
    done = subprocess.run(command, cwd=ROOT, env=dashboard.env, capture_output=True, text=True,
                          timeout=START_TIMEOUT)
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 1 and len(lines) == 1, lines
    assert lines[0] == (f"Error: settings TLS_CERT and TLS_KEY do not match: {second_key} is "
                        f"not the key of {cert}"), lines
