"""A pillow as an app holds it (``LivePillow``), and the pillows of the settings, each with its
queue's storage and watcher (``watch_pillows``)."""

from dataclasses import dataclass, field

from .domain.catalog import Catalog
from .domain.pillows import Pillow, QueueState
from .domain.warnings import Thresholds
from .storage.account import Storage


@dataclass
class LivePillow:
    pillow: Pillow
    storage: Storage  # its queue's
    queue_state: QueueState
    watcher: object  # its queue's Watcher (roles all, watcher) or RemoteWatcher (role web)
    thresholds: Thresholds = field(default_factory=Thresholds)  # its queue's warnings'
    shown: object = None  # the process's pushes.ShownStates: what its screens were given

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
        if not self.watcher.loaded.is_set():
            return None
        payload = self.queue_state.payload(self.id)
        # The store follows the snapshot, a poll behind what Redis may have brought the screens.
        return self.shown.newest(payload) if self.shown is not None else payload

    def status(self):
        """Its ``status`` event: its queue's link, and which pillows that is about."""
        return {**self.watcher.status(), "pillows": list(self.queue_state.stores)}


def queues_of(settings):
    """The queues of the PILLOWS setting, each once, in order."""
    return list(dict.fromkeys(pillow["queue"] for pillow in settings["PILLOWS"]))


def watch_pillows(settings, make_watcher, shown=None):
    """``[LivePillow]`` of the PILLOWS setting, in its order; ``make_watcher(storage, state)``
    makes the watcher of each queue; ``shown``: the process's ``ShownStates``, if it has
    screens. Nothing connects here."""
    catalogs, queues = {}, {}
    for spec in settings["PILLOWS"]:
        path = spec["states_file"]
        if path not in catalogs:
            catalogs[path] = Catalog.from_file(path)
        pillow = Pillow(spec["id"], spec["name"], spec["queue"], catalogs[path],
                        spec.get("silent_after", 0), spec.get("silent_shows_notconnected", False))
        queues.setdefault(pillow.queue, []).append(pillow)
    live, first = {}, None
    thresholds = Thresholds(settings["WARN_WAITING_AGE"], settings["WARN_POISON_MINUTES"])
    for queue, pillows in queues.items():
        # One connection pool and one credential for every queue of the account.
        storage = first.on_queue(queue) if first else Storage.from_settings(settings, queue)
        first = first or storage
        state = QueueState(pillows)
        watcher = make_watcher(storage, state)
        for pillow in pillows:
            live[pillow.id] = LivePillow(pillow, storage, state, watcher, thresholds, shown)
    return [live[spec["id"]] for spec in settings["PILLOWS"]]
