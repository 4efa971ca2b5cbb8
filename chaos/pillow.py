"""The pillow simulator: numbered messages at a steady rate, in every form the dashboard reads,
and some it must set aside, each written to ``sent.jsonl`` once the queue accepted it.

JSON messages carry their number as text (``#17``) and an ``at`` to the microsecond; bare names
and legacy tuples carry no text, so the checker knows them by state and insertion second: at most
one of them is sent per second. While storage does not take a message the simulator keeps trying
the same one, as a pillow that buffers offline would, and sends nothing else meanwhile.
"""

import json
import random
import threading
import time
from datetime import UTC, datetime

from pillow_web.domain.messages import compose
from pillow_web.storage.account import Storage, StorageUnavailable

CONTAINER = "pillow-web"  # config/default.toml's
STATES = ("HUGGING", "PUNCHING", "SHAKING", "SPINNING", "THROWING")
FORMS = (("json", 0.7), ("bare", 0.1), ("legacy", 0.1), ("bad", 0.1))
# What cannot be used, and the start of the reason the dashboard must give for it (``parse``).
BAD = (
    (lambda n: json.dumps({"state": "SLEEPING", "text": f"#{n}"}), "unknown state 'SLEEPING'"),
    (lambda n: f'{{"state": "HUGGING", "text": "#{n}"', "invalid JSON"),
    (lambda n: json.dumps({"state": "HUGGING", "text": f"#{n}", "at": "yesterday"}),
     "at 'yesterday' is not an ISO-8601 time"),
    (lambda n: f"('HUGGING', 0.{n}", "legacy tuple is not a plain Python literal"),
    (lambda n: json.dumps({"state": "HUGGING", "text": f"#{n}\u0007"}),
     "text contains control characters"),
    (lambda n: json.dumps([n, "HUGGING"]), "a JSON message must be an object, not an array"),
)
UNNUMBERED_GAP = 1.1  # seconds between bare or legacy messages: one per insertion second


class Pillow(threading.Thread):
    """Sends message 1, 2, ... every ``1 / rate`` s until ``close()``; ``finish()`` then sends
    one last JSON message, the state every screen must end on."""

    def __init__(self, connection_string, queue, run_dir, rate, seed):
        super().__init__(daemon=True, name="pillow")
        self.storage = Storage(connection_string, queue, CONTAINER)
        self.log = open(run_dir / "sent.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.every, self.rng = 1 / rate, random.Random(seed)
        self.stopping = threading.Event()
        self.n, self.failures, self.last_unnumbered = 0, 0, 0.0

    def run(self):
        due = time.monotonic()
        while not self.stopping.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.every, time.monotonic() - self.every)  # no burst after a stall
            self.send_next(self._form())

    def _form(self):
        form = self.rng.choices([f for f, _ in FORMS], [w for _, w in FORMS])[0]
        if form in ("bare", "legacy"):
            if time.monotonic() - self.last_unnumbered < UNNUMBERED_GAP:
                return "json"
            self.last_unnumbered = time.monotonic()
        return form

    def send_next(self, form):
        self.n += 1
        n, state, reason = self.n, self.rng.choice(STATES), None
        if form == "json":
            content = compose(state, f"#{n}")
        elif form == "bare":
            content = self.rng.choice((state.lower(), state, f'"{state}"'))
        elif form == "legacy":
            content = f"('{state}', 0.{self.rng.randrange(100):02d})"
        else:
            make, reason = self.rng.choice(BAD)
            content, state = make(n), None
        while True:  # the same message until storage takes it
            try:
                message = self.storage.send(content)
                break
            except StorageUnavailable:
                self.failures += 1
                if self.stopping.wait(0.2):  # (closing: the message is not sent)
                    return
        at = json.loads(content)["at"] if form == "json" else None
        inserted = message.inserted_on or datetime.now(UTC)
        self.log.write(json.dumps({"n": n, "form": form, "id": message.id, "t": time.time(),
                                   "inserted": inserted.timestamp(), "state": state, "at": at,
                                   "reason": reason}) + "\n")
        self.log.flush()

    def close(self):
        self.stopping.set()
        self.join(60)

    def finish(self):
        """After ``close()``: the last message, JSON, once no unnumbered one shares its second."""
        time.sleep(max(0.0, self.last_unnumbered + UNNUMBERED_GAP - time.monotonic()))
        self.stopping.clear()  # (send_next gives up only while closing)
        self.send_next("json")
        self.log.close()
        self.storage.close()
        return self.n
