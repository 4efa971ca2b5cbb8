"""Exactly one consumer per queue: two instances on one queue, as real processes.

Every instance is a real ``pillow-web serve`` (all-in-one) subprocess on the session's Azurite,
without Redis. Only the holder of the lease on the queue's snapshot blob consumes; the other
stands by and keeps its own screens current from the snapshot. They are SIGKILLed, stopped and
frozen (SIGSTOP) here, and watched only from outside: ``/healthz`` (its ``role``), a Socket.IO
screen on each, the queue, the snapshot blob and the log. The last test takes the lease from an
in-process watcher from outside (as Azure would let another process after a break), to hold it
to the fencing rule at the one step where only Azure can tell: the snapshot save.
"""

import os
import signal
from time import monotonic

import gevent
import pytest
from azure.storage.blob import BlobLeaseClient

from pillow_web.domain.messages import compose
from pillow_web.web.events import socketio

from .procs import Screen
from .roles import (
    TAKEOVER_AFTER_KILL,
    TAKEOVER_AFTER_STOP,
    Instances,
    active_and_standby,
    numbered,
    numbers,
    role,
    send_steadily,
    strictly_increasing,
)
from .test_faults import count, figure, index, poison_count, post_burst, wait_mid_drain
from .util import Received, wait_for

STEADY = 300  # numbered messages sent at a steady rate while the active one is SIGKILLed
RATE = 20.0  # of them per second
FROZEN_BURST = 200  # fewer than the 256 ids a snapshot remembers: its last one holds them all


@pytest.fixture
def instances(tmp_path):
    """``instances(connection_string, queue, command=("serve",), ready=True, **settings)``."""
    started = Instances(tmp_path)
    yield started.start
    started.close()


def test_two_all_in_one_instances_show_the_same_state_and_only_one_consumes(
        azurite, storage, instances):
    """Without Redis, two instances on one queue used to take half the messages each."""
    active, standby = active_and_standby(azurite, storage.queue_name, instances)
    screens = {active: Screen(active.url), standby: Screen(standby.url)}
    ids = []
    for i in range(1, 21):  # each shown by the active one before the next is sent
        ids.append(storage.send(numbered(i)).id)
        screens[active].wait("state", lambda state, i=i: state["text"] == f"#{i}")
    for instance, screen in screens.items():  # the standby follows the snapshot (1 s poll)
        screen.wait("state", lambda state: state["text"] == "#20", timeout=5)
        assert instance.state()["text"] == "#20"
        shown = numbers(screen)
        assert strictly_increasing(shown) and shown[-1] == 20, shown
    assert numbers(screens[active]) == list(range(1, 21))  # every one changed its screen
    wait_for(lambda: count(storage) == 0, 5, "the queue to be empty")
    assert set(ids) <= set(storage.load_snapshot()["applied_ids"]) and poison_count(storage) == 0
    assert (role(active), role(standby)) == ("active", "standby")
    assert "active:" in active.output() and "standing by" not in active.output()
    assert "standing by: another process holds the lease" in standby.output()
    assert "active:" not in standby.output(), standby.output()[-2000:]
    for screen in screens.values():
        screen.close()


@pytest.mark.slow
def test_sigkill_of_the_active_one_fails_over_within_the_lease_period_losing_nothing(
        azurite, storage, instances, record_property):
    """300 numbered messages at 20/s; the active instance SIGKILLed midway. The standby takes
    over within the lease period plus 2 s, and its screen goes up to #300 without a step back.

    Lost would be a message deleted from the queue (it ends empty) that no snapshot holds: the
    snapshot at the kill (the killed one's last save) and the standby's last one together must
    hold every id sent.
    """
    active, standby = active_and_standby(azurite, storage.queue_name, instances)
    screens = Screen(active.url), Screen(standby.url)
    ids = []
    sender = gevent.spawn(send_steadily, storage, ids, STEADY, RATE)
    wait_for(lambda: sender.dead or len(ids) >= STEADY // 2, 30, "half the messages sent")
    active.kill()
    killed_at = monotonic()
    at_kill = storage.load_snapshot()  # the standby cannot write before it holds the lease
    shown_at_kill = index(at_kill["current"])

    wait_for(lambda: role(standby) == "active", TAKEOVER_AFTER_KILL + 5, "the standby to take "
             "over", interval=0.05)
    took = monotonic() - killed_at
    first_applied, _ = screens[1].wait("state", lambda state: index(state) > shown_at_kill,
                                       timeout=10, after=killed_at)
    figure(record_property, "failover_seconds_kill_to_active", round(took, 2))
    figure(record_property, "failover_seconds_kill_to_first_applied",
           round(first_applied - killed_at, 2))
    assert took <= TAKEOVER_AFTER_KILL, standby.output()[-2000:]

    sender.get(timeout=30)
    screens[1].wait("state", lambda state: state["text"] == f"#{STEADY}", timeout=30)
    wait_for(lambda: count(storage) == 0, 15, "the queue to be empty")
    final = storage.load_snapshot()
    lost = set(ids) - set(at_kill["applied_ids"]) - set(final["applied_ids"])
    figure(record_property, "failover_messages_lost", len(lost))
    assert not lost and poison_count(storage) == 0
    assert final["current"]["text"] == f"#{STEADY}" and standby.state()["text"] == f"#{STEADY}"
    for screen in screens:
        shown = numbers(screen)
        assert strictly_increasing(shown), shown  # never back to an older number
    assert numbers(screens[1])[-1] == STEADY
    assert "standing by" in standby.output() and "active:" in standby.output()
    for screen in screens:
        screen.close()


@pytest.mark.slow
def test_a_clean_stop_of_the_active_one_hands_over_at_once(azurite, storage, instances,
                                                           record_property):
    """SIGTERM: the holder finishes, saves and releases the lease; the standby takes over
    within its next try, and the next post reaches its screen."""
    active, standby = active_and_standby(azurite, storage.queue_name, instances)
    screen = Screen(standby.url)
    storage.send(numbered(1))
    screen.wait("state", lambda state: state["text"] == "#1")
    stopped_at = monotonic()
    code, _ = active.stop(signal.SIGTERM)
    assert code == 0, active.output()[-2000:]
    wait_for(lambda: role(standby) == "active", TAKEOVER_AFTER_STOP + 5,
             "the standby to take over", interval=0.02)
    took = monotonic() - stopped_at
    figure(record_property, "handover_seconds_sigterm_to_active", round(took, 2))
    assert took <= TAKEOVER_AFTER_STOP, standby.output()[-2000:]
    storage.send(numbered(2))
    screen.wait("state", lambda state: state["text"] == "#2", timeout=5)
    assert numbers(screen) == [1, 2]
    screen.close()


@pytest.mark.slow
def test_a_holder_frozen_past_its_lease_never_saves_or_pushes_after_waking(
        azurite, storage, instances, record_property):
    """The active instance is stopped (SIGSTOP) mid-drain, with a batch in hand, until the
    standby has taken over and drained the queue; woken (SIGCONT), it must not save, push or
    delete what it held: its lease is gone (fencing). It stands by and shows the new state."""
    frozen, standby = active_and_standby(azurite, storage.queue_name, instances, POLL_MIN=0.01)
    screen = Screen(frozen.url)
    ids = post_burst(storage, FROZEN_BURST)  # #0..#199, drained in batches of 32
    wait_mid_drain(storage, frozen, below=FROZEN_BURST - 40)
    os.killpg(frozen.process.pid, signal.SIGSTOP)
    try:
        frozen_at = monotonic()
        wait_for(lambda: role(standby) == "active", TAKEOVER_AFTER_KILL + 5,
                 "the standby to take over", interval=0.05)
        figure(record_property, "frozen_holder_seconds_to_takeover",
               round(monotonic() - frozen_at, 2))
        # What the frozen one had in hand comes back after the visibility timeout (5 s).
        wait_for(lambda: count(storage) == 0, 30, "the standby to drain the queue")
        newest = storage.send(numbered(300)).id
        wait_for(lambda: standby.state()["text"] == "#300", 10, "#300 applied")
        # /api/state shows a batch once applied, a moment before its snapshot is saved.
        wait_for(lambda: (storage.load_snapshot() or {}).get("current", {}).get("text") == "#300",
                 10, "#300 saved")
        etag = storage.snapshot_blob.get_blob_properties().etag
    finally:
        thawed_at = monotonic()
        os.killpg(frozen.process.pid, signal.SIGCONT)

    wait_for(lambda: role(frozen) == "standby", 10, "the woken one to stand by")
    screen.wait("state", lambda state: state["text"] == "#300", timeout=5, after=thawed_at)
    log = frozen.output()
    standing_by = [line for line in log.splitlines() if "standing by" in line]
    assert standing_by and "lease" in standing_by[-1], log[-3000:]
    assert "Traceback" not in log and "crashed" not in log, log[-3000:]
    figure(record_property, "frozen_holder_woke_with", standing_by[-1].split("standing by: ")[-1])
    # Woken, it pushed nothing of its own: the only state since is the one the snapshot holds.
    assert [state["text"] for state in screen.received("state", after=thawed_at)] == ["#300"]
    assert strictly_increasing(numbers(screen))
    assert storage.snapshot_blob.get_blob_properties().etag == etag  # it wrote nothing
    final = storage.load_snapshot()
    assert final["current"]["text"] == "#300" and newest in final["applied_ids"]
    assert set(ids) <= set(final["applied_ids"]) and poison_count(storage) == 0
    screen.close()


def test_a_holder_whose_lease_was_taken_neither_pushes_nor_deletes(app, storage, caplog):
    """The lease broken and taken by another id while this watcher believes it holds it: the
    next batch's save is refused by Azure (or the renewal fails first). Either way the state is
    not pushed, the message not deleted, the snapshot not written; it stands by, and once the
    lease is free again it takes over and applies the message when it comes back."""
    pillow = app.extensions["pillow"]
    received = Received(socketio.test_client(app))
    pillow.watcher.start()
    wait_for(lambda: pillow.watcher.role == "active" and pillow.watcher.ok, 10, "active")
    storage.send(compose("HUGGING", "before"))
    received.wait("state", lambda state: state["text"] == "before")
    wait_for(lambda: count(storage) == 0, 5, "the first message deleted")
    etag = storage.snapshot_blob.get_blob_properties().etag

    thief = BlobLeaseClient(storage.snapshot_blob)
    thief.break_lease(lease_break_period=0)
    thief.acquire(lease_duration=15)
    storage.send(compose("PUNCHING", "taken"))
    wait_for(lambda: "standing by: lost the lease" in caplog.text, 10, "the watcher to stand by")
    assert pillow.watcher.role == "standby" and pillow.store.current.text == "before"
    texts = [state["text"] for state in received("state")]
    assert "taken" not in texts and texts[-1] == "before", texts
    assert storage.snapshot_blob.get_blob_properties().etag == etag
    assert count(storage) == 1  # received (hidden for a while) but not deleted
    noticed = next(line for line in caplog.text.splitlines() if "lost the lease" in line)
    print(f"[figure] taken_lease_noticed = {noticed.split('lost the lease ')[-1]}")

    thief.release()
    received.wait("state", lambda state: state["text"] == "taken", timeout=15)
    assert pillow.watcher.role == "active" and count(storage) == 0
