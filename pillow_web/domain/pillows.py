"""Pillows: each one's id, name, queue and catalog, and the states of the pillows one queue serves.

A queue serves one pillow (its messages need not say which) or several, whose messages each name
theirs (``"pillow": "hall"``). The states of a queue's pillows are saved together, in the queue's
one snapshot: a batch is then saved in one write, fenced by the queue's one lease. A queue of one
pillow keeps the snapshot format it always had.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from .catalog import Catalog
from .messages import Rejected
from .state import SNAPSHOT_VERSION, BadSnapshot, StateStore, isotime
from .warnings import SILENT_STATE, silent_since

DEFAULT_ID = "default"  # the pillow of a dashboard that configures none


@dataclass(frozen=True)
class Pillow:
    id: str
    name: str
    queue: str
    catalog: Catalog
    silent_after: int = 0  # seconds without a message after which it counts as silent; 0: never
    silent_shows_notconnected: bool = False  # its screens then show SILENT_STATE


class QueueState:
    """The state of each pillow on one queue, with a ``StateStore``'s interface for the watcher:
    ``apply`` routes a message to its pillow's store."""

    def __init__(self, pillows):
        self.pillows = {pillow.id: pillow for pillow in pillows}
        self.stores = {pillow.id: StateStore(pillow.catalog) for pillow in pillows}
        self.first = pillows[0].id  # the one a snapshot of the single-pillow format is for
        self.shared = len(pillows) > 1

    def states_for(self, pillow):
        """The state names a message for ``pillow`` may name (``messages.parse``); Rejected
        if this queue does not serve it, or it names none on a shared queue."""
        served = ", ".join(self.stores)
        if pillow is None and self.shared:
            raise Rejected(f'message names no pillow, and this queue serves several ({served}): '
                           'add "pillow": "<id>"')
        if pillow is not None and pillow not in self.stores:
            raise Rejected(f"unknown pillow {pillow!r}; this queue serves {served}")
        return self.stores[pillow or self.first].catalog.names

    def store_for(self, message):
        """The store of the pillow ``message`` (parsed with ``states_for``) is for."""
        return self.stores[message.pillow or self.first]

    def apply(self, message, message_id, stamp, now=None):
        return self.store_for(message).apply(message, message_id, stamp, now)

    @property
    def dirty(self):
        return any(store.dirty for store in self.stores.values())

    @dirty.setter
    def dirty(self, value):
        for store in self.stores.values():
            store.dirty = value

    def payload(self, pillow, now=None):
        """The ``state`` event of ``pillow``: its store's, which pillow it is, and while its
        screens are to show that it is silent, ``silent`` (see ``silence``)."""
        payload = {**self.stores[pillow].payload(), "pillow": pillow}
        silence = self.silence(pillow, now)
        return {**payload, "silent": silence} if silence else payload

    def silence(self, pillow, now=None):
        """``{"since": its last message's time, "after": seconds, "image", "color"}`` (the
        catalog's SILENT_STATE) while ``pillow`` is silent and its screens are to say so; None
        otherwise, also when its catalog has no SILENT_STATE (then it is only a warning)."""
        spec = self.pillows[pillow]
        if not spec.silent_shows_notconnected or SILENT_STATE not in spec.catalog:
            return None
        since = silent_since(self.stores[pillow].current.received_at, spec.silent_after,
                             now or datetime.now(UTC))
        if since is None:
            return None
        state = spec.catalog[SILENT_STATE]
        return {"since": isotime(since), "after": spec.silent_after,
                "image": f"/static/img/{state.image}", "color": state.color}

    def saved(self):
        return {pillow: store.saved() for pillow, store in self.stores.items()}

    def reset(self, saved):
        for pillow, store in self.stores.items():
            store.reset(saved[pillow])

    def snapshot(self):
        if not self.shared:
            return self.stores[self.first].snapshot()
        return {"version": SNAPSHOT_VERSION,
                "pillows": {pillow: store.snapshot() for pillow, store in self.stores.items()}}

    def restore(self, snapshot, now=None):
        """Load a snapshot (either format), or raise BadSnapshot and change nothing. A pillow
        the snapshot does not have keeps its state; one it has that is not served is dropped."""
        if not snapshot:
            return
        sections = snapshot.get("pillows") if isinstance(snapshot, dict) else None
        if sections is None:
            sections = {self.first: snapshot}  # written while this queue served one pillow
        elif not isinstance(sections, dict):
            raise BadSnapshot("pillows must be an object of snapshots by pillow id")
        checked = {}
        for pillow, section in sections.items():
            if pillow in self.stores and section:  # (an empty one: as no section)
                checked[pillow] = StateStore(self.stores[pillow].catalog)
                checked[pillow].restore(section, now)  # raises BadSnapshot, before any change
        for pillow, store in checked.items():
            self.stores[pillow].reset(store.saved())
