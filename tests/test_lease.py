"""The blob lease that elects one consumer per queue, against a real Azurite."""

from time import monotonic

import gevent
import pytest
from azure.core.exceptions import HttpResponseError
from gevent.event import Event

from pillow_web.storage.account import UNCHANGED
from pillow_web.storage.lease import Lease

from .util import wait_for


@pytest.fixture
def two(storage):
    """Two would-be consumers of one queue: two leases on its snapshot blob."""
    return Lease(storage.snapshot_blob), Lease(storage.snapshot_blob)


def test_only_one_holds_the_lease(two):
    first, second = two
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    assert first.acquire()  # taking it again while held is holding it still
    assert first.renew() and not second.renew()


def test_a_release_lets_a_standby_take_over_at_once(two):
    first, second = two
    first.acquire()
    first.release()
    assert not first.held()
    assert second.acquire()


def test_writes_are_fenced_by_the_lease(storage, two):
    first, second = two
    first.acquire()
    storage.save_snapshot({"by": "first"}, lease=first.id)
    with pytest.raises(HttpResponseError) as refused:
        storage.save_snapshot({"by": "second"}, lease=second.id)
    assert refused.value.error_code == "LeaseIdMismatchWithBlobOperation"
    with pytest.raises(HttpResponseError):
        storage.save_snapshot({"by": "nobody"})  # without the lease id
    assert storage.load_snapshot() == {"by": "first"}


def test_the_snapshot_is_read_again_only_when_it_changed(storage, two):
    first, _ = two
    first.acquire()
    assert storage.load_snapshot_if_changed(None) == (None, storage.load_snapshot_if_changed(
        None)[1])  # the lease's empty blob is no snapshot
    storage.save_snapshot({"n": 1}, lease=first.id)
    snapshot, etag = storage.load_snapshot_if_changed(None)
    assert snapshot == {"n": 1}
    assert storage.load_snapshot_if_changed(etag) == (UNCHANGED, etag)
    storage.save_snapshot({"n": 2}, lease=first.id)
    assert storage.load_snapshot_if_changed(etag)[0] == {"n": 2}


@pytest.mark.slow
def test_a_holder_that_stops_renewing_lets_go_before_azure_frees_the_lease(two):
    first, second = two
    assert first.acquire()
    acquired = monotonic()
    wait_for(lambda: not first.held(), timeout=20, message="the holder to let go")
    let_go = monotonic() - acquired
    assert let_go <= first.duration - first.margin + 0.5
    assert not second.acquire()  # Azure still holds it for the first: no overlap, ever
    taken = wait_for(second.acquire, timeout=20, interval=0.2, message="the standby to take it")
    assert taken and monotonic() - acquired <= first.duration + 1.5


def test_keep_renews_and_reports_when_holding_starts_and_ends(two):
    first, second = two
    changes = []
    stopping = Event()
    keeper = gevent.spawn(first.keep, stopping, 0.2, changes.append)
    wait_for(lambda: changes == [True], message="the keeper to take the lease")
    assert not second.acquire()
    stopping.set()
    keeper.join(5)
    assert changes == [True, False]
    first.release()
    assert second.acquire()
