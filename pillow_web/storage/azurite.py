"""Run the pinned local Azurite (``node_modules``, else one on PATH) for the demo, CLI and tests."""

import logging
import os
import shutil
import signal
import socket
import subprocess
from time import monotonic

import gevent

from ..config import IN_CHECKOUT, ROOT, azurite_connection_string

log = logging.getLogger(__name__)

BINARY = ROOT / "node_modules" / ".bin" / "azurite"
# The release package.json pins, for an installed pillow-web that has no node_modules of its own.
VERSION = "3.35.0"
IMAGE = f"mcr.microsoft.com/azure-storage/azurite:{VERSION}"


def not_installed():
    """How to get Azurite: `make setup` in a checkout; npm (then on PATH) or the image elsewhere."""
    if IN_CHECKOUT:
        return f"Azurite is not installed ({BINARY}); run `make setup`"
    return (f"Azurite is not installed: for --demo, `npm install -g azurite@{VERSION}` (needs "
            f"Node.js); or run the image {IMAGE} with ports 10000-10001 published and serve "
            "without --demo")


class AzuriteError(RuntimeError):
    """Azurite is not installed, or did not start."""


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Azurite:
    """One Azurite process (blob, queue and table) in its own process group.

    ``location=None`` keeps data in memory. Ports of 0 are replaced by free ones. With ``cert``
    and ``key`` (PEM files) it serves HTTPS; with ``oauth`` too it also takes Entra ID bearer
    tokens (``--oauth basic``: audience and issuer are checked, the signature is not).
    """

    def __init__(self, location=None, host="127.0.0.1", blob_port=0, queue_port=0, table_port=0,
                 debug_log=None, *, cert=None, key=None, oauth=False):
        self.location = location
        self.host = host
        self.blob_port = blob_port or free_port(host)
        self.queue_port = queue_port or free_port(host)
        self.table_port = table_port or free_port(host)
        self.debug_log = debug_log
        self.cert, self.key, self.oauth = cert, key, oauth
        self.process = None

    @property
    def connection_string(self):
        plain = azurite_connection_string(self.host, self.blob_port, self.queue_port)
        return plain.replace("http", "https") if self.cert else plain

    @property
    def queue_endpoint(self):
        return f"{'https' if self.cert else 'http'}://{self.host}:{self.queue_port}/devstoreaccount1"

    @property
    def blob_endpoint(self):
        return f"{'https' if self.cert else 'http'}://{self.host}:{self.blob_port}/devstoreaccount1"

    def command(self):
        node = shutil.which("node")
        binary = BINARY if BINARY.exists() else shutil.which("azurite")
        if node is None or binary is None:
            raise AzuriteError(not_installed())
        command = [
            node, str(binary), "--silent", "--skipApiVersionCheck", "--disableTelemetry",
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
        if self.cert:
            command += ["--cert", str(self.cert), "--key", str(self.key)]
        if self.oauth:
            command += ["--oauth", "basic"]
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
