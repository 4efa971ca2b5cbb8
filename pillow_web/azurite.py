"""Run the pinned local Azurite (from ``node_modules``) for the demo, the CLI and the tests."""

import logging
import os
import shutil
import signal
import socket
import subprocess
from time import monotonic

import gevent

from .config import ROOT, azurite_connection_string

log = logging.getLogger(__name__)

BINARY = ROOT / "node_modules" / ".bin" / "azurite"


class AzuriteError(RuntimeError):
    """Azurite is not installed, or did not start."""


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Azurite:
    """One Azurite process (blob, queue and table) in its own process group.

    ``location=None`` keeps data in memory. Ports of 0 are replaced by free ones.
    """

    def __init__(self, location=None, host="127.0.0.1", blob_port=0, queue_port=0, table_port=0,
                 debug_log=None):
        self.location = location
        self.host = host
        self.blob_port = blob_port or free_port(host)
        self.queue_port = queue_port or free_port(host)
        self.table_port = table_port or free_port(host)
        self.debug_log = debug_log
        self.process = None

    @property
    def connection_string(self):
        return azurite_connection_string(self.host, self.blob_port, self.queue_port)

    def command(self):
        node = shutil.which("node")
        if node is None or not BINARY.exists():
            raise AzuriteError(f"Azurite is not installed ({BINARY}); run `make setup`")
        command = [
            node, str(BINARY), "--silent", "--skipApiVersionCheck", "--disableTelemetry",
            "--blobHost", self.host, "--blobPort", str(self.blob_port),
            "--queueHost", self.host, "--queuePort", str(self.queue_port),
            "--tableHost", self.host, "--tablePort", str(self.table_port),
        ]
        if self.location is None:
            command.append("--inMemoryPersistence")
        else:
            os.makedirs(self.location, exist_ok=True)
            command += ["--location", str(self.location)]
        if self.debug_log:
            command += ["--debug", str(self.debug_log)]
        return command

    def start(self, timeout=30.0, output=subprocess.DEVNULL):
        """Start Azurite and return once its queue and blob ports accept connections."""
        for port in (self.blob_port, self.queue_port, self.table_port):
            if self._answers(port):
                raise AzuriteError(f"port {port} on {self.host} is in use (another Azurite?)")
        self.process = subprocess.Popen(self.command(), stdout=output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = monotonic() + timeout
        while not (self._answers(self.queue_port) and self._answers(self.blob_port)):
            if self.process.poll() is not None:
                raise AzuriteError(f"Azurite exited with code {self.process.returncode}")
            if monotonic() > deadline:
                self.stop()
                raise AzuriteError(f"Azurite did not answer within {timeout:.0f} s")
            gevent.sleep(0.05)
        return self

    def _answers(self, port):
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, kill=False):
        """Stop the whole process group (node may have children); SIGKILL if asked or stuck."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
