"""One write path: the API and the console check, normalise and queue a state the same way, and
answer the same failure with the same status; web code never touches the Azure SDK."""

import ast
import json
import re

import pytest

from pillow_web.app import create_app
from pillow_web.config import ROOT, azurite_connection_string
from pillow_web.storage.azurite import free_port

TOKEN = "write-path-token-93b1"
WEB_MODULES = sorted(path.name for path in (ROOT / "pillow_web" / "web").glob("*.py"))


def sign_in(client):
    page = client.get("/operator/").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert client.post("/operator/signin", data={"csrf": csrf, "token": TOKEN}).status_code == 302
    page = client.get("/operator/").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def via_api(client, form):
    response = client.post("/api/state", json=form, headers={"Authorization": f"Bearer {TOKEN}"})
    return response.status_code, response.json


def via_console(client, csrf, form):
    response = client.post("/operator/state", data={**form, "csrf": csrf},
                           headers={"Accept": "application/json"})
    return response.status_code, response.json


@pytest.fixture
def console(settings):
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN})
    app.extensions["pillow"].storage.ensure()
    client = app.test_client()
    yield app, client, sign_in(client)
    app.extensions["pillow"].storage.close()


def queued(app):
    peeked = app.extensions["pillow"].storage.queue.peek_messages(max_messages=32)
    return [json.loads(message.content) for message in peeked]


def test_api_and_console_queue_the_same_normalised_message(console):
    app, client, csrf = console
    assert via_api(client, {"state": "  hugging ", "text": "hi"})[0] == 202
    assert via_console(client, csrf, {"state": "  hugging ", "text": "hi"})[0] == 202
    first, second = queued(app)
    assert first.keys() == second.keys() == {"state", "text", "at"}
    assert first["state"] == second["state"] == "HUGGING"
    assert first["text"] == second["text"] == "hi"


@pytest.mark.parametrize("form", [{"state": "dancing"}, {"state": "hugging", "text": "a\x07b"}])
def test_api_and_console_refuse_the_same_message_with_the_same_status(console, form):
    app, client, csrf = console
    api_status, api_body = via_api(client, form)
    console_status, console_body = via_console(client, csrf, form)
    assert api_status == console_status == 422
    assert api_body["error"] in console_body["message"]
    assert queued(app) == []


def test_an_unreachable_queue_is_503_on_both_with_a_redacted_reason(settings):
    dead = azurite_connection_string(blob_port=free_port(), queue_port=free_port())
    app = create_app({**settings, "OPERATOR_TOKEN": TOKEN, "CONNECTION_STRING": dead})
    try:
        client = app.test_client()
        csrf = sign_in(client)
        api_status, api_body = via_api(client, {"state": "hugging"})
        console_status, console_body = via_console(client, csrf, {"state": "hugging"})
        assert api_status == console_status == 503
        assert api_body["error"].startswith("the queue is unreachable (")
        assert api_body["error"] in console_body["message"]
        assert "AccountKey=" not in api_body["error"] + console_body["message"]
        data = client.get("/operator/data.json").json
        assert data["queue_depth"] is None and data["poison_count"] is None
    finally:
        app.extensions["pillow"].storage.close()


@pytest.mark.parametrize("module", WEB_MODULES)
def test_web_code_neither_imports_nor_catches_the_azure_sdk(module):
    tree = ast.parse((ROOT / "pillow_web" / "web" / module).read_text())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names]
    assert not [name for name in imported if name and name.startswith("azure")]
    source = (ROOT / "pillow_web" / "web" / module).read_text()
    # An attribute of a pillow's storage (``live.storage.queue``), not a module of the package
    # (``from ..storage.poison import``).
    assert not re.search(r"\w\.storage\.(queue|poison|container|snapshot_blob)\b", source)
