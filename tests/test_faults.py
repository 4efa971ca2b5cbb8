"""Faults against real processes: a queue outage, a SIGKILL mid-drain, a graceful stop.

Nothing is mocked. Azurite is stopped and started again on its data folder; ``pillow-web serve``
runs as a subprocess and is SIGKILLed or sent SIGTERM/SIGINT; everything is observed from outside
(``/healthz``, ``/api/state``, a Socket.IO screen, the queue and the snapshot blob). Measured
figures are recorded with ``record_property`` and printed (``pytest -s`` or ``-rA`` shows them).
"""

import signal
import uuid
from datetime import UTC, datetime, timedelta
from time import monotonic

import gevent
import gevent.pool
import pytest
from azure.core.exceptions import AzureError

from pillow_web.config import AZURITE_KEY
from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage

from .procs import Screen
from .util import wait_for

OUTAGE = 30.0  # seconds Azurite stays down, as in the issue
HANG = 6.0  # seconds Azurite stays frozen: past the 5 s window /healthz alone would take
HANG_VISIBILITY = 5  # seconds; see below
DEGRADED_WITHIN = 3.0
RECOVERED_WITHIN = 2.0
# The hang's worst case (1 s poll + 1.5 s receive timeout + 0.5 s monitor) is right at 3 s, so
# its figures are recorded, not held to DEGRADED_WITHIN: a busy machine would fail it by chance.
HANG_DEADLINE = 10.0
STOP_WITHIN = 5.0
BURST = 300
CRASH_VISIBILITY = 3  # seconds; the shipped default is in config/default.toml


def figure(record_property, name, value):
    """Keep a measured figure in the JUnit report and print it for the closing note."""
    record_property(name, value)
    print(f"[figure] {name} = {value}")


def count(storage):
    return storage.queue.get_queue_properties().approximate_message_count


def poison_count(storage):
    return storage.poison.get_queue_properties().approximate_message_count


def post_burst(storage, size=BURST):
    """Post ``size`` messages concurrently; return their queue ids, in ``at`` order.

    Message i says ``#i`` and is stamped i ms after the first, so ``at`` order is index order
    even though concurrent sends reach the queue in a shuffled order.
    """
    first = datetime.now(UTC) - timedelta(seconds=2)
    names = ["HUGGING", "PUNCHING", "SHAKING", "SPINNING", "THROWING"]

    def send(i):
        at = (first + timedelta(milliseconds=i)).isoformat()
        return storage.send(compose(names[i % len(names)], f"#{i}", at)).id

    return gevent.pool.Pool(32).map(send, range(size))


def index(payload):
    return int(payload["text"].lstrip("#"))


def wait_mid_drain(storage, dashboard, below):
    """Return the queue's count once the dashboard has deleted some but not all of the burst."""
    def mid_drain():
        dashboard.check_alive()
        n = count(storage)
        return n if 0 < n < below else None

    return wait_for(mid_drain, 30, f"the queue to drain below {below}", interval=0.002)


def drain_ids(storage, visibility_timeout=1):
    """Ids of every message visible now, taken for ``visibility_timeout`` s (then back)."""
    ids = set()
    while batch := storage.receive(visibility_timeout):
        ids.update(message.id for message in batch)
    return ids


@pytest.fixture
def own_storage(own_azurite):
    storage = Storage(own_azurite.connection_string, f"t-{uuid.uuid4().hex[:12]}", "pillow-web")
    storage.ensure()
    yield storage
    storage.close()


@pytest.mark.slow
def test_queue_outage_degrades_fast_keeps_the_picture_and_recovers_fast(
        own_azurite, own_storage, dashboards, record_property):
    """Azurite down for 30 s, then back on the same folder (shipped poll settings)."""
    storage = own_storage
    dashboard = dashboards(own_azurite.connection_string, storage.queue_name)
    screen = Screen(dashboard.url)
    storage.send(compose("HUGGING", "before the outage"))
    screen.wait("state", lambda s: s["text"] == "before the outage")
    # Hidden for 2 s: the dashboard cannot take it before Azurite is down, so it must survive
    # the outage in Azurite's folder and be applied after it.
    storage.queue.send_message(compose("SPINNING", "posted just before the outage"),
                               visibility_timeout=2)
    log_lines = len(dashboard.output().splitlines())

    down_at, down_wall = monotonic(), datetime.now(UTC)
    own_azurite.stop()
    wait_for(lambda: dashboard.health() == 503, DEGRADED_WITHIN + 5, "/healthz 503", 0.02)
    degraded = monotonic() - down_at
    figure(record_property, "seconds_to_degraded", round(degraded, 2))
    assert degraded <= DEGRADED_WITHIN

    _, down = screen.wait("status", lambda s: s["queue_ok"] is False)
    assert down_wall <= datetime.fromisoformat(down["since"]) <= datetime.now(UTC)
    assert down["reason"] == "storage unreachable" and AZURITE_KEY not in repr(down)
    health = dashboard.get("/healthz").json()
    assert health["status"] == "degraded" and health["since"] == down["since"]
    page = dashboard.get("/").text  # a kiosk reloaded now: last picture, link down since when
    assert "/static/img/hugging.svg" in page and "before the outage" in page
    assert "&#34;queue_ok&#34;: false" in page and down["since"] in page

    def outage_holds():  # the whole outage: server up, 503, state and picture unchanged
        dashboard.check_alive()
        assert dashboard.health() == 503
        assert dashboard.state()["text"] == "before the outage"
        return monotonic() - down_at >= OUTAGE

    wait_for(outage_holds, OUTAGE + 10, "the end of the outage", interval=0.25)
    assert [s["text"] for s in screen.received("state", after=down_at)] == []

    # Wall time before the start: the watcher may apply the late message before start() returns.
    up_wall = datetime.now(UTC)
    own_azurite.start()
    up_at = monotonic()  # recovery counts from when Azurite answers, once start() has returned
    wait_for(lambda: dashboard.health() == 200, RECOVERED_WITHIN + 5, "/healthz 200", 0.02)
    recovered = monotonic() - up_at
    figure(record_property, "seconds_to_recover", round(recovered, 2))
    assert recovered <= RECOVERED_WITHIN

    screen.wait("status", lambda s: s["queue_ok"] is True, after=down_at)
    _, late = screen.wait("state", lambda s: s["text"] == "posted just before the outage",
                          timeout=5)
    assert datetime.fromisoformat(late["received_at"]) >= up_wall  # applied after, not lost
    transitions = [s["queue_ok"] for s in screen.received("status")]
    assert transitions == [True, False, True], transitions  # on connect, down, up: no flapping
    wait_for(lambda: count(storage) == 0, 5, "the late message to be deleted")  # after the push
    assert poison_count(storage) == 0
    # One warning for the outage and one line for the recovery, not one per failed poll.
    new_lines = dashboard.output().splitlines()[log_lines:]
    assert len(new_lines) <= 10, "\n".join(new_lines)
    screen.close()


@pytest.mark.slow
def test_a_hung_queue_is_an_outage_too(own_azurite, own_storage, dashboards, record_property):
    """Azurite frozen (SIGSTOP): connections hang instead of being refused, as in a partition."""
    storage = own_storage
    dashboard = dashboards(own_azurite.connection_string, storage.queue_name,
                           VISIBILITY_TIMEOUT=HANG_VISIBILITY)
    screen = Screen(dashboard.url)
    storage.send(compose("PUNCHING", "before the hang"))
    screen.wait("state", lambda s: s["text"] == "before the hang")
    # Freeze between batches (the receive is what is bounded; a hang inside a batch's snapshot
    # save or deletes is caught only by /healthz's 5 s window, without a status event).
    wait_for(lambda: count(storage) == 0, 5, "the batch to be deleted")
    storage.queue.send_message(compose("THROWING", "posted just before the hang"),
                               visibility_timeout=1)
    frozen_at = monotonic()
    own_azurite.freeze()
    try:
        wait_for(lambda: dashboard.health() == 503, HANG_DEADLINE, "/healthz 503", 0.02)
        degraded = monotonic() - frozen_at
        screen.wait("status", lambda s: s["queue_ok"] is False)  # screens know too
        wait_for(lambda: monotonic() - frozen_at >= HANG and dashboard.health() == 503,
                 HANG + 5, "the end of the hang", interval=0.25)
        assert dashboard.state()["text"] == "before the hang"
    finally:
        own_azurite.thaw()
    thawed_at = monotonic()
    wait_for(lambda: dashboard.health() == 200, HANG_DEADLINE, "/healthz 200", 0.02)
    recovered = monotonic() - thawed_at
    figure(record_property, "hang_seconds_to_degraded", round(degraded, 2))
    figure(record_property, "hang_seconds_to_recover", round(recovered, 2))
    screen.wait("status", lambda s: s["queue_ok"] is True, after=thawed_at)
    # A receive abandoned during the hang is still run by Azurite when it thaws: it hides the
    # message for the visibility timeout, so the message comes within that, not at once.
    when, _ = screen.wait("state", lambda s: s["text"] == "posted just before the hang",
                          timeout=HANG_VISIBILITY + 5)
    figure(record_property, "hang_late_message_seconds_after_thaw", round(when - thawed_at, 2))
    screen.close()


@pytest.mark.slow
def test_sigkill_mid_drain_loses_nothing_and_ends_on_the_newest(
        azurite, storage, dashboards, record_property):
    """300 messages, SIGKILL while draining, restart: every one applied, the newest shown.

    The killed process still holds the lease for up to its period (15 s): the restarted one
    stands by (showing the snapshot) until it expires, then takes over.

    Accounting: the snapshot's ``applied_ids`` at the kill (what the restart restores) plus the
    ones after convergence cover every id the store has applied (or skipped as older). A message
    lost would be an id in neither and not in the poison queue.
    """
    ids = post_burst(storage)
    settings = {"VISIBILITY_TIMEOUT": CRASH_VISIBILITY, "POLL_MIN": 0.01}
    first = dashboards(azurite, storage.queue_name, ready=False, **settings)
    at_kill = wait_mid_drain(storage, first, below=250)
    first.kill()
    before = storage.load_snapshot() or {"applied_ids": []}
    assert len(before["applied_ids"]) < 256, "killed too late to account for every message"

    restarted_at = monotonic()
    second = dashboards(azurite, storage.queue_name, **settings)
    screen = Screen(second.url)
    seen = []

    def converged():
        second.check_alive()
        seen.append(index(second.state()))
        return count(storage) == 0 and seen[-1] == BURST - 1

    # The killed process's lease holds for up to 15 s: the restart stands by until it expires.
    wait_for(converged, 45, "the queue to drain and #299 to show", interval=0.05)
    recovery = monotonic() - restarted_at
    assert "standing by: another process holds the lease" in second.output()
    after = storage.load_snapshot()

    applied = set(before["applied_ids"]) | set(after["applied_ids"])
    lost = set(ids) - applied
    figure(record_property, "crash_queue_count_at_kill", at_kill)
    figure(record_property, "crash_seconds_restart_to_converged", round(recovery, 2))
    figure(record_property, "crash_messages_lost", len(lost))
    assert poison_count(storage) == 0 and not lost
    assert after["current"]["text"] == f"#{BURST - 1}"
    assert seen == sorted(seen), "an older message overwrote a newer one on /api/state"
    # /api/state may show #299 before its push has reached this screen.
    screen.wait("state", lambda s: s["text"] == f"#{BURST - 1}")
    pushed = [index(s) for s in screen.received("state")]
    assert pushed == sorted(pushed) and pushed[-1] == BURST - 1, pushed
    assert len(after["history"]) <= 50 and len(after["applied_ids"]) <= 256  # bounded
    screen.close()


@pytest.mark.slow
def test_sigterm_mid_drain_finishes_the_batch_saves_and_exits(
        azurite, storage, dashboards, record_property):
    """SIGTERM while draining: exit 0 within 5 s; every message applied and saved or untouched."""
    ids = post_burst(storage)
    first = dashboards(azurite, storage.queue_name, ready=False, POLL_MIN=0.01)
    wait_mid_drain(storage, first, below=250)
    code, took = first.stop(signal.SIGTERM)
    figure(record_property, "sigterm_mid_drain_exit_seconds", round(took, 2))
    assert code == 0 and took <= STOP_WITHIN, first.output()[-2000:]
    assert "stopped" in first.output()

    snapshot = storage.load_snapshot()
    applied = set(snapshot["applied_ids"])
    # Messages left are visible at once: none was taken and abandoned half-done (they would
    # stay hidden for the 10 s visibility timeout).
    left = drain_ids(storage)
    assert applied.isdisjoint(left), "a message was applied and saved but not deleted"
    assert applied | left == set(ids), "a message was taken but neither applied nor left"
    newest = max(ids.index(message_id) for message_id in applied)
    assert snapshot["current"]["text"] == f"#{newest}"  # the snapshot is the state at exit

    second = dashboards(azurite, storage.queue_name, POLL_MIN=0.01)
    wait_for(lambda: count(storage) == 0 and second.state()["text"] == f"#{BURST - 1}", 30,
             "the rest to be applied after the restart", interval=0.05)
    assert poison_count(storage) == 0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_with_open_screens_closes_them_and_exits_in_time(
        azurite, storage, dashboards, record_property, signum):
    dashboard = dashboards(azurite, storage.queue_name)
    screens = [Screen(dashboard.url) for _ in range(5)]
    storage.send(compose("SHAKING", "last words"))
    for screen in screens:
        screen.wait("state", lambda s: s["text"] == "last words")
    code, took = dashboard.stop(signum)
    figure(record_property, f"{signal.Signals(signum).name}_with_screens_exit_seconds",
           round(took, 2))
    assert code == 0 and took <= STOP_WITHIN, dashboard.output()[-2000:]
    wait_for(lambda: all(screen.disconnected_at for screen in screens), 5,
             "every screen to see its socket closed")
    assert storage.load_snapshot()["current"]["text"] == "last words"
    for screen in screens:
        screen.close()


@pytest.mark.slow
def test_sigterm_during_an_outage_exits_in_time(own_azurite, own_storage, dashboards,
                                                record_property):
    """The watcher is retrying a dead queue: a stop must not wait for storage to answer."""
    dashboard = dashboards(own_azurite.connection_string, own_storage.queue_name)
    own_azurite.stop()
    wait_for(lambda: dashboard.health() == 503, 10, "/healthz 503")
    code, took = dashboard.stop(signal.SIGTERM)
    figure(record_property, "sigterm_during_outage_exit_seconds", round(took, 2))
    assert code == 0 and took <= STOP_WITHIN, dashboard.output()[-2000:]


def test_a_batch_that_outlives_its_visibility_timeout_is_not_an_outage(storage):
    """A slow batch's message may come back and be received again before its delete.

    The late delete then gets 400 PopReceiptMismatch; that must not count as the queue being
    down (the new holder deletes it). This is what makes a short visibility timeout safe.
    """
    storage.send(compose("HUGGING"))
    [late] = storage.receive(visibility_timeout=1)
    again = wait_for(lambda: storage.receive(visibility_timeout=30), 10, "the message back")
    assert [message.id for message in again] == [late.id]
    storage.delete([late])  # raised HttpResponseError before: the watcher said "unreachable"
    storage.delete(again)
    assert count(storage) == 0


def test_deletes_cut_off_by_an_outage_raise_one_error_and_print_nothing(
        own_azurite, own_storage, capfd):
    """Deletes that cannot reach the queue fail the poll once, through the log.

    A delete greenlet that died with the error made gevent print a traceback per message past the
    logging, in the middle of an outage (the outage test's log-length check once caught it).
    """
    for state in ("HUGGING", "PUNCHING", "SHAKING"):
        own_storage.send(compose(state))
    batch = own_storage.receive(visibility_timeout=30)
    assert len(batch) == 3
    own_azurite.stop()
    capfd.readouterr()
    with pytest.raises(AzureError):
        own_storage.delete(batch)
    printed = "".join(capfd.readouterr())
    assert "Traceback" not in printed, printed


def test_a_stop_while_storage_hangs_keeps_to_its_deadline(own_azurite, own_storage, settings,
                                                          caplog):
    """SIGTERM must end the process within 5 s: a snapshot save that hangs is given up on (the
    messages it covers were not deleted, so they come back), not waited out for the SDK's ~30 s,
    and so is the release of the lease (it expires by itself).
    """
    from pillow_web.app import create_app
    from pillow_web.domain.messages import Message

    app = create_app({**settings, "CONNECTION_STRING": own_azurite.connection_string,
                      "QUEUE": own_storage.queue_name})
    pillow = app.extensions["pillow"]
    pillow.watcher.start()
    wait_for(lambda: pillow.watcher.role == "active", 10, "the watcher to hold the lease")
    own_azurite.freeze()  # before the store changes: the watcher's next poll cannot save it
    try:
        pillow.store.apply(Message("HUGGING"), "m-1", Message("HUGGING").stamp(datetime.now(UTC)))
        assert pillow.store.dirty
        started = monotonic()
        pillow.watcher.stop(timeout=1.0)
        took = monotonic() - started
    finally:
        own_azurite.thaw()
        pillow.storage.close()
    assert took < 3.0, f"stop took {took:.1f} s"
    assert pillow.store.dirty  # not saved, and known not to be
    assert "could not save the snapshot on stop: no answer" in caplog.text
