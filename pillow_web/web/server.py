"""Run the dashboard: a gevent WSGI server with WebSockets, plus the one watcher greenlet."""

import errno
import logging
import signal
import socket
from contextlib import closing

import engineio.socket
import gevent
from gevent import Timeout
from gevent.event import Event
from gevent.pywsgi import LoggingLogAdapter, WSGIServer

try:  # the WebSocket stack python-engineio picks: gevent-websocket when installed (always, as
    # shipped: simple-websocket, the fallback, cost 23 % more memory per screen for the same CPU;
    # bench/README.md, part 8)
    from geventwebsocket.handler import WebSocketHandler as BaseHandler
except ImportError:  # else simple-websocket, inside gevent's own handler
    from gevent.pywsgi import WSGIHandler as BaseHandler

from ..app import create_app
from . import hosts, tls
from .socket_guard import after_disconnect

log = logging.getLogger(__name__)

STOP_TIMEOUT = 4.0  # the watcher's batch in hand, then open sockets; under the 5 s a stop may take


class Server(WSGIServer):
    """gevent's WSGI server, sending small writes at once (TCP_NODELAY).

    A screen's connect is four small frames in a row; with Nagle's algorithm the second waited
    for the client's delayed ACK, about 40 ms per connect (and per push after another one).
    """

    header_timeout = 10.0  # seconds for a TLS handshake, and for each request's line and headers

    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)

    def wrap_socket_and_handle(self, client_socket, address):
        """HTTPS: the handshake has ``header_timeout``; a failed one is a debug line (not a
        traceback), and a client speaking plain HTTP gets a short 400 saying to use https://."""
        deadline, tls_socket = Timeout.start_new(self.header_timeout), None
        try:
            first = client_socket.recv(1, socket.MSG_PEEK)  # b"": closed before a byte came
            if first == TLS_HANDSHAKE:
                tls_socket = self.wrap_socket(client_socket, **self.ssl_args)
            elif first:  # plain HTTP: answer, and read the request so that close sends no RST
                client_socket.sendall(PLAIN_HTTP_ANSWER)
                client_socket.shutdown(socket.SHUT_WR)
                while client_socket.recv(4096):
                    pass
        except (Timeout, OSError) as exc:  # ssl.SSLError is an OSError
            if isinstance(exc, Timeout) and exc is not deadline:
                raise
            log.debug("no TLS handshake from %s: %s", address[0], exc or "timed out")
        finally:
            deadline.close()
        if tls_socket is None:
            client_socket.close()
            return None
        with closing(tls_socket):
            return self.handle(tls_socket, address)


TLS_HANDSHAKE = b"\x16"  # the first byte of a TLS record carrying a ClientHello
PLAIN_HTTP_BODY = b"This port speaks HTTPS: use https://.\n"
PLAIN_HTTP_ANSWER = (b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain"
                     b"\r\nContent-Length: %d\r\n\r\n%s" % (len(PLAIN_HTTP_BODY), PLAIN_HTTP_BODY))


class Handler(BaseHandler):
    """The request handler (gevent-websocket's), with a deadline on each request's line and headers.

    Without it a client sending half a header (slowloris) held its connection open forever. Only
    that phase is timed: the deadline ends once the headers are in, so long-polls and WebSockets
    (idle between Engine.IO pings, 25 s) are never cut; an idle keep-alive connection is closed.
    """

    def handle_one_request(self):
        self._headers_due = Timeout.start_new(self.server.header_timeout)
        try:
            return super().handle_one_request()
        except Timeout as exc:
            if exc is not self._headers_due:
                raise
            log.debug("closed a connection from %s: no request headers within %g s",
                      self.client_address[0], self.server.header_timeout)
            return None
        finally:
            self._headers_due.close()

    def read_request(self, raw_requestline):
        try:
            return super().read_request(raw_requestline)
        finally:
            self._headers_due.cancel()


def end_pings_with_their_session(eio):
    """Stop a closed session's ping task at once, not ``ping_interval`` (25 s) later.

    Engine.IO starts one greenlet per session that sleeps before each ping and is not stopped on
    disconnect; asleep, it keeps the closed session (queue, greenlet stack) alive. Kiosks
    reconnecting in a burst piled thousands up: +34 MB of RSS after 10,000 reconnects
    (tests/test_churn.py), which that test now holds under 10 MB. If Engine.IO renames what is
    wrapped here the fix turns itself off, and that test fails.
    """
    pings = {}
    start_task = eio.start_background_task

    def start_background_task(target, *args, **kwargs):
        task = start_task(target, *args, **kwargs)
        if getattr(target, "__func__", None) is engineio.socket.Socket._send_ping:
            pings[target.__self__.sid] = task
        return task

    def end_ping(sid):
        task = pings.pop(sid, None)
        if task is not None and task is not gevent.getcurrent():
            task.kill(block=False)

    eio.start_background_task = start_background_task
    after_disconnect(eio, end_ping)


class ListenError(RuntimeError):
    """The address to serve on cannot be used: taken, not allowed, or not found."""


def where(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind(host, port):
    """A socket bound to ``host:port`` but not listening yet (connections are refused, not left
    waiting, while the snapshot is read); a failure is one ``ListenError`` line naming it."""
    family = socket.AF_INET6 if not host or ":" in host else socket.AF_INET  # as gevent's
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason += " (another server is using it; choose another --port)"
        elif exc.errno == errno.EACCES and port < 1024:
            reason += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        elif isinstance(exc, socket.gaierror):
            reason = f"unknown host ({reason})"
        raise ListenError(f"cannot listen on {where(host, port)}: {reason}") from None
    return sock


def run(overrides=None, role="all"):
    """Serve until SIGINT or SIGTERM, then stop in order: watcher first, sockets last.

    ``role`` "web" serves pages and sockets and follows the state that a watcher elsewhere
    consumes (see ``web.remote``); "all" also runs the watcher.
    """
    app = create_app(overrides, role)
    pillow = app.extensions["pillow"]
    end_pings_with_their_session(app.extensions["socketio"].server.eio)
    context = tls.server_context(app.config)
    sock = bind(app.config["HOST"], app.config["PORT"])
    server = Server(
        sock, app, handler_class=Handler,
        log=LoggingLogAdapter(logging.getLogger("pillow_web.access"), logging.DEBUG),
        error_log=LoggingLogAdapter(logging.getLogger("pillow_web.web.server"), logging.ERROR),
        **({"ssl_context": context} if context else {}),
    )
    server.header_timeout = app.config["HEADER_TIMEOUT"]
    server.pre_start_hook = hosts.websocket_hook(app)
    stopping = Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, stopping.set)

    # The watcher reads the snapshot first (its _load); a request before that would get the
    # catalog's initial state as if it were the pillow's. Storage that does not answer within
    # the link's window does not keep the dashboard down: it answers "starting" until then.
    pillow.start()
    loaded = gevent.spawn(lambda: [event.wait() for event in pillow.loaded()])  # every queue's
    gevent.wait([loaded, stopping], timeout=pillow.window, count=1)
    sock.listen(server.backlog)
    server.start()
    host, port = server.address[:2]
    shared = f", message queue {pillow.fleet.shown_url}" if pillow.fleet.shared else ""
    log.info("pillow-web is serving on %s://%s/ (%s, queue %s%s)", "https" if context else "http",
             where(host, port), "web worker" if role == "web" else "all-in-one",
             ", ".join(live.storage.queue_name for live in pillow.queues), shared)
    if not loaded.ready() and not stopping.is_set():
        log.warning("snapshot not read within %g s: answering \"starting\" until it is",
                    pillow.window)
    stopping.wait()

    log.info("stopping: finishing the message in hand")
    loaded.kill(block=False)
    pillow.stop(STOP_TIMEOUT)
    server.stop(timeout=1)
    pillow.close()
    log.info("stopped")
