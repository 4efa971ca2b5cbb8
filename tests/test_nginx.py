"""deploy/nginx.conf as the nginx_proxy fixture runs it: accepted by nginx, filled in as docker
does, and in front of small echo servers and of two real ``pillow-web serve`` workers."""

import http.client
import json
import subprocess
from urllib.parse import urlsplit

import pytest
import requests
import websocket
from gevent.pywsgi import WSGIServer

from .nginx import TEMPLATE, Nginx, render_site
from .procs import START_TIMEOUT, Dashboard, Screen
from .services import find


def test_the_template_renders_to_a_configuration_nginx_accepts(tmp_path):
    code, said = Nginx(tmp_path, ["127.0.0.1:5000", "localhost:5001"]).check()
    assert code == 0, said
    assert "test is successful" in said


def test_nginx_refuses_it_without_a_worker(tmp_path):
    code, said = Nginx(tmp_path, []).check()
    assert code != 0 and "no servers are inside upstream" in said


def test_docker_and_the_tests_fill_the_template_in_alike():
    # As the nginx image's entrypoint does: envsubst over every variable the container has.
    env = {"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": "/root", "HOSTNAME": "f00d",
           "NGINX_VERSION": "1.27.0", "NGINX_LISTEN": "80",
           "NGINX_UPSTREAMS": "server web1:5000; server web2:5000;"}
    docker = subprocess.run([find("envsubst"), " ".join(f"${{{name}}}" for name in env)],
                            input=TEMPLATE.read_text(), env=env, capture_output=True, text=True,
                            check=True, timeout=10).stdout
    assert docker == render_site("80", ["web1:5000", "web2:5000"])
    assert "${" not in docker and "$http_upgrade" in docker


# In front of echo servers: what the app receives


def echo(name):
    """A WSGI app that answers with its ``name`` and the path and headers it received."""
    def app(environ, start_response):
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        body = json.dumps({"upstream": name, "path": environ["PATH_INFO"],
                           "query": environ["QUERY_STRING"], "headers": headers}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app


@pytest.fixture
def echoes():
    """Two echo servers, "a" and "b": ``{"127.0.0.1:port": name}``."""
    servers = {name: WSGIServer(("127.0.0.1", 0), echo(name), log=None) for name in "ab"}
    for server in servers.values():
        server.start()
    yield {f"127.0.0.1:{server.server_port}": name for name, server in servers.items()}
    for server in servers.values():
        server.stop()


def fetch(url, source="127.0.0.1", headers=None):
    """GET ``url`` on a new connection from the loopback address ``source``:
    (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5,
                                            source_address=(source, 0))
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_nginx_forwards_the_client_address_scheme_and_host_and_nothing_made_up(
        nginx_proxy, echoes):
    url = nginx_proxy(list(echoes))
    made_up = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "elsewhere.example",
               "X-Forwarded-Port": "1", "X-Forwarded-Prefix": "/elsewhere"}
    status, _, body = fetch(f"{url}/api/state?x=1", source="127.0.0.7", headers=made_up)
    seen = json.loads(body)
    assert (status, seen["path"], seen["query"]) == (200, "/api/state", "x=1")
    headers = seen["headers"]
    # The proxy appends the address it saw (the app trusts just that one hop).
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.7"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["host"] == headers["x-forwarded-host"] == urlsplit(url).netloc  # with port
    assert "x-forwarded-port" not in headers and "x-forwarded-prefix" not in headers


def test_under_the_prefix_the_app_gets_its_own_paths_and_the_prefix_apart(nginx_proxy, echoes):
    url = nginx_proxy(list(echoes), prefix="/pillow")
    assert url.endswith("/pillow")
    for path, reached in [("/static/css/kiosk.css?v=2", "/static/css/kiosk.css"),
                          ("/socket.io/?EIO=4&transport=polling", "/socket.io/"),
                          ("/", "/")]:
        status, _, body = fetch(url + path)
        seen = json.loads(body)
        assert (status, seen["path"]) == (200, reached)
        assert seen["headers"]["x-forwarded-prefix"] == "/pillow"
    status, headers, _ = fetch(url)
    assert (status, headers["Location"]) == (301, "/pillow/")


def test_nginx_keeps_each_client_address_on_one_worker(nginx_proxy, echoes):
    url = nginx_proxy(list(echoes))
    reached = {}
    for subnet in range(1, 17):  # ip_hash keys IPv4 clients by their /24
        source = f"127.0.{subnet}.1"
        answers = {json.loads(fetch(url, source=source)[2])["upstream"] for _ in range(4)}
        assert len(answers) == 1, f"{source} reached {answers}"
        reached[source] = answers.pop()
    assert set(reached.values()) == {"a", "b"}  # by address: not all on one worker


# In front of two real web workers


@pytest.fixture(scope="module")
def workers(azurite, tmp_path_factory):
    """Two ``pillow-web serve`` (each on its own queue), trusting one proxy: "host:port" each."""
    folder = tmp_path_factory.mktemp("workers")
    started = [Dashboard(azurite, folder / f"serve-{number}.log", TRUSTED_PROXIES=1)
               for number in (1, 2)]
    try:
        for worker in started:
            worker.start(ready=False)
        for worker in started:
            worker.wait_healthy(START_TIMEOUT)
        yield [worker.url.removeprefix("http://") for worker in started]
    finally:
        for worker in started:
            worker.close()


def open_engine_io(url, path, origin):
    """The first message of an Engine.IO WebSocket opened at ``url + path``."""
    connection = websocket.create_connection(
        url.replace("http", "ws", 1) + path + "?EIO=4&transport=websocket", timeout=5,
        origin=origin)
    try:
        return connection.recv()
    finally:
        connection.close()
        connection.shutdown()  # close() leaves the socket open once the server has closed it


def test_a_websocket_opens_through_nginx_at_the_root_and_under_the_prefix(nginx_proxy, workers):
    url = nginx_proxy(workers)
    for path in ("/socket.io/", "/pillow/socket.io/"):
        assert open_engine_io(url, path, origin=url).startswith('0{"sid":')
    # The app's same-origin rule still holds: it sees the host the browser used, port included.
    # (gevent-websocket answers 101 before the app runs: the app's refusal is an empty close.)
    assert open_engine_io(url, "/socket.io/", origin="http://elsewhere.example") == ""


def test_a_polling_screen_stays_on_the_worker_that_knows_its_session(nginx_proxy, workers):
    screen = Screen(nginx_proxy(workers), transports=("polling",))
    try:
        screen.wait("hello")
        assert screen.client.connected
    finally:
        screen.close()


def test_the_app_answers_under_the_prefix(nginx_proxy, workers):
    url = nginx_proxy(workers, prefix="/pillow")
    with requests.Session() as http:
        alive = http.get(f"{url}/livez", timeout=5)
        assert (alive.status_code, alive.json()["status"]) == (200, "alive")
        assert http.get(f"{url}/healthz", timeout=5).status_code == 200
        assert http.get(f"{url}/", timeout=5).status_code == 200
