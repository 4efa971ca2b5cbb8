"""`pillow-web` as an operator uses it, against the test's own queue on a real Azurite."""

import base64
import json

from pillow_web.cli import cli
from pillow_web.domain.messages import parse
from pillow_web.storage.azurite import free_port

STATES = ["HUGGING", "NEUTRAL"]


def received(storage):
    return [m.content for m in storage.queue.peek_messages(max_messages=32)]


def test_post_round_trip_reaches_the_screen(runner, storage, live_app):
    result = runner.invoke(cli, ["post", "hugging", "--text", "From the terminal"])
    assert result.exit_code == 0, result.output
    assert "posted HUGGING" in result.output
    store = live_app.extensions["pillow"].store
    from .util import wait_for

    wait_for(lambda: store.current.state == "HUGGING", message="the posted state applied")
    assert store.text() == "From the terminal"


def test_post_puts_a_stamped_normalised_json_message_on_the_queue(runner, storage):
    result = runner.invoke(cli, ["post", " Neutral ", "--at", "2026-01-02T03:04:05Z"])
    assert result.exit_code == 0, result.output
    [content] = received(storage)
    assert json.loads(content) == {"state": "NEUTRAL", "at": "2026-01-02T03:04:05Z"}


def test_post_base64_encodes_like_azure_functions(runner, storage):
    assert runner.invoke(cli, ["post", "hugging", "--base64"]).exit_code == 0
    [content] = received(storage)
    assert parse(base64.b64decode(content).decode(), STATES).state == "HUGGING"


def test_post_rejects_what_the_dashboard_would_reject(runner, storage):
    result = runner.invoke(cli, ["post", "dancing"])
    assert result.exit_code == 1
    assert "unknown state 'DANCING'" in result.output and "--force" in result.output
    result = runner.invoke(cli, ["post", "hugging", "--at", "yesterday"])
    assert result.exit_code == 1 and "not an ISO-8601 time" in result.output
    assert received(storage) == []


def test_post_force_sends_it_anyway(runner, storage):
    result = runner.invoke(cli, ["post", "dancing", "--force", "--text", "x\ty"])
    assert result.exit_code == 0 and "sending anyway" in result.output
    [sent] = received(storage)
    assert json.loads(sent)["state"] == "dancing"
    # It echoes exactly what went on the queue (escaped), not a normalised name.
    assert f"posted {sent} to" in result.output


def test_post_force_echoes_the_base64_it_sends(runner, storage):
    result = runner.invoke(cli, ["post", "dancing", "--force", "--base64"])
    assert result.exit_code == 0, result.output
    [sent] = received(storage)
    assert f"posted {sent} to" in result.output


def test_options_read_their_environment_fallbacks(runner, storage):
    result = runner.invoke(cli, ["post", "hugging"], env={"PILLOW_POST_TEXT": "from env"})
    assert result.exit_code == 0
    assert json.loads(received(storage)[0])["text"] == "from env"


def test_unreachable_storage_is_one_clear_line(runner):
    port = free_port()  # closed: nothing listens there (a fixed port might be in use)
    dead = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;" \
           f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;" \
           f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    result = runner.invoke(cli, ["post", "hugging"], env={"PILLOW_CONNECTION_STRING": dead})
    assert result.exit_code == 1
    assert result.output.startswith("Error: storage: ")
    assert "c2VjcmV0" not in result.output and "Traceback" not in result.output


def test_bad_setting_is_named(runner):
    result = runner.invoke(cli, ["post", "hugging"], env={"PILLOW_POLL_MAX": "often"})
    assert result.exit_code == 1 and "PILLOW_POLL_MAX" in result.output


def test_every_option_has_help_and_an_environment_fallback():
    def walk(command):
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)

    for command in walk(cli):
        for param in command.params:
            if param.param_type_name == "option" and param.name not in ("help", "version"):
                assert param.help, f"{command.name} --{param.name} has no help"
                assert param.envvar and param.envvar.startswith("PILLOW_"), param.name
