"""Metrics read at scrape time from one dashboard: its queues' link, lease, depth, oldest message
age and poison count, its pillows' states, its screens and its build; and the exposition of a
scrape.

The queue's figures are its watcher's (``queue_figures()``, see ``watch.sampler``): one cache per
queue, shared with the console and the warnings. The active watcher knows them from its own
receives; any other process asks storage for one of them at most every 15 s, whatever the
scrape rate.
"""

from importlib.metadata import PackageNotFoundError, version

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import choose_encoder

from .metrics import REGISTRY


def package_version():
    try:
        return version("pillow-web")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class DashboardCollector:
    """A prometheus_client collector of one dashboard's live values."""

    def __init__(self, dashboard, build_id):
        self.dashboard = dashboard
        self.build = {"build_id": build_id, "version": package_version(), "role": dashboard.role}

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
                                  "(approximate; at most 45 s old).", labels=["queue"])
        oldest = GaugeMetricFamily("pillow_queue_oldest_message_age_seconds", "Age of the oldest "
                                   "message waiting in the queue, 0 when none waits (at most "
                                   "45 s old).", labels=["queue"])
        poison = GaugeMetricFamily("pillow_poison_messages", "Messages in the poison queue "
                                   "(approximate; at most 60 s old).", labels=["queue"])
        for live in dashboard.queues:
            queue, watcher = live.storage.queue_name, live.watcher
            if dashboard.role == "web":
                link.add_metric([queue], float(bool(watcher.status()["queue_ok"])))
            else:
                link.add_metric([queue], float(watcher.link.healthy()))
                lease.add_metric([queue], float(watcher.role == "active"))
            figures = watcher.queue_figures()
            if figures["depth"] is not None:
                depth.add_metric([queue], figures["depth"])
            if figures["oldest_age"] is not None or figures["depth"] == 0:
                oldest.add_metric([queue], figures["oldest_age"] or 0.0)
            if figures["poison_count"] is not None:
                poison.add_metric([queue], figures["poison_count"])
        yield from (link, lease, depth, oldest, poison)
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
