"""What the processes of one dashboard share, through Redis (``PILLOW_MESSAGE_QUEUE``).

Without a message queue a process is alone: the all-in-one ``serve`` pushes to its own screens
and needs nothing here, so every method is a no-op. With one, the watcher's pushes reach the
screens of every web worker (Flask-SocketIO's message queue: python-socketio's Redis manager), a
web worker's post wakes the watcher, and the console sees every worker's screens and the
watcher's link. Those small facts are plain Redis keys with a TTL, written every ``BEAT``.
"""

import json
import logging
import os
import socket
import uuid
from time import monotonic

import gevent
from gevent.event import Event
from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry

from .fleet_screens import json_object, swap_screens
from .message_queue import redact_url
from .pushes import REDIS_TIMEOUT, Sender, ShownStates, redis_manager, rooms_of

log = logging.getLogger(__name__)

BEAT = 1.0  # seconds between the facts a process writes to Redis (and reads back)
TTL = 5  # seconds a fact outlives its writer's last beat: a process gone that long is gone
MESSAGE_QUEUE_DOWN = "message queue unreachable"  # the public reason while Redis does not answer
# Our own facts: one try each; the next beat is the retry.
FACT_OPTIONS = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT,
                "decode_responses": True}


class Fleet:
    """This process's link to the others; a no-op one when ``url`` is empty."""

    def __init__(self, url="", queue="pillow-state", queues=()):
        self.url = url
        self.shown_url = redact_url(url) if url else ""
        self.queue = queue  # the first pillow's: it names this dashboard's keys
        self.queues = list(queues) or [queue]  # every watched queue: each has a watcher report
        self.prefix = f"pillow-web:{queue}:"  # dashboards on other queues may share the Redis
        self.process = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.room = f"process:{self.process}"  # the Socket.IO room of this process's screens
        self.reachable = None  # whether the last Redis call worked (None: none made yet)
        self.error = None  # why the last one failed, one line
        self._answered = None  # monotonic time Redis last answered
        self.watcher_reports = {}  # by queue, its active watcher's last report (within TTL)
        self.other_screens = 0  # screens of the other processes, as last read
        self.other_screen_list = []  # what they listed of them (fleet_screens.LISTED each)
        self.shown = ShownStates()  # the newest state handed to this process's screens
        self._redis = None
        self._watchers = {}  # by queue, the watchers served here (serve_watcher)
        self._stopping = Event()
        self._greenlets = []
        self._senders = []

    @classmethod
    def from_settings(cls, settings, queues=None):
        """The fleet of a dashboard watching ``queues`` (its pillows' queues, first one first;
        default: QUEUE)."""
        queues = queues or [settings.get("QUEUE", "pillow-state")]
        return cls(settings.get("MESSAGE_QUEUE", "").strip(), queues[0], queues)

    @property
    def watcher_report(self):
        """The report of the first queue's active watcher (None: none within TTL)."""
        return self.watcher_reports.get(self.queue)

    @staticmethod
    def report_key(queue):
        return f"pillow-web:{queue}:watcher"

    @property
    def shared(self):
        return bool(self.url)

    @property
    def channel(self):
        """The Socket.IO channel on Redis: every process of this dashboard, no other."""
        return self.prefix + "socketio"

    def client_manager(self):
        """python-socketio's Redis manager for this process's Socket.IO server (None: alone)."""
        if not self.shared:
            return None
        return redis_manager(self.url, self.channel, shown=self.shown)

    def sender(self, emit):
        """``emit`` made asynchronous with a ``Sender`` when pushes go through Redis."""
        if not self.shared:
            return emit
        sender = Sender(emit)
        self._senders.append(sender)
        return sender

    def emit(self, event, data):
        """Push ``event`` to the screens of every web worker (the watcher role's emit, used
        while its watcher is the active one; see ``Watcher``)."""
        if not self.shared:
            return
        if not self._senders:
            manager = redis_manager(self.url, self.channel, write_only=True)
            self.sender(lambda event, data: manager.emit(event, data, namespace="/",
                                                         to=rooms_of(data)))
        self._senders[0](event, data)

    def serve_watcher(self, watcher, queue=None):
        """Let the others wake ``watcher`` (of ``queue``, by default the first) and see its
        status. The status is written only while it is the active one (it holds the lease); a
        standby stays silent."""
        if self.shared:
            if not self._watchers:
                self._spawn(self._wake_on_request)
            self._watchers[queue or self.queue] = watcher
            self._spawn(self._report, watcher, queue or self.queue)

    def wake_watcher(self, queue=None):
        """Ask the watcher of ``queue`` (None: every one), wherever it runs, to poll now."""
        if self.shared:  # in a greenlet: the post's answer does not wait for Redis
            gevent.spawn(self._call, lambda client: client.publish(self.prefix + "wake",
                                                                   queue or "*"))

    def serve_screens(self, count, listed=lambda: []):
        """Each beat, write this process's screen count (``count()``) and list (``listed()``),
        and read the others' and the watcher's report (the web side)."""
        if self.shared:
            self._spawn(self._exchange, count, listed)

    def screens(self, here):
        """Screens of every process: ``here`` (this one's, now) and the others' last read."""
        return here + (self.other_screens if self.shared else 0)

    def healthy(self):
        """Whether Redis answered within the last few beats."""
        return bool(self.reachable) and monotonic() - self._answered < 2 * (BEAT + REDIS_TIMEOUT)

    def close(self):
        """Stop what ``serve_*`` started and close connections."""
        self._stopping.set()
        # Ended before their connections close: one closed under a pending read raised from it.
        gevent.killall(self._greenlets, timeout=1.0)
        for sender in self._senders:
            sender.close()
        if self._redis is not None:
            self._redis.close()

    def _spawn(self, loop, *args):
        self._greenlets.append(gevent.spawn(loop, *args))

    def _client(self):
        if self._redis is None:
            self._redis = Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), **FACT_OPTIONS)
        return self._redis

    def _call(self, work):
        """``work(client)``, recording whether Redis answered; never raises a Redis error."""
        try:
            result = work(self._client())
        except (RedisError, OSError) as exc:
            self._record(f"{type(exc).__name__}: {exc}"[:300])
            return None
        self._answered = monotonic()
        self._record(None)
        return result

    def _record(self, error):
        reachable = error is None
        if reachable and not self.reachable:
            log.info("message queue %s reachable", self.shown_url)
        elif not reachable and self.reachable is not False:
            log.warning("message queue %s unreachable: %s", self.shown_url, error)
        self.reachable, self.error = reachable, error

    def _exchange(self, count, listed):
        def exchange(client):
            self.other_screens, self.other_screen_list = swap_screens(
                client, self.prefix + "screens:", self.process, count(), listed(), TTL)
            reports = client.mget([self.report_key(queue) for queue in self.queues])
            read = zip(self.queues, map(json_object, reports), strict=True)
            self.watcher_reports = {queue: report for queue, report in read if report is not None}

        while not self._stopping.is_set():
            self._call(exchange)
            self._stopping.wait(BEAT)

    def _report(self, watcher, queue):
        key = self.report_key(queue)
        while not self._stopping.is_set():
            if watcher.role == "active":  # (its queue's figures too: web workers ask no storage)
                report = json.dumps({**watcher.link.status(detail=True), "process": self.process,
                                     "figures": watcher.queue_figures(ask=False)})
                self._call(lambda client, report=report: client.set(key, report, ex=TTL))
            self._stopping.wait(BEAT)

    def _wake_on_request(self):
        while not self._stopping.is_set():
            pubsub = None
            try:
                pubsub = self._client().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.prefix + "wake")
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=BEAT)
                    if message:  # a queue's name; "*" (or an older process's "1"): every one
                        watcher = self._watchers.get(message["data"])
                        for woken in [watcher] if watcher else list(self._watchers.values()):
                            woken.wake()
            except (RedisError, OSError):
                self._stopping.wait(BEAT)  # the beats say Redis is unreachable
            finally:
                if pubsub is not None:
                    pubsub.close()

