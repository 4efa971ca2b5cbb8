"""Everything one app owns: its pillows, a watcher per queue they use, and the fleet.

``app.extensions["pillow"]`` is the ``Dashboard``. Each pillow is a ``LivePillow``: what it is
(``domain.pillows.Pillow``), its state (a store of its queue's ``QueueState``), and its queue's
storage and watcher, which it shares with the other pillows on that queue.
"""

from dataclasses import dataclass, field
from itertools import islice

import gevent

from .domain.catalog import Catalog
from .domain.pillows import Pillow, QueueState
from .fleet import MESSAGE_QUEUE_DOWN, Fleet
from .fleet_screens import LISTED
from .storage.account import Storage

STATUS_RANK = {"ok": 0, "starting": 1, "degraded": 2}  # the worst pillow's is the dashboard's


@dataclass
class LivePillow:
    pillow: Pillow
    storage: Storage  # its queue's
    queue_state: QueueState
    watcher: object  # its queue's Watcher (roles all, watcher) or RemoteWatcher (role web)

    @property
    def id(self):
        return self.pillow.id

    @property
    def name(self):
        return self.pillow.name

    @property
    def catalog(self):
        return self.pillow.catalog

    @property
    def store(self):
        return self.queue_state.stores[self.id]

    @property
    def timeline(self):
        """Its queue's ``TimelineKeeper``: the last 24 hours of states."""
        return self.watcher.timeline

    @property
    def shared_queue(self):
        """Whether its queue serves other pillows too: its messages must then name it."""
        return self.queue_state.shared

    def payload(self):
        """Its ``state`` event, or None until its queue's snapshot is read (the store holds the
        catalog's initial state then, not the pillow's)."""
        return self.queue_state.payload(self.id) if self.watcher.loaded.is_set() else None

    def status(self):
        """Its ``status`` event: its queue's link, and which pillows that is about."""
        return {**self.watcher.status(), "pillows": list(self.queue_state.stores)}


def queues_of(settings):
    """The queues of the PILLOWS setting, each once, in order."""
    return list(dict.fromkeys(pillow["queue"] for pillow in settings["PILLOWS"]))


def watch_pillows(settings, make_watcher):
    """``[LivePillow]`` of the PILLOWS setting, in its order; ``make_watcher(storage, state)``
    makes the watcher of each queue. Nothing connects here."""
    catalogs, queues = {}, {}
    for spec in settings["PILLOWS"]:
        path = spec["states_file"]
        if path not in catalogs:
            catalogs[path] = Catalog.from_file(path)
        pillow = Pillow(spec["id"], spec["name"], spec["queue"], catalogs[path])
        queues.setdefault(pillow.queue, []).append(pillow)
    live, first = {}, None
    for queue, pillows in queues.items():
        # One connection pool and one credential for every queue of the account.
        storage = first.on_queue(queue) if first else Storage.from_settings(settings, queue)
        first = first or storage
        state = QueueState(pillows)
        watcher = make_watcher(storage, state)
        for pillow in pillows:
            live[pillow.id] = LivePillow(pillow, storage, state, watcher)
    return [live[spec["id"]] for spec in settings["PILLOWS"]]


@dataclass
class Dashboard:
    """The pillows (the first is the default one, at ``/``), how pushes leave this process
    (``push(event, data)``: to the screens of every process, through the fleet), and this
    process's screens. ``store``, ``watcher``, ``catalog`` and ``storage`` are the default
    pillow's."""

    pillows: dict  # id -> LivePillow
    push: object
    fleet: Fleet = field(default_factory=Fleet)
    role: str = "all"  # or "web" (pages, no watcher) or "watcher" (a watcher, no pages)
    # This process's screens: Socket.IO id -> what the console lists (fleet_screens.screen_info)
    screens: dict = field(default_factory=dict)

    @property
    def default(self):
        return next(iter(self.pillows.values()))

    def pillow(self, pillow_id=None):
        """The pillow ``pillow_id`` names (None or empty: the default one); None if unknown."""
        return self.pillows.get(pillow_id) if pillow_id else self.default

    @property
    def store(self):
        return self.default.store

    @property
    def watcher(self):
        return self.default.watcher

    @property
    def catalog(self):
        return self.default.catalog

    @property
    def storage(self):
        return self.default.storage

    @property
    def queues(self):
        """One pillow of each queue, in order: its watcher and storage are the queue's."""
        return list({pillow.storage.queue_name: pillow for pillow in self.pillows.values()}
                    .values())

    @property
    def window(self):
        """Seconds ``serve`` waits for the snapshots before it answers "starting"."""
        return self.watcher.window if self.role == "web" else self.watcher.link.window

    def loaded(self):
        """The events set once each queue's snapshot is read."""
        return [pillow.watcher.loaded for pillow in self.queues]

    def start(self):
        for pillow in self.queues:
            pillow.watcher.start()
            if self.role != "web":
                self.fleet.serve_watcher(pillow.watcher, pillow.storage.queue_name)
        if self.role != "watcher":  # (which serves no screens)
            self.fleet.serve_screens(lambda: len(self.screens),
                                     lambda: list(islice(self.screens.values(), LISTED)))

    def stop(self, timeout):
        """Stop every queue's watcher at once: each finishes its batch, saves and releases."""
        gevent.joinall([gevent.spawn(pillow.watcher.stop, timeout) for pillow in self.queues])
        self.fleet.close()

    def close(self):
        for pillow in reversed(self.queues):  # the first one's clients serve them all
            pillow.storage.close()

    def wake_watcher(self, pillow=None):
        """Poll ``pillow``'s queue (None: every queue) now, wherever its watcher runs."""
        queue = pillow.storage.queue_name if pillow else None
        for live in [pillow] if pillow else self.queues:
            live.watcher.wake()  # (a web worker's wakes it through the fleet)
        if self.role == "all":
            self.fleet.wake_watcher(queue)  # this one may be a standby: wake the active one too

    def screen_count(self):
        return self.fleet.screens(len(self.screens))

    def screen_list(self):
        """The screens of every process (as many as each lists), longest connected first."""
        others = self.fleet.other_screen_list if self.fleet.shared else []
        return sorted([*self.screens.values(), *others], key=lambda screen: screen["since"])

    def health(self, detail=False):
        """``/healthz`` (and, with ``detail``, the console): the worst of the pillows' queue
        health, and with several pillows each one's in ``pillows``."""
        by_queue = {pillow.storage.queue_name: self.queue_health(pillow.watcher, detail)
                    for pillow in self.queues}
        health = dict(by_queue[self.default.storage.queue_name])
        worst = max(by_queue.values(), key=lambda each: STATUS_RANK.get(each["status"], 2))
        if STATUS_RANK.get(worst["status"], 2) > STATUS_RANK.get(health["status"], 2):
            health.update(status=worst["status"], queue_ok=False, reason=worst["reason"])
        if len(self.pillows) == 1:
            return health  # the pillow's own, as a dashboard of one always answered
        keys = ("status", "queue_ok", "reason", "last_error") if detail else (
            "status", "queue_ok", "reason")
        health["pillows"] = {
            pillow.id: {key: by_queue[pillow.storage.queue_name].get(key) for key in keys}
            for pillow in self.pillows.values()}
        return health

    def queue_health(self, watcher, detail=False):
        """The health of one queue's watcher (as ``health``, of that queue only)."""
        if self.role == "web":
            return watcher.health(detail)
        health = watcher.link.status(detail=detail)
        if self.fleet.shared:
            health["message_queue_ok"] = self.fleet.healthy()
            if health["status"] == "ok" and not health["message_queue_ok"]:
                health.update(status="degraded", reason=MESSAGE_QUEUE_DOWN)
            if detail:
                health.update(message_queue=self.fleet.shown_url,
                              message_queue_error=self.fleet.error)
        return health
