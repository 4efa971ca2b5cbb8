"""The scale-out topology on loopback, every process a ``Part`` (parts.py): Azurite (on a data
folder), Redis, two ``serve --role watcher``, two ``serve --role web`` and nginx with
deploy/nginx.conf in front of the web workers, as one deployment (one secret key, one Redis).
"""

import json
import os
import secrets
from pathlib import Path

from bench.common import wait_until

from .parts import (
    HOST,
    START_TIMEOUT,
    AzuritePart,
    NginxPart,
    RedisPart,
    ServePart,
    sessions_alive,
)

QUEUE = "chaos"


class Topology:
    """Every part, started in order and stopped together; ``parts`` by name."""

    def __init__(self, run_dir, settings=None):
        self.run_dir = Path(run_dir).resolve()
        self.azurite = AzuritePart(self.run_dir)
        self.redis = RedisPart("redis", self.run_dir)
        env = {key: value for key, value in os.environ.items() if not key.startswith("PILLOW_")}
        env.update(PILLOW_CONNECTION_STRING=self.azurite.connection_string, PILLOW_QUEUE=QUEUE,
                   PILLOW_SECRET_KEY=secrets.token_hex(16), PILLOW_MESSAGE_QUEUE=
                   f"redis://{HOST}:{self.redis.port}/0", PILLOW_TRUSTED_PROXIES="1",
                   PILLOW_SCREENS_PER_ADDRESS="0", PYTHONUNBUFFERED="1")
        env.update({f"PILLOW_{key}": str(value) for key, value in (settings or {}).items()})
        self.watchers = [ServePart(f"watcher-{x}", self.run_dir, "watcher", env) for x in "ab"]
        self.webs = [ServePart(f"web-{x}", self.run_dir, "web", env) for x in "ab"]
        self.nginx = NginxPart(self.run_dir, [f"{HOST}:{web.port}" for web in self.webs])
        self.parts = {part.name: part for part in (self.azurite, self.redis, *self.watchers,
                                                   *self.webs, self.nginx)}
        (self.run_dir / "parts.json").write_text(json.dumps(
            {name: {"port": part.port} for name, part in self.parts.items()}))

    @property
    def url(self):
        return f"http://{HOST}:{self.nginx.port}"

    def start(self):
        try:
            self.azurite.start()
            self.redis.start()
            self.watchers[0].start()
            wait_until(lambda: self.watchers[0].lease_role() == "active", START_TIMEOUT,
                       "watcher-a to hold the lease", interval=0.1)
            for part in (self.watchers[1], *self.webs, self.nginx):
                part.start()
        except BaseException:
            self.stop()
            raise
        return self

    def roles(self):
        """Each watcher's role now, by its ``/healthz`` (None: it does not answer)."""
        return {watcher.name: watcher.lease_role() for watcher in self.watchers}

    def stop(self):
        for part in reversed(list(self.parts.values())):
            part.stop()

    def left_running(self):
        """Processes of any session this topology started that are still alive."""
        return sessions_alive({pid for part in self.parts.values() for pid in part.pids})
