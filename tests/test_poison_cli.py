"""`pillow-web poison list | requeue | purge` against the test's own queues in Azurite."""

import json

import pytest

from pillow_web.cli import cli
from pillow_web.domain.messages import compose
from pillow_web.storage.poison import visible

from .util import poison, wait_for

BIG = '{"state": "HUGGING", "text": "' + "b" * (60 * 1024) + '"}'


def poison_ids(storage):
    return [m.id for m in storage.poison.peek_messages(max_messages=32)]


def main_contents(storage):
    return [m.content for m in storage.queue.peek_messages(max_messages=32)]


def kept_blobs(storage):
    return list(storage.container.list_blobs(name_starts_with=f"{storage.poison_name}/"))


@pytest.fixture
def poisoned(storage):
    """Three entries: a plain one, one with invisible characters, and a 60 KiB one in a blob."""
    originals = {poison(storage, "dancing", "unknown state 'DANCING'"): "dancing",
                 poison(storage, "tab\there\u2028x\u202e", "control"): "tab\there\u2028x\u202e",
                 poison(storage, BIG, "too big"): BIG}
    assert len(kept_blobs(storage)) == 1
    return originals


def test_visible_escapes_what_cannot_be_seen():
    assert visible("a\x00b\tc\u2028d\u202ee\ud800") == "a\\x00b\\tc\\u2028d\\u202ee\\ud800"
    assert visible("x" * 100, 10) == "x" * 10 + "…"
    assert visible("Grüße 🤗") == "Grüße 🤗"


def test_list_shows_id_time_reason_and_a_visible_excerpt(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "list"])
    assert result.exit_code == 0, result.output
    for original_id in poisoned:  # the ids `post` printed, not the poison queue's own
        assert original_id in result.output
    assert "unknown state 'DANCING'" in result.output and "    dancing" in result.output
    assert "tab\\there\\u2028x\\u202e" in result.output
    assert "[full text kept in a blob]" in result.output and "b" * 50 + "…" in result.output
    assert "3 shown of 3" in result.output
    record = json.loads(storage.poison.peek_messages()[0].content)
    assert record["poisoned_at"][:19] in result.output
    assert len(poison_ids(storage)) == 3  # listing hides nothing afterwards


def test_list_is_oldest_first_and_stable(runner, storage, poisoned):
    listings = [runner.invoke(cli, ["poison", "list"]).output for _ in range(3)]
    assert listings[0] == listings[1] == listings[2]
    positions = [listings[0].index(original_id) for original_id in poisoned]
    assert positions == sorted(positions)  # poisoned in this order


@pytest.mark.parametrize("by", ["original", "poison"])
def test_show_prints_the_whole_escaped_text_and_reason(runner, storage, poisoned, by):
    original_id = list(poisoned)[1]
    [entry] = [json.loads(m.content) for m in storage.poison.peek_messages(max_messages=32)
               if json.loads(m.content)["message_id"] == original_id]
    poison_id = next(m.id for m in storage.poison.peek_messages(max_messages=32)
                     if json.loads(m.content)["message_id"] == original_id)
    result = runner.invoke(cli, ["poison", "show", original_id if by == "original" else poison_id])
    assert result.exit_code == 0, result.output
    assert f"id:          {original_id}" in result.output
    assert f"poison id:   {poison_id}" in result.output
    assert "reason:      control" in result.output
    assert "tab\\there\\u2028x\\u202e" in result.output  # whole, escaped
    assert entry["poisoned_at"] in result.output
    assert len(poison_ids(storage)) == 3  # showing hides nothing afterwards


def test_show_prints_a_big_original_whole_from_its_blob(runner, storage, poisoned):
    big_id = list(poisoned)[2]
    result = runner.invoke(cli, ["poison", "show", big_id])
    assert result.exit_code == 0, result.output
    assert BIG in result.output and f"text ({len(BIG)} characters" in result.output


def test_show_an_unknown_id_is_one_clear_error(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "show", "no-such-id"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no poisoned message no-such-id in {storage.poison_name} "
        "(see `pillow-web poison list`)"]


def test_list_limit_from_the_environment(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "list"], env={"PILLOW_POISON_LIMIT": "1"})
    assert result.exit_code == 0 and "1 shown of 3" in result.output
    assert len(poison_ids(storage)) == 3


def test_requeue_one_by_id_sends_back_the_original(runner, storage, poisoned):
    entry_id = poison_ids(storage)[0]
    result = runner.invoke(cli, ["poison", "requeue", entry_id])
    assert result.exit_code == 0 and "requeued 1 message(s)" in result.output
    assert main_contents(storage) == ["dancing"]
    assert entry_id not in poison_ids(storage) and len(poison_ids(storage)) == 2


def test_requeue_by_the_original_message_id(runner, storage, poisoned):
    original_id = next(i for i, content in poisoned.items() if content == BIG)
    result = runner.invoke(cli, ["poison", "requeue", original_id])
    assert result.exit_code == 0, result.output
    assert main_contents(storage) == [BIG]  # read back whole from its blob
    assert kept_blobs(storage) == [] and len(poison_ids(storage)) == 2


def test_requeue_all(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "requeue", "--all"])
    assert result.exit_code == 0 and "requeued 3 message(s)" in result.output
    assert sorted(main_contents(storage)) == sorted(poisoned.values())
    assert poison_ids(storage) == [] and kept_blobs(storage) == []


def test_requeue_all_from_the_environment(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "requeue"], env={"PILLOW_POISON_ALL": "1"})
    assert result.exit_code == 0 and poison_ids(storage) == []


@pytest.mark.parametrize("args, code, says", [
    (["requeue"], 2, "give one MESSAGE_ID or --all"),
    (["requeue", "x", "--all"], 2, "give one MESSAGE_ID or --all"),
    (["requeue", "no-such-id"], 1, "no poisoned message no-such-id"),
])
def test_requeue_refuses_unclear_requests(runner, storage, poisoned, args, code, says):
    result = runner.invoke(cli, ["poison", *args])
    assert result.exit_code == code and says in result.output
    assert len(poison_ids(storage)) == 3 and main_contents(storage) == []


def test_a_failed_send_keeps_the_entry(runner, storage, poisoned):
    # A real refusal, not a mock: an entry whose kept original is over the queue's 64 KiB
    # message limit, which Azurite (like Azure) rejects with 413 when it is sent back.
    blob = f"{storage.poison_name}/too-big"
    storage.container.upload_blob(blob, ("h" * (64 * 1024 + 1)).encode())
    record = {"reason": "test reason", "content": "h" * 200, "message_id": "too-big",
              "poisoned_at": "2026-01-02T03:04:05+00:00", "content_blob": blob}
    too_big = storage.poison.send_message(json.dumps(record), time_to_live=-1).id
    result = runner.invoke(cli, ["poison", "requeue", "--all"])
    assert result.exit_code == 1 and "storage: HttpResponseError" in result.output
    assert too_big in poison_ids(storage)  # visible again at once, not hidden for HIDE s
    # The entries tried before the failure (the order is Azurite's) are requeued, the rest kept:
    # each original in exactly one of the two queues, with its blob while it is poisoned.
    left = {json.loads(m.content)["message_id"]
            for m in storage.poison.peek_messages(max_messages=32)}
    requeued = main_contents(storage)
    for original_id, content in poisoned.items():
        assert (original_id in left) != (content in requeued), content[:20]
    big_id = next(i for i, content in poisoned.items() if content == BIG)
    kept = {f"{storage.poison_name}/{i}" for i in left if i in (big_id, "too-big")}
    assert {b.name for b in kept_blobs(storage)} == kept


def test_a_requeued_message_is_applied_by_the_watcher(runner, live_app, storage):
    poison(storage, compose("SHAKING", "back again"), "delivered 6 times without being applied")
    assert runner.invoke(cli, ["poison", "requeue", "--all"]).exit_code == 0
    store = live_app.extensions["pillow"].store
    wait_for(lambda: store.current.text == "back again", message="the requeued state")


def test_a_record_that_is_not_ours_is_shown_and_requeued_as_is(runner, storage):
    storage.poison.send_message("not json at all")
    listed = runner.invoke(cli, ["poison", "list"])
    assert "not a poison record" in listed.output and "not json at all" in listed.output
    assert runner.invoke(cli, ["poison", "requeue", "--all"]).exit_code == 0
    assert main_contents(storage) == ["not json at all"]


def test_purge_asks_and_no_keeps_everything(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "purge"], input="n\n")
    assert result.exit_code == 1 and "Delete the 3 message(s)" in result.output
    assert "Aborted" in result.output
    assert len(poison_ids(storage)) == 3 and len(kept_blobs(storage)) == 1


def test_purge_asks_and_yes_deletes_entries_and_blobs(runner, storage, poisoned):
    result = runner.invoke(cli, ["poison", "purge"], input="y\n")
    assert result.exit_code == 0 and "purged 3 message(s)" in result.output
    assert poison_ids(storage) == [] and kept_blobs(storage) == []
    assert main_contents(storage) == []  # purge never requeues


@pytest.mark.parametrize("how", [["--yes"], []])
def test_purge_without_a_prompt_for_scripts(runner, storage, poisoned, how):
    env = {} if how else {"PILLOW_POISON_YES": "1"}
    result = runner.invoke(cli, ["poison", "purge", *how], env=env)
    assert result.exit_code == 0 and "Delete the" not in result.output
    assert poison_ids(storage) == [] and kept_blobs(storage) == []
