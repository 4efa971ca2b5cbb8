"""What a running ``pillow-web serve`` tells anyone on the network, probed with real sockets:
public health says why in generic words (the signed-in console has the redacted detail), hosts
outside ALLOWED_HOSTS get 400 (the page, the console and ``/socket.io/``, polling or WebSocket),
and a client that sends half a request header is cut off after HEADER_TIMEOUT, while idle
WebSockets and long-polls are not.
"""

import base64
import os
import re
import socket
from time import monotonic

import gevent
import pytest
import requests

from pillow_web.app import create_app
from pillow_web.config import AZURITE_KEY, ConfigError
from pillow_web.domain.messages import compose
from pillow_web.storage.azurite import free_port

from .procs import Screen
from .util import wait_for

TOKEN = "public-details-token-2b7e"
FAKE_SIG = "c2lnbmF0dXJlLW9mLXRoaXMtdGVzdA%3D%3D"


# --- public health: a generic reason; the detail only for the signed-in operator ----------------

def dead_sas(queue_port):
    """A SAS connection string for a closed port: the error line names the account, the queue
    and the SAS's permissions and expiry (with the signature redacted)."""
    return (f"BlobEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1;"
            f"QueueEndpoint=http://127.0.0.1:{queue_port}/devstoreaccount1;"
            "SharedAccessSignature=sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup"
            f"&se=2030-01-01T00:00:00Z&sig={FAKE_SIG}")


def sign_in(dashboard):
    page = dashboard.get("/operator/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    signed_in = dashboard.http.post(f"{dashboard.url}/operator/signin", timeout=5,
                                    data={"csrf": csrf, "token": TOKEN}, allow_redirects=False)
    assert signed_in.status_code == 302


@pytest.mark.parametrize("failure", ["dead SAS", "wrong key"])
def test_public_health_says_why_in_generic_words_and_the_console_has_the_detail(
        azurite, dashboards, failure):
    queue = f"secret-queue-{os.urandom(4).hex()}"
    if failure == "dead SAS":
        connection_string = dead_sas(free_port())
        reason, detail = "storage unreachable", "Connection refused"
    else:
        connection_string = azurite.replace(AZURITE_KEY, base64.b64encode(b"k" * 64).decode())
        reason, detail = "storage refused the credentials", "AuthenticationFailed"
    dashboard = dashboards(connection_string, queue, ready=False, POLL_MAX=0.3,
                           OPERATOR_TOKEN=TOKEN)

    def degraded():
        dashboard.check_alive()
        return dashboard.health() == 503 and dashboard.get("/healthz").json()["reason"]

    wait_for(degraded, 30, "/healthz to say degraded")
    health = dashboard.get("/healthz")
    assert health.json()["status"] == "degraded" and health.json()["reason"] == reason
    assert "last_error" not in health.json()
    screen = Screen(dashboard.url)
    try:
        _, status = screen.wait("status")
    finally:
        screen.close()
    assert status["reason"] == reason and "last_error" not in status
    page = dashboard.get("/").text  # the kiosk page embeds the status too
    for public in (health.text, repr(status), page):
        for private in ("devstoreaccount1", queue, "sig=", "sp=", "se=", "Connection refused",
                        "AuthenticationFailed", FAKE_SIG):
            assert private not in public, (private, public)

    sign_in(dashboard)
    watcher = dashboard.http.get(f"{dashboard.url}/operator/data.json", timeout=15).json()
    assert watcher["watcher"]["reason"] == reason
    assert detail in watcher["watcher"]["last_error"], watcher
    if failure == "dead SAS":  # the operator sees where it failed, never the signature
        assert f"/devstoreaccount1/{queue}" in watcher["watcher"]["last_error"]
        assert "sig=***" in watcher["watcher"]["last_error"]
    assert FAKE_SIG not in repr(watcher) and FAKE_SIG not in dashboard.output()


# --- ALLOWED_HOSTS ----------------------------------------------------------------------------

def raw_request(port, request, timeout=5.0):
    """Send ``request`` on a fresh socket; return the answer's status line and the rest."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status, _, rest = answer.decode("latin-1").partition("\r\n")
    return status, rest


def upgrade(port, host, extra=""):
    """A browser's WebSocket handshake to Socket.IO, for ``host``: the status line."""
    return raw_request(port, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                             f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             f"Sec-WebSocket-Version: 13\r\n{extra}\r\n")[0]


def get(dashboard, path, host, **headers):
    return requests.get(dashboard.url + path, headers={"Host": host, **headers},
                        allow_redirects=False, timeout=5)


def test_a_host_outside_allowed_hosts_gets_400_everywhere(azurite, dashboards):
    dashboard = dashboards(azurite, None, ALLOWED_HOSTS="kiosk.example, 127.0.0.1",
                           OPERATOR_TOKEN=TOKEN)
    port = dashboard.port
    polling = "/socket.io/?EIO=4&transport=polling"
    for path in ("/", "/operator/", "/operator/data.json", "/api/state", polling,
                 "/static/js/kiosk.js"):
        refused = get(dashboard, path, "evil.example")
        assert refused.status_code == 400, (path, refused.status_code)
        assert "sid" not in refused.text and "Location" not in refused.headers
    assert upgrade(port, "evil.example").startswith("HTTP/1.1 400"), "WebSocket to evil"
    assert get(dashboard, "/", "").status_code == 400  # no Host at all

    assert get(dashboard, "/", f"kiosk.example:{port}").status_code == 200
    assert get(dashboard, "/", "KIOSK.example.").status_code == 200  # as DNS spells it too
    assert '"sid"' in get(dashboard, polling, f"127.0.0.1:{port}").text
    assert upgrade(port, f"kiosk.example:{port}").startswith("HTTP/1.1 101")
    for probe in ("/livez", "/healthz"):  # probes come by address; they say nothing private
        assert get(dashboard, probe, "evil.example").status_code == 200

    anyone = dashboards(azurite, None)  # the default: any host (see the README's warning)
    assert get(anyone, "/", "evil.example").status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_host_is_checked(azurite, dashboards):
    dashboard = dashboards(azurite, None, ALLOWED_HOSTS="kiosk.example", TRUSTED_PROXIES=1)
    port, backend = dashboard.port, f"127.0.0.1:{dashboard.port}"
    forwarded = {"X-Forwarded-Host": "kiosk.example", "X-Forwarded-Proto": "https"}
    assert get(dashboard, "/", backend, **forwarded).status_code == 200
    assert get(dashboard, "/", backend, **{"X-Forwarded-Host": "evil.example"}).status_code == 400
    assert get(dashboard, "/", backend).status_code == 400  # the proxy's own Host is not allowed
    assert upgrade(port, backend, "X-Forwarded-Host: kiosk.example\r\n").endswith(" 101 Switching"
                                                                                  " Protocols")
    assert upgrade(port, backend, "X-Forwarded-Host: evil.example\r\n").startswith("HTTP/1.1 400")


@pytest.mark.parametrize("given", ["kiosk lan", "kiosk.lan:99999", "https://kiosk.lan"])
def test_an_allowed_host_that_is_no_host_is_one_config_error(settings, given):
    with pytest.raises(ConfigError, match=r"setting ALLOWED_HOSTS: .* is not a host name"):
        create_app({**settings, "ALLOWED_HOSTS": f"kiosk.example,{given}"})


# --- a deadline on request headers ------------------------------------------------------------

def closed_within(sock, seconds):
    """Seconds from now until the server closed ``sock`` (a read gives b""), or None if it is
    still open after ``seconds``."""
    started = monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            sock.settimeout(max(0.001, started + seconds - monotonic()))
    except TimeoutError:
        return None
    return monotonic() - started


@pytest.mark.parametrize("seconds", [0, 301])
def test_a_header_timeout_out_of_range_is_one_config_error(settings, seconds):
    with pytest.raises(ConfigError, match="HEADER_TIMEOUT must be between 1 and 300"):
        create_app({**settings, "HEADER_TIMEOUT": seconds})


def test_half_a_request_header_is_cut_off_after_header_timeout(azurite, dashboards):
    dashboard = dashboards(azurite, None, HEADER_TIMEOUT=2)
    half, silent, dribble = (socket.create_connection(("127.0.0.1", dashboard.port))
                             for _ in range(3))
    half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and nothing more
    # One byte every 0.25 s: a deadline per read (a socket timeout) would never end this one.
    dribbler = gevent.spawn(lambda: [dribble.sendall(b"GET / HTTP/1.1\r\nX-Drip: "[i:i + 1])
                                     or gevent.sleep(0.25) for i in range(24)])
    watching = [gevent.spawn(closed_within, sock, 2 + 1.5) for sock in (half, silent, dribble)]
    try:
        times = [watch.get() for watch in watching]
    finally:
        dribbler.kill()
        for sock in (half, silent, dribble):
            sock.close()
    assert all(t is not None for t in times), f"still open after 3.5 s: {times}"
    assert all(1.8 <= t for t in times), times  # not before the timeout either
    assert dashboard.get("/livez").status_code == 200
    assert "Traceback" not in dashboard.output()


def test_idle_websockets_and_long_polls_outlive_the_header_timeout(azurite, dashboards,
                                                                     storage, settings):
    dashboard = dashboards(azurite, settings["QUEUE"], HEADER_TIMEOUT=1)
    screens = [Screen(dashboard.url), Screen(dashboard.url, transports=["polling"])]
    try:
        for screen in screens:
            screen.wait("state")
        # An idle connection is cut after the timeout: once it is, the screens have been idle
        # longer than that too.
        idle = socket.create_connection(("127.0.0.1", dashboard.port))
        with idle:
            assert closed_within(idle, 5) is not None
        after = monotonic()
        storage.send(compose("HUGGING", "after the idle time"))
        for screen in screens:
            screen.wait("state", lambda s: s["text"] == "after the idle time", after=after)
            assert screen.client.connected and screen.disconnected_at is None
    finally:
        for screen in screens:
            screen.close()
