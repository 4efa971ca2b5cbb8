"""A state Redis held while it hung never takes a screen back (found by the chaos run, seed 1).

The consumer's push of a change went to a Redis that hung (SIGSTOP); the web worker's snapshot
follower pushed the newer changes to its screens meanwhile; when Redis answered again it handed
the held push over, and the screens showed the older state for a moment. Real processes: an
all-in-one ``serve`` consuming, a ``serve --role web`` worker, redis-server, Azurite.
"""

from .test_roles_web import Fleet, post
from .util import wait_for


def test_a_push_held_by_a_hung_redis_does_not_step_screens_back(dashboards, azurite,
                                                                 redis_server):
    fleet = Fleet(dashboards, azurite, redis_server.url)
    try:
        consumer, worker = fleet.consumer(), fleet.web()
        screen = fleet.screen(worker.url)
        post(consumer, "HUGGING", text="before")
        screen.wait("state", lambda data: data["text"] == "before", timeout=10)
        redis_server.freeze()
        try:
            post(consumer, "SHAKING", text="held by Redis")  # published into the hung Redis
            post(consumer, "SPINNING", text="newer")
            # Redis is hung: the worker's follower brings it, from the snapshot.
            screen.wait("state", lambda data: data["text"] == "newer", timeout=15)
        finally:
            redis_server.thaw()
        # Redis answers again; a change after that arrives through it, after the held one.
        wait_for(lambda: worker.get("/healthz").json()["message_queue_ok"], 15,
                 "the worker to reach Redis again")
        post(consumer, "THROWING", text="after")
        screen.wait("state", lambda data: data["text"] == "after", timeout=10)
        shown = [data["text"] for data in screen.received("state")]
        assert "held by Redis" not in shown[shown.index("newer"):], shown
    finally:
        fleet.close()


def test_a_screen_that_connects_gets_what_redis_brought_not_the_older_snapshot(
        dashboards, azurite, redis_server):
    """A web worker's own state follows the snapshot, a poll behind Redis: a screen that
    reconnected there was greeted with a state older than the one it had (chaos run, seed
    20261128)."""
    fleet = Fleet(dashboards, azurite, redis_server.url)
    try:
        consumer = fleet.consumer()
        post(consumer, "HUGGING", text="before")
        wait_for(lambda: consumer.state()["text"] == "before", 10, "the first change applied")
        worker = fleet.web(POLL_MAX=30)  # its follower reads the snapshot at start, then 30 s on
        first = fleet.screen(worker.url)
        first.wait("state", lambda data: data["text"] == "before", timeout=10)
        post(consumer, "SHAKING", text="through Redis")
        first.wait("state", lambda data: data["text"] == "through Redis", timeout=10)
        second = fleet.screen(worker.url)
        _, greeting = second.wait("state", timeout=10)
        assert greeting["text"] == "through Redis"
        assert worker.state()["text"] == "through Redis"  # /api/state: the same
    finally:
        fleet.close()
