"""A holder whose lease renewal failed consumes again only once a renewal worked (found by the
chaos run, seed 2).

Azurite forgets its leases when it restarts. The holder's own clock still gave it seconds of
lease, so after the restart it could receive beside a standby that had taken the lease at once.
Real Azurite, stopped and started again on its data folder; the consumer and leases in-process.
"""

import uuid

import gevent
import pytest
from gevent.event import Event

from pillow_web import config
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import compose
from pillow_web.domain.pillows import Pillow, QueueState
from pillow_web.storage.account import Storage
from pillow_web.storage.lease import Lease
from pillow_web.watch.consumer import Consumer, LeaseLost
from pillow_web.watch.link import Link

from .util import wait_for


def test_after_a_failed_renewal_the_holder_waits_for_one_that_works(own_azurite):
    queue = f"f-{uuid.uuid4().hex[:12]}"
    storage = Storage(own_azurite.connection_string, queue, "pillow-web")
    rival_storage = Storage(own_azurite.connection_string, queue, "pillow-web")
    try:
        storage.ensure()
        catalog = Catalog.from_file(config.ROOT / "config" / "states.toml")
        state = QueueState([Pillow("default", "Pillow", queue, catalog)])
        settings = {"POLL_MIN": 0.05, "POLL_MAX": 0.2, "VISIBILITY_TIMEOUT": 5,
                    "MAX_DEQUEUE": 5}
        consumer = Consumer(storage, state, settings, Link(0.2, queue, lambda *args: None),
                            lambda: None)
        consumer.lease = lease = Lease(storage.snapshot_blob)
        assert lease.acquire()
        own_azurite.stop()
        stopping = Event()
        keeper = gevent.spawn(lease.keep, stopping, 0.2)
        wait_for(lambda: not lease.confirmed(), 15, "a renewal to fail")
        stopping.set()
        keeper.join(5)
        assert lease.held()  # by its own clock: seconds of lease left
        own_azurite.start()
        rival = Lease(rival_storage.snapshot_blob)
        assert rival.acquire()  # the restarted Azurite forgot the lease
        storage.send(compose("HUGGING", "for the rival"))
        assert consumer.poll_once() == 0
        waiting = storage.queue.peek_messages(max_messages=1)
        assert [m.dequeue_count for m in waiting] == [0]  # not received
        assert lease.renew() is False  # the renewal tells: taken
        with pytest.raises(LeaseLost):
            consumer.poll_once()
    finally:
        storage.close()
        rival_storage.close()
