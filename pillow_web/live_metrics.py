"""Metrics read at scrape time from one dashboard: its queues' link, lease, depth and poison count,
its pillows' states, its screens and its build; and the exposition of a scrape.

Queue depth and poison count each cost a storage request, so a scrape asks for at most one of
them per queue, and only once ``COUNT_EVERY`` seconds have passed since that queue's last request:
the two take turns, each is then at most ``2 × COUNT_EVERY`` old, and a queue costs at most one
request per ``COUNT_EVERY`` whatever the scrape rate (several processes each make their own).
"""

from importlib.metadata import PackageNotFoundError, version
from time import monotonic

import gevent
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import choose_encoder

from .metrics import REGISTRY

COUNT_EVERY = 15.0  # seconds between two storage requests for one queue's figures
COUNT_TIMEOUT = 2.0  # a scrape waits this long for storage at most; then the figure is unknown
FIGURES = ("depth", "poison_count")  # Storage methods, asked in turn


def package_version():
    try:
        return version("pillow-web")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class QueueFigures:
    """One queue's depth and poison count, each refreshed in turn at most every COUNT_EVERY s."""

    def __init__(self, storage):
        self.storage = storage
        self.values = dict.fromkeys(FIGURES)  # None: not known (yet, or the last ask failed)
        self._asked = None  # monotonic time of the last request
        self._next = 0  # index in FIGURES of the figure to ask next

    def current(self):
        """``{figure: value or None}``, after asking storage for one figure if it is time."""
        now = monotonic()
        if self._asked is None or now - self._asked >= COUNT_EVERY:
            self._asked = now  # first: a scrape arriving while this one waits asks nothing
            figure = FIGURES[self._next]
            self._next = (self._next + 1) % len(FIGURES)
            value = None
            with gevent.Timeout(COUNT_TIMEOUT, False):  # False: give up silently
                value = getattr(self.storage, figure)()  # None while the queue cannot say
            self.values[figure] = value
        return dict(self.values)


class DashboardCollector:
    """A prometheus_client collector of one dashboard's live values."""

    def __init__(self, dashboard, build_id):
        self.dashboard = dashboard
        self.build = {"build_id": build_id, "version": package_version(), "role": dashboard.role}
        self.figures = {live.storage.queue_name: QueueFigures(live.storage)
                        for live in dashboard.queues}

    def collect(self):
        dashboard = self.dashboard
        build = InfoMetricFamily("pillow_build", "This process's build and role.")
        build.add_metric([], self.build)
        yield build
        link = GaugeMetricFamily("pillow_queue_link_up", "1 while this process reaches its queue "
                                 "(role web: while the watcher's report and snapshot do), else 0.",
                                 labels=["queue"])
        lease = GaugeMetricFamily("pillow_lease_held", "1 while this process holds the queue's "
                                  "lease: it is the queue's one consumer.", labels=["queue"])
        depth = GaugeMetricFamily("pillow_queue_depth", "Messages waiting in the queue "
                                  "(approximate; refreshed every 30 s at most).", labels=["queue"])
        poison = GaugeMetricFamily("pillow_poison_messages", "Messages in the poison queue "
                                   "(approximate; refreshed every 30 s at most).", labels=["queue"])
        for live in dashboard.queues:
            queue, watcher = live.storage.queue_name, live.watcher
            if dashboard.role == "web":
                link.add_metric([queue], float(bool(watcher.status()["queue_ok"])))
            else:
                link.add_metric([queue], float(watcher.link.healthy()))
                lease.add_metric([queue], float(watcher.role == "active"))
            figures = self.figures[queue].current()
            if figures["depth"] is not None:
                depth.add_metric([queue], figures["depth"])
            if figures["poison_count"] is not None:
                poison.add_metric([queue], figures["poison_count"])
        yield from (link, lease, depth, poison)
        state = InfoMetricFamily("pillow_state", "Each pillow's current state (once its queue's "
                                 "snapshot is read).", labels=["queue", "pillow"])
        for live in dashboard.pillows.values():
            if live.watcher.loaded.is_set():
                state.add_metric([live.storage.queue_name, live.id],
                                 {"state": live.store.current.state})
        yield state
        if dashboard.role != "watcher":  # (which serves no screens)
            yield GaugeMetricFamily("pillow_screens_connected",
                                    "Screens (Socket.IO connections) of this process.",
                                    value=len(dashboard.screens))


class Shared:
    """The module registry's metrics, as one collector of a dashboard's registry."""

    def collect(self):
        return REGISTRY.collect()


def scrape_registry(dashboard, build_id):
    """A registry of everything one dashboard's ``/metrics`` shows."""
    registry = CollectorRegistry()
    registry.register(Shared())
    registry.register(DashboardCollector(dashboard, build_id))
    return registry


def exposition(registry, accept=""):
    """``(body, content type)`` of a ``/metrics`` answer: Prometheus text format, or OpenMetrics
    if the ``Accept`` header asks for it (as Prometheus does), as prometheus_client's own apps."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
