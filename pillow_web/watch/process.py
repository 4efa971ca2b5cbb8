"""The watcher role: a process that consumes the queue (while it holds the lease) and serves
nothing but its health and metrics, for ``pillow-web watch`` (and ``serve --role watcher``).

Its pushes go to the web workers' screens through the fleet's message queue; without one
(``PILLOW_MESSAGE_QUEUE`` unset) it still keeps the snapshot, which web workers follow.
"""

import json
import logging
import signal

import gevent
from gevent.event import Event
from gevent.pywsgi import LoggingLogAdapter

from .. import config
from ..dashboard import Dashboard
from ..fleet import Fleet
from ..live_metrics import exposition, scrape_registry
from ..live_pillows import queues_of, watch_pillows
from ..metrics import counted_push
from .watcher import Watcher

log = logging.getLogger(__name__)

STOP_TIMEOUT = 4.0  # the batch in hand, the save and the release: under the 5 s a stop may take


def health_app(dashboard, settings):
    """A WSGI app with ``GET /healthz`` (as the all-in-one's, with the role), ``/livez`` and
    ``/metrics`` (as the all-in-one's, by the same rule)."""
    from ..app import build_id
    from ..web.metrics import access, refusal
    from ..web.security import Throttle

    registry = scrape_registry(dashboard, settings["BUILD_ID"] or build_id())
    throttle = Throttle()  # wrong metrics tokens, as the web roles' brake counts them

    def app(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        if path == "/metrics" and method in ("GET", "HEAD"):
            status, wait = access(environ, settings, throttle)
            if status == 200:
                data, content_type = exposition(registry, environ.get("HTTP_ACCEPT"))
                headers[0] = ("Content-Type", content_type)
                start_response("200 OK", [*headers, ("Content-Length", str(len(data)))])
                return [b"" if method == "HEAD" else data]
            body, extra = refusal(status, wait)
            code = "429 Too Many Requests" if status == 429 else "401 Unauthorized"
            headers += list(extra.items())
        elif path not in ("/healthz", "/livez", "/metrics"):
            code, body = "404 Not Found", {"error": "not found"}
        elif method not in ("GET", "HEAD"):
            code, body = "405 Method Not Allowed", {"error": "method not allowed"}
            headers.append(("Allow", "GET, HEAD"))
        elif path == "/livez":  # no storage call: an Azure outage must not restart the process
            code, body = "200 OK", {"status": "alive"}
        else:
            body = dashboard.health()
            code = "200 OK" if body["queue_ok"] else "503 Service Unavailable"
        data = json.dumps(body).encode()
        start_response(code, [*headers, ("Content-Length", str(len(data)))])
        return [b"" if method == "HEAD" else data]

    return app


def watcher_dashboard(settings):
    """The watcher role's ``Dashboard`` (not started): watchers whose pushes go to the fleet."""
    fleet = Fleet.from_settings(settings, queues_of(settings))
    emit = counted_push(fleet.emit)

    def make_watcher(storage, queue_state):  # a standby's screens are the active one's: silent
        return Watcher(storage, queue_state, settings, emit, lambda event, data: None)

    pillows = watch_pillows(settings, make_watcher)
    return Dashboard({pillow.id: pillow for pillow in pillows}, emit, fleet, "watcher")


def run_watcher(overrides=None):
    """Consume the queues and serve health on HOST:PORT until SIGINT or SIGTERM, then finish
    the batch in hand, save and release the leases. A port that cannot be used raises
    ListenError."""
    from ..web.server import Handler, Server, bind, where  # serve's socket and hardened server

    settings = config.load(overrides)
    dashboard = watcher_dashboard(settings)
    sock = bind(settings["HOST"], settings["PORT"])
    server = Server(
        sock, health_app(dashboard, settings), handler_class=Handler,
        log=LoggingLogAdapter(logging.getLogger("pillow_web.access"), logging.DEBUG),
        error_log=LoggingLogAdapter(logging.getLogger(__name__), logging.ERROR),
    )
    server.header_timeout = settings["HEADER_TIMEOUT"]
    stopping = Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stopping.set)

    dashboard.start()
    sock.listen(server.backlog)
    server.start()
    host, port = server.address[:2]
    log.info("pillow-web watch: queue %s, health on http://%s/healthz",
             ", ".join(queues_of(settings)), where(host, port))
    stopping.wait()

    log.info("stopping: finishing the batch in hand")
    dashboard.stop(STOP_TIMEOUT)
    server.stop(timeout=1)
    dashboard.close()
    log.info("stopped")
