"""Redis (here) and nginx (tests/nginx.py) as real processes for the scale-out tests.

As ``pillow_web.storage.azurite`` and ``tests.procs`` do for Azurite and ``serve``: each runs in the
foreground in its own process group on a free loopback port, keeps all its files in its own
folder (nothing in /etc, /var or /run), is waited on until it answers (with a deadline), and is
stopped, killed, frozen and restarted from outside. The binaries are Debian's (``make services``
installs them).
"""

import os
import shutil
import signal
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path
from time import monotonic

import gevent

from pillow_web.storage.azurite import free_port

START_TIMEOUT = 10.0


class ServiceError(RuntimeError):
    """A service is not installed, or did not start."""


def find(binary):
    """The path of a Debian binary; nginx lives in /usr/sbin, off a normal user's PATH."""
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if path is None:
        raise ServiceError(f"{binary} is not installed; run `make services`")
    return path


def port_answers(port, host="127.0.0.1"):
    """Whether something accepts connections on ``port`` now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Service:
    """One foreground process in its own process group, its output in ``<folder>/output.log``."""

    name = "service"

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = None

    def command(self):
        raise NotImplementedError

    def answers(self):
        """Whether the service answers on its port now."""
        raise NotImplementedError

    def start(self, timeout=START_TIMEOUT):
        """Start it (again on the same port) and return once it answers."""
        if self.running:
            raise ServiceError(f"{self.name} is running already")
        with open(self.folder / "output.log", "ab") as log:
            self.process = subprocess.Popen(self.command(), cwd=self.folder, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None:
                raise ServiceError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.output()[-2000:]}")
            if monotonic() > deadline:
                self.kill()
                raise ServiceError(f"{self.name} did not answer on port {self.port} within "
                                   f"{timeout} s:\n{self.output()[-2000:]}")
            gevent.sleep(0.005)
        return self

    @property
    def running(self):
        """Started and not exited (a frozen one is running)."""
        return self.process is not None and self.process.poll() is None

    def output(self):
        path = self.folder / "output.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, timeout=10.0):
        """SIGTERM, and wait for the exit (SIGKILL if it takes over ``timeout`` s)."""
        if not self.running:
            return
        self.thaw()  # a stopped process would not act on SIGTERM
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        """SIGKILL the whole group: nothing is saved or said goodbye to."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def freeze(self, timeout=5.0):
        """SIGSTOP: the kernel still accepts connections, nothing answers (a hung service).

        Returns once the kernel shows it stopped (the signal is delivered asynchronously).
        """
        os.killpg(self.process.pid, signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = monotonic() + timeout
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":
            if monotonic() > deadline:
                raise ServiceError(f"{self.name} did not stop within {timeout} s")
            gevent.sleep(0.001)

    def thaw(self):
        if self.running:
            os.killpg(self.process.pid, signal.SIGCONT)

    def restart(self, timeout=START_TIMEOUT):
        """A clean stop, then a new process on the same port."""
        self.stop()
        return self.start(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def redis_ping(host, port, timeout=1.0):
    """Send PING over a new connection; the reply (``+PONG``). OSError (TimeoutError too) if
    nothing answers in ``timeout`` s."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(64)
            if not chunk:
                raise ConnectionResetError("Redis closed the connection")
            reply += chunk
        return reply


class RedisServer(Service):
    """``redis-server`` on 127.0.0.1: no config file, nothing saved (``--save ''``, no AOF)."""

    name = "redis-server"

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self):
        return [find("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                "--daemonize", "no"]

    def ping(self, timeout=1.0):
        return redis_ping("127.0.0.1", self.port, timeout)

    def answers(self):
        try:
            return self.ping(timeout=0.5) == b"+PONG\r\n"
        except OSError:
            return False


@contextmanager
def shared_redis(folder, environ=os.environ):
    """A Redis URL for many tests: PILLOW_TEST_REDIS_URL's (a Redis already running; nothing is
    started) or a RedisServer of its own in ``folder``, stopped at the end."""
    existing = environ.get("PILLOW_TEST_REDIS_URL")
    if existing:
        yield existing
        return
    with RedisServer(folder) as server:
        yield server.url
