"""Several pillows scaled out: a ``pillow-web watch`` process consumes two queues (a lease on
each queue's snapshot blob) and pushes through a real Redis to a ``serve --role web`` worker,
whose screens should each get their own pillow's changes only. Every process reads the
[[pillow]] tables from the file named by PILLOW_CONFIG, as a deployment does."""

import uuid
from types import SimpleNamespace

import pytest

from pillow_web.domain.messages import compose
from pillow_web.pushes import Sender

from .pillows import TOKEN, Queues, Screens, post, queues_for, write_pillows
from .roles import Instances
from .util import wait_for

WATCH, WEB = ("watch",), ("serve", "--role", "web")
PILLOWS = ("hall", "den")
# A web worker that follows the snapshot only every 30 s: what its screens get within seconds
# came through Redis.
SLOW_FOLLOWER = {"POLL_MAX": 30}


@pytest.fixture(scope="module")
def fleet(azurite, redis_url, tmp_path_factory):
    """A watcher and a web worker of hall and den, each pillow on a queue of its own."""
    folder = tmp_path_factory.mktemp("pillows-roles")
    queues = queues_for(f"r-{uuid.uuid4().hex[:8]}", PILLOWS)
    settings = {"CONFIG": write_pillows(folder / "pillows.toml", queues),
                "MESSAGE_QUEUE": redis_url, "OPERATOR_TOKEN": TOKEN}
    instances = Instances(folder)
    try:
        with Queues(azurite, queues) as send:
            watcher = instances.start(azurite, queues["hall"], command=WATCH, **settings)
            worker = instances.start(azurite, queues["hall"], command=WEB, **SLOW_FOLLOWER,
                                     **settings)
            yield SimpleNamespace(watcher=watcher, worker=worker, send=send)
    finally:
        instances.close()


@pytest.fixture
def screens():
    with Screens() as opened:
        yield opened


def lease_state(storage):
    """The lease state of a queue's snapshot blob ("leased", "available", ...)."""
    return storage.snapshot_blob.get_blob_properties().lease.state


def test_the_watcher_leases_each_queue_and_reports_every_pillow(fleet):
    for pillow in PILLOWS:
        wait_for(lambda pillow=pillow: lease_state(fleet.send.storage(pillow)) == "leased", 10,
                 f"the lease on {pillow}'s snapshot blob")
    blobs = {fleet.send.storage(pillow).snapshot_blob.url for pillow in PILLOWS}
    assert len(blobs) == len(PILLOWS)
    health = fleet.watcher.get("/healthz")
    assert health.status_code == 200 and health.json()["role"] == "active"
    assert health.json()["pillows"] == {
        pillow: {"status": "ok", "queue_ok": True, "reason": None} for pillow in PILLOWS}
    worker = fleet.worker.get("/healthz").json()  # it saw the watcher's report of each queue
    assert (worker["status"], worker["role"], set(worker["pillows"])) == ("ok", "web",
                                                                          set(PILLOWS))


def test_a_web_workers_screens_get_their_own_pillows_changes_only(fleet, screens):
    tag = uuid.uuid4().hex[:8]
    hall, den = (screens(fleet.worker.url, {"pillow": pillow}) for pillow in PILLOWS)
    overview = screens(fleet.worker.url, {"overview": True})
    fleet.send(compose("HUGGING", f"hall {tag}"), "hall")  # the pillow's own message
    for screen in (hall, overview):
        screen.wait("state", lambda data: data["text"] == f"hall {tag}", timeout=5)
    posted = post(fleet.worker, "den", "spinning", f"den {tag}")
    assert posted.status_code == 202, posted.text  # the worker wakes den's queue's watcher
    for screen in (den, overview):
        screen.wait("state", lambda data: data["text"] == f"den {tag}", timeout=5)
    assert {("hall", f"hall {tag}"), ("den", f"den {tag}")} <= set(overview.texts())
    # Pushes to one socket keep their order: the hall's change came before the den's.
    assert {pillow for pillow, _ in den.texts()} == {"den"}, den.texts()
    assert {pillow for pillow, _ in hall.texts()} == {"hall"}, hall.texts()


def test_a_sender_pushes_the_states_of_two_pillows_asked_for_at_once():
    sent = []
    sender = Sender(lambda event, data: sent.append((event, data)))
    try:  # as a watcher's _publish does for a batch that changed both pillows of its queue
        sender("state", {"pillow": "attic", "text": "up"})
        sender("state", {"pillow": "porch", "text": "down"})
        sender("status", {"status": "ok", "pillows": ["hall"]})
        sender("status", {"status": "degraded", "pillows": ["den"]})
        # The last one asked for always leaves, after the others (a Sender keeps the order).
        wait_for(lambda: ("status", {"status": "degraded", "pillows": ["den"]}) in sent, 2,
                 "the last push to leave")
        assert [data.get("pillow") or data["pillows"] for _, data in sent] == [
            "attic", "porch", ["hall"], ["den"]]
    finally:
        sender.close()


def test_two_pillows_changed_in_one_batch_both_reach_a_web_workers_screens(
        azurite, redis_url, dashboards, tmp_path, screens):
    queues = queues_for(f"c-{uuid.uuid4().hex[:8]}", ("attic", "porch"))  # one shared queue
    settings = {"CONFIG": write_pillows(tmp_path / "pillows.toml", queues),
                "MESSAGE_QUEUE": redis_url}
    worker = dashboards(azurite, queues["attic"], ready=False, command=WEB, **SLOW_FOLLOWER,
                        **settings)
    wait_for(lambda: worker.health() is not None, 30, "the web worker to answer")
    attic, porch = (screens(worker.url, {"pillow": pillow}) for pillow in ("attic", "porch"))
    for screen in (attic, porch):
        screen.wait("state", timeout=10)  # the initial state: no snapshot yet
    with Queues(azurite, queues) as send:
        send.storage("attic").ensure()
        send.say("SPINNING", "attic's", "attic")
        send.say("SHAKING", "porch's", "porch")
    # The all-in-one (rooms and all) consumes both in its first batch and pushes through Redis.
    dashboards(azurite, queues["attic"], **settings)
    porch.wait("state", lambda data: data["text"] == "porch's", timeout=10)
    attic.wait("state", lambda data: data["text"] == "attic's", timeout=5)
