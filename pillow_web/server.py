"""Run the dashboard: a gevent WSGI server with WebSockets, plus the one watcher greenlet."""

import logging
import signal

import gevent
from gevent.event import Event
from gevent.pywsgi import LoggingLogAdapter, WSGIServer
from geventwebsocket.handler import WebSocketHandler

from .app import create_app

log = logging.getLogger(__name__)

STOP_TIMEOUT = 4.0  # the watcher's batch in hand, then open sockets; under the 5 s a stop may take


def run(overrides=None, ready=None):
    """Serve until SIGINT or SIGTERM, then stop in order: watcher first, sockets last.

    ``ready``, if given, is called with the listening server (tests use it to learn the port).
    """
    app = create_app(overrides)
    pillow = app.extensions["pillow"]
    server = WSGIServer(
        (app.config["HOST"], app.config["PORT"]), app, handler_class=WebSocketHandler,
        log=LoggingLogAdapter(logging.getLogger("pillow_web.access"), logging.DEBUG),
        error_log=LoggingLogAdapter(logging.getLogger("pillow_web.server"), logging.ERROR),
    )
    stopping = Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stopping.set)

    server.start()
    pillow.watcher.start()
    host, port = server.address[:2]
    log.info("pillow-web is serving on http://%s:%s/ (queue %s)", host, port,
             pillow.storage.queue_name)
    if ready:
        ready(server)
    stopping.wait()

    log.info("stopping: finishing the message in hand")
    pillow.watcher.stop(STOP_TIMEOUT)
    server.stop(timeout=1)
    pillow.storage.close()
    log.info("stopped")
