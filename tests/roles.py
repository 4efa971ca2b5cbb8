"""Helpers for the tests of roles and the lease: several ``pillow-web`` processes on one queue."""

from datetime import UTC, datetime, timedelta
from time import monotonic

import gevent

from pillow_web.domain.messages import compose
from pillow_web.storage.lease import DURATION

from .procs import Dashboard
from .util import wait_for

TAKEOVER_AFTER_KILL = DURATION + 2.0  # seconds: the lease period plus one poll and a margin
TAKEOVER_AFTER_STOP = 2.5  # seconds: a release, then the standby's next try (1 s apart)
NAMES = ["HUGGING", "PUNCHING", "SHAKING", "SPINNING", "THROWING"]


class Instances:
    """``start(connection_string, queue, command=("serve",), ready=True, **settings)`` starts a
    ``pillow-web`` subprocess (a ``procs.Dashboard``); ``close()`` kills what is left running."""

    def __init__(self, folder):
        self.folder = folder
        self.started = []

    def start(self, connection_string, queue, command=("serve",), ready=True, **settings):
        log = self.folder / f"{command[0]}-{len(self.started)}.log"
        instance = Dashboard(connection_string, log, queue, command=command, **settings)
        self.started.append(instance)
        return instance.start(ready=ready)

    def close(self):
        for instance in self.started:
            instance.close()


def role(instance):
    """``/healthz``'s role ("active" or "standby"), or None while it does not answer."""
    try:
        return instance.get("/healthz").json().get("role")
    except (OSError, ValueError):  # requests' errors are OSErrors, its JSON errors ValueErrors
        return None


def active_and_standby(connection_string, queue, instances, **settings):
    """Start two all-in-one instances on ``queue``: the first takes the lease, the second not."""
    first = instances(connection_string, queue, **settings)
    wait_for(lambda: role(first) == "active", 10, "the first instance to be active")
    second = instances(connection_string, queue, **settings)  # healthy (200): ready
    assert role(second) == "standby", second.output()[-2000:]
    return first, second


def numbers(screen, after=0.0):
    return [int(state["text"].lstrip("#")) for state in screen.received("state", after=after)
            if state["text"].startswith("#")]


def strictly_increasing(values):
    return all(a < b for a, b in zip(values, values[1:], strict=False))


def numbered(i, at=None):
    return compose(NAMES[i % len(NAMES)], f"#{i}", at)


def send_steadily(storage, ids, count_, rate):
    """Send ``#1``..``#count_`` at ``rate`` per second, stamped in order; ids go to ``ids``."""
    started, first = monotonic(), datetime.now(UTC)
    for i in range(1, count_ + 1):
        at = (first + timedelta(milliseconds=i)).isoformat()
        ids.append(storage.send(numbered(i, at)).id)
        gevent.sleep(max(0.0, started + i / rate - monotonic()))  # the pace, not a wait
