"""`pillow-web queue peek` against the test's own queue in Azurite."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.cli import cli
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import compose, parse
from pillow_web.domain.state import StateStore
from pillow_web.storage.azurite import free_port

from .pillows import write_pillows

ROW_KEYS = {"id", "inserted_on", "dequeue_count", "content", "length", "outcome", "pillow",
            "state", "text", "reason", "summary"}


def snapshot_showing(storage, state, at):
    """Save a snapshot whose current state is ``state`` at ``at``, as a watcher would."""
    store = StateStore(Catalog.from_file("config/states.toml"))
    message = parse(compose(state, at=at.isoformat()), store.catalog.names)
    store.apply(message, "earlier", message.stamp(at))
    storage.save_snapshot(store.snapshot())


def test_peek_shows_each_message_and_what_it_would_do(runner, storage):
    sent = [storage.send(content).id for content in (
        compose("HUGGING", "Squeeze\u202eme"), "dancing", "tab\there")]
    result = runner.invoke(cli, ["queue", "peek"])
    assert result.exit_code == 0, result.output
    first = result.stdout.split(sent[1])[0]
    assert first.startswith(f"{sent[0]}\n  inserted:   20")
    assert "  deliveries: 0\n" in first
    assert '  would:      shows HUGGING "Squeeze\\u202eme"\n' in first  # escaped, one line
    assert '"text": "Squeeze\\u202eme"' in first
    assert "would:      goes to poison: unknown state 'DANCING'; known: NEUTRAL" in result.stdout
    assert "text:       tab\\there" in result.stdout
    assert result.stderr == f"3 waiting shown in {storage.queue_name}\n"
    received = storage.receive(30)  # peeking left them visible and undelivered
    assert sorted(m.id for m in received) == sorted(sent)
    assert {m.dequeue_count for m in received} == {1}


def test_peek_judges_by_the_saved_state(runner, storage):
    now = datetime.now(UTC)
    snapshot_showing(storage, "SHAKING", now)
    storage.send(compose("HUGGING", at=(now - timedelta(minutes=1)).isoformat()))
    storage.send(compose("PUNCHING", at=now.isoformat()))  # the same µs: the later wins
    result = runner.invoke(cli, ["queue", "peek"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("would:      older than the current state: consumed, not "
                               "shown") == 1
    assert "would:      shows PUNCHING\n" in result.stdout


def test_peek_json_lists_the_rows(runner, storage):
    storage.send("hugging")
    storage.send("x" * 5000)
    result = runner.invoke(cli, ["queue", "peek", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [set(row) for row in rows] == [ROW_KEYS, ROW_KEYS]
    assert rows[0] | {"id": None, "inserted_on": None} == {
        "id": None, "inserted_on": None, "dequeue_count": 0, "content": "hugging", "length": 7,
        "outcome": "shows", "pillow": "default", "state": "HUGGING", "text": None,
        "reason": None, "summary": "shows HUGGING"}
    assert rows[1]["outcome"] == "poison" and rows[1]["length"] == 5000
    assert len(rows[1]["content"]) == 4200
    assert rows[1]["summary"] == "goes to poison: message is 5000 characters; the limit is 4096"
    assert datetime.fromisoformat(rows[0]["inserted_on"]).tzinfo is not None


def test_peek_limit_and_its_environment(runner, storage):
    for state in ("HUGGING", "PUNCHING", "SHAKING"):
        storage.send(compose(state))
    result = runner.invoke(cli, ["queue", "peek", "--json", "--limit", "2"])
    assert [row["state"] for row in json.loads(result.stdout)] == ["HUGGING", "PUNCHING"]
    assert result.stderr == f"2 waiting shown in {storage.queue_name}; more may wait\n"
    result = runner.invoke(cli, ["queue", "peek", "--json"], env={"PILLOW_QUEUE_LIMIT": "1"})
    assert len(json.loads(result.stdout)) == 1


def test_peek_of_an_empty_queue_says_so(runner, storage):
    result = runner.invoke(cli, ["queue", "peek"])
    assert result.exit_code == 0
    assert result.stdout == f"nothing waits in {storage.queue_name}\n" and not result.stderr
    result = runner.invoke(cli, ["queue", "peek", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


@pytest.mark.parametrize("limit", ["0", "33", "many"])
def test_a_bad_limit_is_a_usage_error(runner, limit):
    result = runner.invoke(cli, ["queue", "peek", "--limit", limit])
    assert result.exit_code == 2 and "--limit" in result.output


def test_an_unknown_pillow_is_a_usage_error(runner):
    result = runner.invoke(cli, ["queue", "peek", "--pillow", "attic"])
    assert result.exit_code == 2 and "unknown pillow 'attic'" in result.output


def test_peek_with_unreachable_storage_is_one_clear_line(runner):
    port = free_port()  # closed: nothing listens there
    dead = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;" \
           f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;" \
           f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    result = runner.invoke(cli, ["queue", "peek"], env={"PILLOW_CONNECTION_STRING": dead})
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("Error: storage: ")
    assert "c2VjcmV0" not in result.output


def test_peek_on_a_shared_queue_names_each_message_s_pillow(runner, storage, tmp_path):
    config = write_pillows(tmp_path / "pillows.toml",
                           {"attic": storage.queue_name, "porch": storage.queue_name})
    storage.send(json.dumps({"state": "HUGGING", "pillow": "porch"}))
    storage.send("hugging")
    result = runner.invoke(cli, ["queue", "peek", "--pillow", "porch"],
                           env={"PILLOW_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    first, second = result.stdout.split("\n\n")
    assert "  pillow:     porch\n  would:      shows HUGGING\n" in first
    assert "  pillow:     ?\n  would:      goes to poison: message names no pillow" in second


def test_an_unreadable_snapshot_is_said_and_the_initial_state_used(runner, storage):
    storage.snapshot_blob.upload_blob(b"\x1b[31mnot json", overwrite=True)
    storage.send("hugging")
    result = runner.invoke(cli, ["queue", "peek"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: ignoring an unreadable snapshot (not JSON")
    assert "\x1b" not in result.stderr
    assert "would:      shows HUGGING" in result.stdout
