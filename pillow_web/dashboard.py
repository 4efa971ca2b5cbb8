"""Everything one app owns: its pillows, a watcher per queue they use, and the fleet.

``app.extensions["pillow"]`` is the ``Dashboard``. Each pillow is a ``live_pillows.LivePillow``:
what it is (``domain.pillows.Pillow``), its state (a store of its queue's ``QueueState``), and its
queue's storage and watcher, which it shares with the other pillows on that queue.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

import gevent

from .domain.warnings import queue_warnings
from .fleet import MESSAGE_QUEUE_DOWN, Fleet
from .fleet_screens import LISTED

STATUS_RANK = {"ok": 0, "starting": 1, "degraded": 2}  # the worst pillow's is the dashboard's
SILENCE_CHECK_EVERY = 5.0  # seconds between looks at whether a pillow's silence began or ended


@dataclass
class Dashboard:
    """The pillows (the first is the default one, at ``/``), how pushes leave this process
    (``push(event, data)``: to the screens of every process, through the fleet;
    ``push_here``: to this process's own, None: ``push`` without a message queue), and this
    process's screens. ``store``, ``watcher``, ``catalog`` and ``storage`` are the default
    pillow's."""

    pillows: dict  # id -> LivePillow
    push: object
    fleet: Fleet = field(default_factory=Fleet)
    role: str = "all"  # or "web" (pages, no watcher) or "watcher" (a watcher, no pages)
    # This process's screens: Socket.IO id -> what the console lists (fleet_screens.screen_info)
    screens: dict = field(default_factory=dict)
    push_here: object = None
    _silences: object = field(default=None, init=False, repr=False)  # start's greenlet

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
            # (Through the message queue each process would push to every screen.)
            here = self.push_here is not None or not self.fleet.shared
            if here and self._silences is None and any(
                    each.pillow.silent_shows_notconnected and each.pillow.silent_after
                    for each in self.pillows.values()):
                self._silences = gevent.spawn(self._push_silences)

    def stop(self, timeout):
        """Stop every queue's watcher at once: each finishes its batch, saves and releases."""
        if self._silences is not None:
            self._silences.kill(block=False)
            self._silences = None
        gevent.joinall([gevent.spawn(pillow.watcher.stop, timeout) for pillow in self.queues])
        self.fleet.close()

    def _push_silences(self):
        """Push a pillow's ``state`` to this process's screens when its silence begins or ends:
        its screens then show it (``QueueState.silence``), or its state again. Nothing else
        pushes then: no message arrived."""
        push, told = self.push_here or self.push, {}  # told: by pillow, the silence last pushed
        while True:
            gevent.sleep(SILENCE_CHECK_EVERY)
            for live in self.pillows.values():
                payload = live.payload()
                if payload is not None and payload.get("silent") != told.get(live.id):
                    told[live.id] = payload.get("silent")
                    push("state", payload)

    def warnings(self, live=None, reachable=()):
        """The warnings (``domain.warnings``) of every queue and pillow, or of ``live``'s queue
        and ``live`` only. The figures come from each queue's one cache: only the queues named
        in ``reachable`` (their link works) may ask storage for what it does not know yet, so
        an unreachable queue never holds up ``/healthz``."""
        now, found = datetime.now(UTC), []
        for queue in [live] if live else self.queues:
            pillows = [live] if live else [self.pillows[each] for each in queue.queue_state.stores]
            limits, watcher = queue.thresholds, queue.watcher
            poisoned = (watcher.stats.stats.poisoned_in(limits.poison_minutes, now)
                        if limits.poison_minutes else None)
            figures = watcher.queue_figures(ask=queue.storage.queue_name in reachable)
            found += queue_warnings(
                figures, poisoned, limits,
                [(each.id, each.name, each.store.current.received_at, each.pillow.silent_after)
                 for each in pillows], None if queue.shared_queue else queue.id, now)
        return found

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
        health, with several pillows each one's in ``pillows``, and ``warnings`` (which change
        no status)."""
        by_queue = {pillow.storage.queue_name: self.queue_health(pillow.watcher, detail)
                    for pillow in self.queues}
        reachable = {name for name, each in by_queue.items() if each["queue_ok"]}
        health = dict(by_queue[self.default.storage.queue_name],
                      warnings=self.warnings(reachable=reachable))
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
