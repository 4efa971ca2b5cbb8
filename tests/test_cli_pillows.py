"""`pillow-web post | poison | pillows` with several pillows, against real queues in Azurite.

The config: hall on the test's own queue (the QUEUE setting, as a pillow that names none), lobby
on a queue of its own with a catalog of its own, and den sharing lobby's queue.
"""

import json

import pytest

from pillow_web import config
from pillow_web.cli import cli
from pillow_web.storage.account import Storage

from .util import poison, wait_for

LOBBY_CATALOG = """initial = "NEUTRAL"

[[state]]
name = "NEUTRAL"
image = "neutral.svg"

[[state]]
name = "NAPPING"
image = "neutral.svg"
text = "Resting."
"""


@pytest.fixture
def shared_queue(settings):
    return f"{settings['QUEUE']}-shared"


@pytest.fixture
def pillows_file(tmp_path, settings, shared_queue, monkeypatch):
    """The PILLOW_CONFIG of the test, in the environment (of the CLI and of create_app)."""
    catalog = tmp_path / "lobby-states.toml"
    catalog.write_text(LOBBY_CATALOG, encoding="utf-8")
    path = tmp_path / "pillows.toml"
    path.write_text(f"""
[[pillow]]
id = "hall"
name = "Hallway"

[[pillow]]
id = "lobby"
name = "Front Lobby"
queue = "{shared_queue}"
states_file = "{catalog}"

[[pillow]]
id = "den"
queue = "{shared_queue}"
""", encoding="utf-8")
    monkeypatch.setenv("PILLOW_CONFIG", str(path))
    return {"catalog": str(catalog), "path": path}


@pytest.fixture
def shared(settings, shared_queue):
    """Direct access to the queue lobby and den share, and to its poison queue."""
    storage = Storage(settings["CONNECTION_STRING"], shared_queue, "pillow-web")
    storage.ensure()
    yield storage
    storage.close()


def received(storage):
    return [json.loads(m.content) for m in storage.queue.peek_messages(max_messages=32)]


def poison_count(storage):
    return len(storage.poison.peek_messages(max_messages=32))


def test_post_to_a_pillow_with_a_queue_of_its_own_names_no_pillow(
        runner, storage, shared, pillows_file):
    result = runner.invoke(cli, ["post", "hugging", "--pillow", "hall", "--at",
                                 "2026-01-02T03:04:05Z"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"posted HUGGING to hall on {storage.queue_name} (message ")
    assert received(storage) == [{"state": "HUGGING", "at": "2026-01-02T03:04:05Z"}]
    assert received(shared) == []


@pytest.mark.parametrize("pillow, state", [("den", "HUGGING"), ("lobby", "NAPPING")])
def test_post_to_a_pillow_on_a_shared_queue_names_it(runner, storage, shared, pillows_file,
                                                     pillow, state):
    result = runner.invoke(cli, ["post", state.lower(), "--pillow", pillow])
    assert result.exit_code == 0, result.output
    assert f"posted {state} to {pillow} on {shared.queue_name} (message " in result.output
    [message] = received(shared)
    assert message["state"] == state and message["pillow"] == pillow
    assert received(storage) == []


def test_without_pillow_it_posts_to_the_first_one(runner, storage, shared, pillows_file):
    result = runner.invoke(cli, ["post", "neutral"])
    assert result.exit_code == 0, result.output
    assert f"to hall on {storage.queue_name}" in result.output
    assert [message["state"] for message in received(storage)] == ["NEUTRAL"]
    assert "pillow" not in received(storage)[0] and received(shared) == []


def test_the_pillow_from_the_environment(runner, storage, shared, pillows_file):
    result = runner.invoke(cli, ["post", "hugging"], env={"PILLOW_POST_PILLOW": "den"})
    assert result.exit_code == 0, result.output
    assert received(shared)[0]["pillow"] == "den" and received(storage) == []


def test_each_pillow_is_checked_against_its_own_catalog(runner, storage, shared, pillows_file):
    result = runner.invoke(cli, ["post", "hugging", "--pillow", "lobby"])
    assert result.exit_code == 1 and "unknown state 'HUGGING'" in result.output
    result = runner.invoke(cli, ["post", "napping", "--pillow", "den"])
    assert result.exit_code == 1 and "unknown state 'NAPPING'" in result.output
    assert received(shared) == [] and received(storage) == []


def test_a_forced_post_still_names_its_pillow(runner, shared, pillows_file):
    result = runner.invoke(cli, ["post", "dancing", "--pillow", "lobby", "--force"])
    assert result.exit_code == 0 and "sending anyway" in result.output
    [message] = received(shared)
    assert message["state"] == "dancing" and message["pillow"] == "lobby"


@pytest.mark.parametrize("command", [["post", "hugging"], ["poison", "list"],
                                     ["poison", "purge", "--yes"]])
def test_an_unknown_pillow_is_refused_naming_the_known_ones(runner, storage, shared,
                                                            pillows_file, command):
    poison(shared, "dancing")
    result = runner.invoke(cli, [*command, "--pillow", "attic"])
    assert result.exit_code == 2
    assert "unknown pillow 'attic' (known pillows: hall, lobby, den)" in result.output
    assert "Traceback" not in result.output
    assert received(storage) == [] and received(shared) == [] and poison_count(shared) == 1


def test_a_single_pillow_prints_as_it_always_did(runner, storage):
    result = runner.invoke(cli, ["post", "hugging"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"posted HUGGING to {storage.queue_name} (message ")
    assert "pillow" not in received(storage)[0]
    result = runner.invoke(cli, ["post", "hugging", "--pillow", "hall"])
    assert result.exit_code == 2 and "(known pillows: default)" in result.output


def test_posts_reach_their_own_pillows_on_a_shared_queue(runner, settings, pillows_file):
    from pillow_web.app import create_app

    dashboard = create_app(settings).extensions["pillow"]
    try:
        for live in dashboard.queues:
            live.watcher.start()
        for live in dashboard.queues:
            wait_for(lambda live=live: live.watcher.ok, message=f"{live.id}'s first poll")
        for pillow, state in (("den", "hugging"), ("lobby", "napping"), ("hall", "punching")):
            assert runner.invoke(cli, ["post", state, "--pillow", pillow]).exit_code == 0
        shown = {"den": "HUGGING", "lobby": "NAPPING", "hall": "PUNCHING"}
        wait_for(lambda: {pillow: dashboard.pillows[pillow].store.current.state
                          for pillow in shown} == shown, message="each post on its pillow")
        assert poison_count(dashboard.pillows["den"].storage) == 0
    finally:
        dashboard.stop(5)
        dashboard.close()


def test_poison_works_on_the_queue_of_the_pillow_named(runner, storage, shared, pillows_file):
    original_id = poison(shared, '{"state": "HUGGING"}', "message names no pillow")
    result = runner.invoke(cli, ["poison", "list", "--pillow", "den"])
    assert result.exit_code == 0, result.output
    assert original_id in result.output and "message names no pillow" in result.output
    assert f"1 shown of 1 in {shared.poison_name}" in result.output
    result = runner.invoke(cli, ["poison", "list"])  # the first pillow's queue: nothing there
    assert result.exit_code == 0 and f"0 shown of 0 in {storage.poison_name}" in result.output
    result = runner.invoke(cli, ["poison", "show", original_id], env={
        "PILLOW_POISON_PILLOW": "lobby"})
    assert result.exit_code == 0 and "reason:      message names no pillow" in result.output
    result = runner.invoke(cli, ["poison", "requeue", "--all", "--pillow", "lobby"])
    assert result.exit_code == 0, result.output
    assert f"requeued 1 message(s) to {shared.queue_name}" in result.output
    assert received(shared) == [{"state": "HUGGING"}] and received(storage) == []
    assert poison_count(shared) == 0


def test_poison_purge_of_one_pillow_leaves_the_other_queues(runner, storage, shared,
                                                           pillows_file):
    poison(shared, "dancing")
    poison(storage, "waltzing")
    result = runner.invoke(cli, ["poison", "purge", "--yes"], env={"PILLOW_POISON_PILLOW": "den"})
    assert result.exit_code == 0 and f"purged 1 message(s) from {shared.poison_name}" \
        in result.output
    assert poison_count(shared) == 0 and poison_count(storage) == 1


def test_pillows_lists_each_one_per_line(runner, storage, shared, pillows_file):
    result = runner.invoke(cli, ["pillows"])
    assert result.exit_code == 0, result.output
    rows = [line.split("  ") for line in result.output.splitlines()]
    rows = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    default_catalog = config.SETTINGS["STATES_FILE"].default
    assert rows == [["hall", "Hallway", storage.queue_name, default_catalog],
                    ["lobby", "Front Lobby", shared.queue_name, pillows_file["catalog"]],
                    ["den", "den", shared.queue_name, default_catalog]]
    result = runner.invoke(cli, ["pillows", "--json"])
    assert result.exit_code == 0, result.output
    assert [pillow["id"] for pillow in json.loads(result.output)] == ["hall", "lobby", "den"]
    assert json.loads(result.output)[1] == {"id": "lobby", "name": "Front Lobby",
                                            "queue": shared.queue_name,
                                            "states_file": pillows_file["catalog"]}


def test_pillows_without_any_configured_lists_the_default_one(runner, storage):
    result = runner.invoke(cli, ["pillows", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"id": "default", "name": "Cloud Pillow",
                                          "queue": storage.queue_name,
                                          "states_file": "config/states.toml"}]


def test_pillows_names_a_bad_config(runner, pillows_file):
    pillows_file["path"].write_text('[[pillow]]\nid = "Bad Id"\n', encoding="utf-8")
    result = runner.invoke(cli, ["pillows"])
    assert result.exit_code == 1 and "id must be" in result.output


@pytest.mark.skipif(not "PILLOW_PILLOWS_JSON".startswith(config.CLI_ENV_PREFIXES),
                    reason="PILLOW_PILLOWS_ is not yet reserved for CLI options in config")
def test_pillows_json_from_the_environment(runner, pillows_file):
    result = runner.invoke(cli, ["pillows"], env={"PILLOW_PILLOWS_JSON": "1"})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 3
