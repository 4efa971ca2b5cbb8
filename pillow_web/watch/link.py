"""Whether the watcher reaches the queue, as `/healthz` answers and the `status` event says.

Those two are public (any screen, anyone on the network), so they say why in a few generic words
(``reason``); the redacted error line, which can name the account, the queue, a SAS's permissions
and expiry, goes only to the log and the signed-in operator's console (``status(detail=True)``).
"""

import logging
from datetime import UTC, datetime
from time import monotonic

import gevent

from ..domain.state import isotime

log = logging.getLogger(__name__)

# What the public status says for the type and service code at the start of a redacted error
# line (``storage.describe``: "<Exception type>: <code>: <detail>").
UNREACHABLE = {"ServiceRequestError", "ServiceResponseError", "ServiceRequestTimeoutError",
               "ServiceResponseTimeoutError", "IncompleteReadError"}
REFUSED_CREDENTIALS = {"ClientAuthenticationError", "CredentialUnavailableError"}
REASONS = {
    "unreachable": "storage unreachable",
    "no answer": "storage not answering",
    "credentials": "storage refused the credentials",
    "permission": "the credentials lack a permission",
    "missing": "queue or container not found",
    "crashed": "internal error (see the log)",
    "other": "storage error",
}


def public_reason(error):
    """A short, generic classification of a redacted error line (None: a call that hung)."""
    if error is None:
        return REASONS["no answer"]
    kind, _, rest = error.partition(": ")
    code = rest.partition(": ")[0]
    if kind == "watcher crashed":
        return REASONS["crashed"]
    if kind in UNREACHABLE:
        return REASONS["unreachable"]
    if kind in REFUSED_CREDENTIALS:
        return REASONS["credentials"]
    if code.startswith("Authorization"):  # AuthorizationPermissionMismatch and the like
        return REASONS["permission"]
    if kind == "ResourceNotFoundError" or code.endswith("NotFound"):
        return REASONS["missing"]
    return REASONS["other"]


class Link:
    """Health of the watcher's link to storage, announced to screens whenever it flips.

    Healthy means the last poll worked and was recent. A poll that fails flips it at once; a
    storage call that hangs in the middle of a batch reports nothing, so a small monitor greenlet
    also notices when the last good poll grows too old. Until the first poll ends (or has had the
    whole window) the link is "starting": neither live nor known to be down, and not announced.
    """

    CHECK_EVERY = 0.5

    def __init__(self, poll_max, queue_name, emit):
        self.window = 3 * poll_max + 2
        self.queue_name = queue_name
        self.emit = emit
        self.ok = None  # None until the first poll: neither live nor known to be down
        # "active" while this process holds the lease and consumes the queue, else "standby"
        # (it follows the snapshot; its reads count as polls: a standby is healthy, not down).
        self.role = "standby"
        self.logged_role = None  # the role the log last said (take_role)
        self.last_poll = self.last_ok = self.since = self.last_error = None
        self._last_ok_clock = None
        self._started = None  # monotonic time the monitor started: the first poll's window opens
        self._announced = None
        self._cause_logged = False  # "no answer" was logged, not yet the error that followed

    def polled(self, error=None):
        """Record one poll's outcome: ``error`` is None when it worked."""
        now = datetime.now(UTC)
        self.last_poll = now
        if error is None:
            self.last_ok, self._last_ok_clock = now, monotonic()
        self.ok, self.last_error = error is None, error
        self.announce()

    def take_role(self, role, reason=None):
        """Be ``role`` now, with one log line per change of role."""
        self.role = role
        if role == self.logged_role:
            return
        queue = self.queue_name
        if role == "active":
            log.info("active: this process holds the lease and consumes queue %s", queue)
        elif self.logged_role == "active":
            log.warning("standing by: lost the lease %s; following the snapshot of queue %s",
                        reason, queue)
        else:
            log.info("standing by: %s; following the snapshot of queue %s", reason, queue)
        self.logged_role = role

    def healthy(self):
        return bool(self.ok) and monotonic() - self._last_ok_clock < self.window

    def starting(self):
        """True until the first poll ends, or until it has had the whole window to."""
        return self.ok is None and (self._started is None
                                    or monotonic() - self._started < self.window)

    def announce(self):
        """Push ``status`` if health changed since the last announcement."""
        if self.starting():
            return
        healthy = self.healthy()
        if healthy == self._announced:
            if not healthy and self.last_error and not self._cause_logged:
                self._log_down()  # a storage call that hung has now failed: say why
            return
        self._announced, self.since = healthy, datetime.now(UTC)
        if healthy:
            log.info("queue %s reachable", self.queue_name)
        else:
            self._log_down()
        try:
            self.emit("status", self.status())
        except Exception:  # a failed push must not end health tracking (or the watcher)
            log.exception("could not push the status event")

    def _log_down(self):
        self._cause_logged = self.last_error is not None
        reason = self.last_error or f"no answer for {self.window:g} s"
        log.warning("queue %s unreachable: %s", self.queue_name, reason)

    def monitor(self, stopping):
        """Run until ``stopping`` is set, announcing a link gone stale between polls."""
        while not stopping.wait(self.CHECK_EVERY):
            self.announce()

    def start_monitor(self, stopping):
        self._started = monotonic()
        return gevent.spawn(self.monitor, stopping)

    def status(self, detail=False):
        """The ``status`` event and the body of ``/healthz``: ``reason`` is generic. With
        ``detail`` (the operator console only) also ``last_error``, the redacted error line."""
        healthy, starting = self.healthy(), self.starting()
        status = {
            "status": "ok" if healthy else "starting" if starting else "degraded",
            "queue_ok": healthy,
            "since": self.since and isotime(self.since),
            "last_poll": self.last_poll and isotime(self.last_poll),
            "last_ok": self.last_ok and isotime(self.last_ok),
            "reason": None if healthy or starting else public_reason(self.last_error),
            "role": self.role,
        }
        if detail:
            status["last_error"] = self.last_error
        return status
