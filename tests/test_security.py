"""Hardening: headers on every response, no inline code in templates, same-origin sockets, a
required secret key, secrets kept out of logs, errors and /healthz, images only from the catalog."""

import base64
import logging
from html.parser import HTMLParser

import pytest

from pillow_web.app import create_app
from pillow_web.cli import cli
from pillow_web.config import ROOT, ConfigError
from pillow_web.domain.messages import compose
from pillow_web.storage.account import redact
from pillow_web.storage.azurite import free_port

from .util import wait_for

TOKEN = "tok-3f9a1c-never-in-a-log"
FAKE_KEY = base64.b64encode(b"pillow-web fake account key: must never appear").decode()
FAKE_SIG = "FakeSig0123%2Bnever%3D"


def dead_connection_string(secret="key"):
    """An account on a closed local port, with a recognisable key or SAS signature."""
    port = free_port()
    credential = (f"AccountKey={FAKE_KEY}" if secret == "key" else
                  f"SharedAccessSignature=sv=2022-11-02&ss=bq&srt=sco&sp=rwdlacup&sig={FAKE_SIG}")
    return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;{credential};"
            f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
            f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")


def secrets_in(text):
    return [s for s in (FAKE_KEY, FAKE_SIG, TOKEN, FAKE_KEY[:20]) if s in text]


# --- headers ---------------------------------------------------------------------------------

def check_headers(response):
    response.close()  # static files are streamed from an open file
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_page_has_the_security_headers(app, client):
    pages = [rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments]
    assert {"/", "/api/state", "/healthz"} <= set(pages)
    for page in pages:
        check_headers(client.get(page))
    for response in (client.get("/static/js/kiosk.js"), client.get("/static/img/hugging.svg"),
                     client.get("/no-such-page"), client.get("/static/no-such.js"),
                     client.put("/"), client.post("/api/state", json={"state": "HUGGING"}),
                     client.post("/api/state", data="x" * 20_000)):
        check_headers(response)
    assert client.get("/no-such-page").status_code == 404


class Inline(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, handlers, styles."""

    def __init__(self):
        super().__init__()
        self.found, self.scripts, self._in = [], 0, None

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        self.found += [f"<{tag} {name}=>" for name in names
                       if name.startswith("on") or name == "style"]
        self.found += [f"<{tag}> javascript: url" for value in names.values()
                       if value and value.strip().lower().startswith("javascript:")]
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script":
            self.scripts += 1
            if not names.get("src"):
                self.found.append("<script> without src")
        self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script" and data.strip():
            self.found.append(f"inline script body {data.strip()[:30]!r}")


def inline_code(html):
    parser = Inline()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("template", sorted((ROOT / "templates").glob("*.html")),
                         ids=lambda path: path.name)
def test_templates_have_no_inline_code(template):
    assert inline_code(template.read_text(encoding="utf-8")).found == []


def test_the_rendered_page_has_no_inline_code(client):
    parser = inline_code(client.get("/").get_data(as_text=True))
    assert parser.found == [] and parser.scripts == 3  # socket.io, screen.js, kiosk.js


def test_the_checker_catches_inline_code():
    html = ('<script>alert(1)</script><a onclick="x()" href="javascript:x()">'
            '<p style="color:red"></p><style>p{}</style>')
    assert len(inline_code(html).found) == 6


# --- Socket.IO origins -----------------------------------------------------------------------

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def handshake(client, origin):
    return client.get(HANDSHAKE, headers={"Origin": origin} if origin else {})


def test_a_socket_from_another_origin_is_refused_by_default(client):
    assert handshake(client, "https://evil.example").status_code == 400
    assert b"Not an accepted origin" in handshake(client, "https://evil.example").data
    assert handshake(client, "http://localhost").status_code == 200  # our own page
    assert handshake(client, None).status_code == 200  # not a browser


def test_listed_origins_are_allowed_and_our_own_page_still_is(settings):
    app = create_app({**settings, "CORS_ORIGINS": "https://ops.example, https://wall.example"})
    try:
        client = app.test_client()
        for origin in ("https://ops.example", "https://wall.example", "http://localhost"):
            response = handshake(client, origin)
            assert response.status_code == 200, origin
        assert handshake(client, "https://evil.example").status_code == 400
        assert handshake(client, "https://ops.example.evil.example").status_code == 400
    finally:
        app.extensions["pillow"].storage.close()


# --- secret key ------------------------------------------------------------------------------

@pytest.fixture
def production(settings, monkeypatch):
    """Settings as outside tests: no TESTING, and no PILLOW_* from the environment."""
    for key in [key for key in __import__("os").environ if key.startswith("PILLOW_")]:
        monkeypatch.delenv(key)
    return {key: value for key, value in settings.items() if key != "TESTING"}


def test_a_secret_key_is_required_outside_the_demo(production, monkeypatch):
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        create_app(production)
    monkeypatch.setenv("PILLOW_TESTING", "1")  # tests' exemption cannot be switched on outside
    with pytest.raises(ConfigError, match="unknown setting 'TESTING'"):
        create_app(production)


def test_the_demo_makes_a_random_secret_key_per_run(production):
    apps = [create_app({**production, "DEMO": True}) for _ in range(2)]
    keys = [app.config["SECRET_KEY"] for app in apps]
    assert all(len(key) == 64 for key in keys) and keys[0] != keys[1]
    given = create_app({**production, "SECRET_KEY": "s" * 40})
    assert given.config["SECRET_KEY"] == "s" * 40
    for app in [*apps, given]:
        app.extensions["pillow"].storage.close()


# --- secrets never in logs, errors or /healthz -----------------------------------------------

def test_redact_covers_keys_and_signatures():
    text = (f"AccountKey={FAKE_KEY};accountkey={FAKE_KEY} SharedAccessSignature=sv=1&sig={FAKE_SIG}"
            f" url?sv=1&SIG={FAKE_SIG}&se=2030 'sig={FAKE_SIG}'")
    redacted = redact(text)
    assert secrets_in(redacted) == []
    assert redacted.count("***") == 6 and "se=2030" in redacted


@pytest.mark.parametrize("secret", ["key", "sas"])
def test_secrets_stay_out_of_logs_errors_and_healthz(settings, secret, caplog):
    caplog.set_level(logging.DEBUG, logger="pillow_web")
    caplog.set_level(logging.WARNING, logger="azure")  # as `pillow-web` configures it
    app = create_app({**settings, "CONNECTION_STRING": dead_connection_string(secret),
                      "OPERATOR_TOKEN": TOKEN})
    pillow = app.extensions["pillow"]
    pillow.watcher.start()
    try:
        wait_for(lambda: pillow.watcher.ok is False, message="the watcher to see the dead queue")
        client = app.test_client()
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json["reason"] == "storage unreachable"
        posted = client.post("/api/state", json={"state": "HUGGING"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
        assert posted.status_code == 503 and "unreachable" in posted.json["error"]
        bad = client.post("/api/state", json={"state": "HUGGING"},
                          headers={"Authorization": "Bearer wrong"})
        for text in (health.get_data(as_text=True), posted.get_data(as_text=True),
                     bad.get_data(as_text=True), caplog.text):
            assert secrets_in(text) == [], text
        assert "unreachable" in caplog.text  # the logs did say what went wrong
    finally:
        pillow.watcher.stop()
        pillow.storage.close()


@pytest.mark.parametrize("args", [["post", "hugging"], ["poison", "list"],
                                  ["poison", "purge", "--yes"]])
def test_cli_errors_keep_secrets_out(runner, args, caplog):
    env = {"PILLOW_CONNECTION_STRING": dead_connection_string(), "PILLOW_OPERATOR_TOKEN": TOKEN}
    result = runner.invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output
    assert "storage:" in result.output
    assert secrets_in(result.output) == [] and secrets_in(caplog.text) == []


def test_a_malformed_connection_string_error_keeps_the_key_out(settings):
    with pytest.raises(ConfigError) as caught:
        create_app({**settings, "CONNECTION_STRING": f"AccountKey={FAKE_KEY};BlobEndpoint=::"})
    assert "CONNECTION_STRING" in str(caught.value) and secrets_in(str(caught.value)) == []


# --- images only from the catalog ------------------------------------------------------------

def test_images_come_only_from_the_catalog(live_app, storage):
    pillow = live_app.extensions["pillow"]
    client = live_app.test_client()
    catalog_images = {f"/static/img/{state.image}" for state in pillow.catalog.states.values()}
    for name, state in pillow.catalog.states.items():
        storage.send(compose(name, f"now {name}"))
        storage.send('{"state": "../../etc/passwd", "image": "https://evil.example/x.png"}')
        wait_for(lambda name=name: client.get("/api/state").json["state"] == name,
                 message=f"{name} applied")
        body = client.get("/api/state").json
        assert body["image"] == f"/static/img/{state.image}" and body["image"] in catalog_images
        with client.get(body["image"]) as image:
            assert image.status_code == 200 and image.mimetype == "image/svg+xml"


def test_a_tampered_snapshot_cannot_choose_an_image(app, storage):
    entry = {"state": "../../evil", "text": "x", "at": None, "received_at": None}
    storage.save_snapshot({"version": 1, "current": entry, "history": [entry], "applied_ids": []})
    pillow = app.extensions["pillow"]
    pillow.watcher.start()
    wait_for(lambda: pillow.watcher.ok, message="the first poll")
    payload = pillow.store.payload()
    assert payload["state"] == pillow.catalog.initial.name
    assert payload["image"] == f"/static/img/{pillow.catalog.initial.image}"
    assert list(pillow.store.history) == []
