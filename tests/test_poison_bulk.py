"""`pillow-web poison requeue --all | purge` on poison queues of several batches, in Azurite:
every entry moved once, progress on a terminal only, Ctrl-C and storage errors mid-run."""

import io
import json
import os
import re
import select
import signal
import subprocess
import sys
from collections import Counter
from time import monotonic

import gevent.pool
import pytest

from pillow_web.cli import cli
from pillow_web.cli.poison import Progress
from pillow_web.storage.azurite import free_port
from pillow_web.storage.poison import PoisonQueue

from .pillows import Queues, queues_for, write_pillows
from .util import wait_for

MANY = 110  # more than three batches of 32


def seed(storage, count, prefix="dancing"):
    """Put ``count`` poison records on ``storage``'s poison queue; return their originals."""
    originals = [f"{prefix} {number}" for number in range(count)]

    def send(content):
        record = {"reason": "unknown state", "content": content, "message_id": f"id-{content}",
                  "poisoned_at": "2026-01-02T03:04:05+00:00"}
        storage.poison.send_message(json.dumps(record), time_to_live=-1)

    list(gevent.pool.Pool(8).imap_unordered(send, originals))
    return originals


def seed_around_a_refusal(storage):
    """40 poison records, then one whose kept original is over the queue's 64 KiB message limit
    (a real refusal when it is requeued), then 40 more; return the 80 good originals."""
    originals = seed(storage, 40, prefix="first")
    blob = f"{storage.poison_name}/too-big"
    storage.container.upload_blob(blob, ("h" * (64 * 1024 + 1)).encode())
    record = {"reason": "too big", "content": "h" * 200, "message_id": "too-big",
              "poisoned_at": "2026-01-02T03:04:05+00:00", "content_blob": blob}
    storage.poison.send_message(json.dumps(record), time_to_live=-1)
    originals += seed(storage, 40, prefix="then")
    return originals


def take_all(queue):
    """Every message now visible on ``queue`` (hidden afterwards: call it once per check)."""
    return [message.content for message in queue.receive_messages(
        messages_per_page=32, visibility_timeout=300)]


def poisoned_originals(storage):
    return [json.loads(content)["content"] for content in take_all(storage.poison)]


def test_requeue_all_moves_every_entry_to_the_main_queue_once(runner, storage):
    originals = seed(storage, MANY)
    result = runner.invoke(cli, ["poison", "requeue", "--all"])
    assert result.exit_code == 0, result.output
    assert f"requeued {MANY} message(s) to {storage.queue_name}" in result.output
    assert "\x1b[K" not in result.output  # no terminal: the summary only
    assert Counter(take_all(storage.queue)) == Counter(originals)  # each exactly once
    assert take_all(storage.poison) == [] and storage.poison_count() == 0


def test_purge_asks_then_empties_a_queue_of_several_batches(runner, storage):
    seed(storage, MANY)
    result = runner.invoke(cli, ["poison", "purge"], input="y\n")
    assert result.exit_code == 0, result.output
    assert f"Delete the {MANY} message(s) in {storage.poison_name} for good?" in result.output
    assert f"purged {MANY} message(s) from {storage.poison_name}" in result.output
    assert take_all(storage.poison) == [] and take_all(storage.queue) == []


def test_a_live_watcher_poisoning_again_does_not_keep_it_going(runner, storage, live_app):
    """Still unknown, each requeued state is poisoned again at once: the run stops after as
    many as there were at its start, and none is lost or doubled."""
    originals = seed(storage, 100, prefix="waltzing")
    env = {**os.environ, **runner.env}
    result = subprocess.run([sys.executable, "-m", "pillow_web", "poison", "requeue", "--all"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"requeued 100 message(s) to {storage.queue_name}\n"
    wait_for(lambda: storage.depth() == 0 and storage.poison_count() == 100, timeout=30,
             message="every requeued message poisoned again")
    assert Counter(poisoned_originals(storage)) == Counter(originals)


def test_a_failure_midway_says_how_many_were_moved(runner, storage):
    originals = seed_around_a_refusal(storage)
    result = runner.invoke(cli, ["poison", "requeue", "--all"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: storage: HttpResponseError")
    said = re.search(rf"requeued (\d+) message\(s\) to {storage.queue_name} before this error; "
                     rf"the rest are still in {storage.poison_name}", result.output)
    assert said, result.output
    requeued, left = take_all(storage.queue), poisoned_originals(storage)  # none left hidden
    assert len(requeued) == int(said[1])
    assert Counter(requeued + left) == Counter([*originals, "h" * 200])


def test_a_run_stops_at_entries_it_already_handled(storage):
    """An entry that comes back within the run (here: made visible again at once, as one that
    outlived its hold would) is never acted on twice, and the run still ends."""
    seed(storage, 40)
    queue, acted = PoisonQueue(storage), Counter()

    def release(entry):
        acted[entry.id] += 1
        storage.poison.update_message(entry.message, visibility_timeout=0)

    batches = []  # a bound, should it not stop by itself
    done = queue.drain(release, stopping=lambda: batches.append(1) or len(batches) > 5)
    assert len(batches) <= 3, "it did not stop by itself"
    assert done == sum(acted.values()) and 32 <= done <= 40
    assert set(acted.values()) == {1}
    assert len(take_all(storage.poison)) == 40  # nothing was deleted


@pytest.mark.parametrize("command", [["requeue", "--all"], ["purge", "--yes"]])
def test_unreachable_storage_is_one_clear_line(runner, command):
    port = free_port()  # nothing listens there
    dead = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;" \
           f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;" \
           f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    result = runner.invoke(cli, ["poison", *command], env={"PILLOW_CONNECTION_STRING": dead})
    assert result.exit_code == 1 and result.output.startswith("Error: storage: ")
    assert "Traceback" not in result.output and "c2VjcmV0" not in result.output


def test_only_the_chosen_pillows_poison_queue_is_touched(runner, settings, tmp_path):
    queues = queues_for(settings["QUEUE"], ["hall", "den", "attic", "porch"])
    config = {"PILLOW_CONFIG": str(write_pillows(tmp_path / "pillows.toml", queues))}
    with Queues(settings["CONNECTION_STRING"], queues) as pillows:
        for pillow in ("hall", "den", "attic"):
            pillows.storage(pillow).ensure()
        originals = {pillow: seed(pillows.storage(pillow), 40, prefix=pillow)
                     for pillow in ("hall", "den", "attic")}
        result = runner.invoke(cli, ["poison", "requeue", "--all", "--pillow", "den"], env=config)
        assert result.exit_code == 0 and "requeued 40 message(s)" in result.output
        result = runner.invoke(cli, ["poison", "purge", "--yes", "--pillow", "porch"], env=config)
        assert result.exit_code == 0, result.output
        assert f"purged 40 message(s) from {queues['porch']}-poison" in result.output
        den, hall, shared = (pillows.storage(pillow) for pillow in ("den", "hall", "attic"))
        assert Counter(take_all(den.queue)) == Counter(originals["den"])
        assert take_all(den.poison) == [] and take_all(shared.poison) == []
        assert Counter(poisoned_originals(hall)) == Counter(originals["hall"])
        assert take_all(hall.queue) == [] and take_all(shared.queue) == []


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_one_line_redrawn_on_a_terminal():
    stream, stopping = Terminal(), []
    progress = Progress("requeued", 1500, stream, interval=0, stopping=lambda: bool(stopping))
    progress.draw()
    for number in range(1500):
        if number == 1000:
            stopping.append(True)
        progress.step()
    progress.close()
    frames = stream.getvalue().split("\r")[1:]
    assert frames[0] == "\x1b[Krequeued 0 of 1,500 (0%)" and len(frames) == 1502
    assert frames[750] == "\x1b[Krequeued 750 of 1,500 (50%)"
    assert frames[1500] == "\x1b[Krequeued 1,500 of 1,500 (100%) - stopping after this batch " \
                           "(Ctrl-C again: at once)"
    assert frames[-1] == "\x1b[K"  # erased before the summary
    assert "\n" not in stream.getvalue()


def test_progress_is_drawn_at_most_every_interval_and_never_off_a_terminal():
    stream = Terminal()
    progress = Progress("purged", 500, stream, interval=3600)
    progress.draw()
    for _ in range(500):
        progress.step()
    progress.close()
    assert stream.getvalue() == "\r\x1b[Kpurged 0 of 500 (0%)\r\x1b[Kpurged 500 of 500 (100%)" \
                                "\r\x1b[K"
    piped = io.StringIO()
    progress = Progress("purged", 500, piped, interval=0)
    progress.draw()
    progress.step()
    progress.close()
    assert piped.getvalue() == ""


class Pty:
    """`pillow-web ARGS` on a pseudo-terminal (its stdin, stdout and stderr), as run by hand."""

    def __init__(self, args, env):
        self.master, slave = os.openpty()
        self.process = subprocess.Popen([sys.executable, "-m", "pillow_web", *args], env=env,
                                        stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.output = ""

    def _read(self, timeout):
        """Add what the command writes within ``timeout`` s: None if nothing came, False once it
        closed the terminal."""
        if not select.select([self.master], [], [], timeout)[0]:
            return None
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every end of the terminal but ours is closed
            return False
        self.output += data.decode(errors="replace")
        return bool(data)

    def read_until(self, pattern, timeout=60.0):
        """The first match of ``pattern`` in the output, reading until it shows or the deadline."""
        deadline = monotonic() + timeout
        while not (found := re.search(pattern, self.output)):
            remaining = deadline - monotonic()
            assert remaining > 0, f"no {pattern!r} within {timeout} s in {self.output!r}"
            ended = self._read(remaining) is False
            assert not ended, f"it ended without {pattern!r}: {self.output!r}"
        return found

    def wait(self, timeout=30.0):
        """Its exit code, once it ended (all it wrote read)."""
        code = self.process.wait(timeout)
        while self._read(0.5):
            pass
        return code

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(settings):
    env = {**os.environ, "PILLOW_CONNECTION_STRING": settings["CONNECTION_STRING"],
           "PILLOW_QUEUE": settings["QUEUE"]}
    opened = []

    def start(*args):
        opened.append(Pty(args, env))
        return opened[-1]

    yield start
    for run in opened:
        run.close()


def test_a_terminal_shows_the_count_as_it_goes(terminal, storage):
    seed(storage, MANY)
    run = terminal("poison", "requeue", "--all")
    run.read_until(rf"\x1b\[Krequeued \d+ of {MANY} \(\d+%\)")
    run.read_until(rf"\x1b\[Krequeued {MANY} message\(s\) to {storage.queue_name}\r\n")
    assert run.wait() == 0
    assert len(take_all(storage.queue)) == MANY and take_all(storage.poison) == []


def test_ctrl_c_stops_after_the_batch_in_hand_and_says_how_many(terminal, storage):
    total = 300
    originals = seed(storage, total)
    run = terminal("poison", "requeue", "--all")
    run.read_until(rf"requeued [1-9][\d,]* of {total}")
    run.process.send_signal(signal.SIGINT)  # as a terminal does on Ctrl-C
    said = run.read_until(rf"requeued (\d+) message\(s\) to {storage.queue_name}, then stopped "
                          rf"\(Ctrl-C\); any left are still in {storage.poison_name}")
    assert run.wait() == 130 and "Traceback" not in run.output
    done = int(said[1])
    assert 0 < done < total and done % 32 == 0, done  # whole batches only
    requeued, left = take_all(storage.queue), poisoned_originals(storage)  # none left hidden
    assert len(requeued) == done and Counter(requeued + left) == Counter(originals)
