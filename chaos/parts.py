"""The processes of the chaos topology, each a ``Part`` that faults can kill, freeze and start
again (a new generation) on the same port, in a session of its own so that a signal reaches all
of its children and the end of the run can tell whether anything is left.

Each watcher and web worker process names itself to storage with ``AZURE_HTTP_USER_AGENT``
(``chaos-watcher-a-g2``: the part and its generation), which Azure's SDK appends to every
request's User-Agent: the checker reads Azurite's request log to see which process consumed
when, from storage's side, not from the processes' own word.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench.common import wait_until
from pillow_web.storage.azurite import Azurite
from tests.nginx import Nginx, render_site
from tests.services import RedisServer

HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # a cold serve on a busy 2-core machine, while other parts are down


def listen_port():
    """A free port below the kernel's range for outgoing connections' own ports: a part is
    started again on its port many times in a run, and meanwhile any of the hundreds of
    connections the run opens could otherwise have been given that port as its own."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
        return port


class Part:
    """One process, started again (a new generation) on the same port after each kill."""

    def __init__(self, name, run_dir, port=None):
        self.name, self.run_dir = name, Path(run_dir)
        self.port = port or listen_port()
        self.process, self.generation, self.pids = None, 0, []

    def command(self):
        raise NotImplementedError

    def env(self):
        return None

    def answers(self):
        raise NotImplementedError

    def start(self, timeout=START_TIMEOUT):
        self.generation += 1
        with open(self.run_dir / f"{self.name}.log", "ab") as log:
            log.write(f"--- {self.name} generation {self.generation} at {time.time():.3f}\n"
                      .encode())
            log.flush()
            self.process = subprocess.Popen(self.command(), env=self.env(), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            cwd=self.run_dir)
        self.pids.append(self.process.pid)

        def up():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            return self.answers()

        wait_until(up, timeout, f"{self.name} to answer", interval=0.05)
        return self

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self):
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def freeze(self):
        """SIGSTOP, returning once the kernel shows the process stopped."""
        self.signal(signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        wait_until(lambda: stat.read_text().rsplit(")", 1)[1].split()[0] == "T", 5,
                   f"{self.name} to stop", interval=0.001)

    def thaw(self):
        self.signal(signal.SIGCONT)

    def stop(self, timeout=10.0):
        """SIGCONT and SIGTERM, SIGKILL if it lingers: what a clean shutdown sends."""
        if not self.running:
            return
        self.thaw()
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class AzuritePart(Part):
    """Azurite on a data folder, the same ports every time; each generation's request log apart
    (``azurite-<n>.log``: Azurite starts its debug log afresh)."""

    def __init__(self, run_dir):
        super().__init__("azurite", run_dir)
        self.server = Azurite(location=str(self.run_dir / "azurite-data"), blob_port=self.port,
                              queue_port=listen_port(), table_port=listen_port())

    @property
    def connection_string(self):
        return self.server.connection_string

    def command(self):
        self.server.debug_log = str(self.run_dir / f"azurite-{self.generation}.log")
        return self.server.command()

    def answers(self):
        return all(self.server._answers(port)
                   for port in (self.server.queue_port, self.server.blob_port))


class RedisPart(Part):
    """redis-server as the tests run it (tests/services.py), on this part's port."""

    def __init__(self, name, run_dir):
        super().__init__(name, run_dir)
        self.server = RedisServer(self.run_dir / "redis")
        self.server.port = self.port

    def command(self):
        return self.server.command()

    def answers(self):
        return self.server.answers()


class NginxPart(Part):
    """nginx with the repository's deploy/nginx.conf (as tests/nginx.py fills it in)."""

    def __init__(self, run_dir, upstreams):
        super().__init__("nginx", run_dir)
        self.nginx = Nginx(Path(run_dir) / "nginx", upstreams)
        self.nginx.port = self.port  # (and its site listens there: filled in again)
        self.nginx.site.write_text(render_site(f"{HOST}:{self.port}", upstreams))

    def command(self):
        return self.nginx.command()

    def answers(self):
        return self.nginx.answers()


class ServePart(Part):
    """``pillow-web serve --role watcher|web`` with the shared settings in ``env``."""

    def __init__(self, name, run_dir, role, shared_env):
        super().__init__(name, run_dir)
        self.role, self.shared_env = role, shared_env
        self.url = f"http://{HOST}:{self.port}"

    def command(self):
        return [sys.executable, "-m", "pillow_web", "--log-level", "INFO", "serve", "--role",
                self.role, "--host", HOST, "--port", str(self.port)]

    def env(self):
        return {**self.shared_env, "AZURE_HTTP_USER_AGENT": self.agent}

    @property
    def agent(self):
        return f"chaos-{self.name}-g{self.generation}"

    def answers(self):
        try:
            return requests.get(self.url + "/livez", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def lease_role(self):
        """What ``/healthz`` says: "active", "standby", "web"; None if it does not answer."""
        try:
            return requests.get(self.url + "/healthz", timeout=1).json().get("role")
        except (requests.RequestException, ValueError):
            return None


def sessions_alive(session_ids):
    """(pid, command) of live processes (not zombies) whose session is one of ``session_ids``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) in session_ids:
            alive.append((int(entry.name), command))
    return alive
