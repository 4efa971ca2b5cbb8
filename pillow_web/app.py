"""The application factory: settings, catalog, storage, state and watcher, wired into Flask."""

import hashlib
import logging
import secrets
from dataclasses import dataclass, field

from flask import Flask

from . import config as settings_module
from .config import ASSETS, PACKAGE, ConfigError
from .domain.catalog import Catalog
from .domain.state import StateStore
from .fleet import MESSAGE_QUEUE_DOWN, Fleet
from .storage.account import Storage
from .watch.watcher import Watcher
from .web.remote import RemoteWatcher

log = logging.getLogger(__name__)

SECRET_KEY_MIN = 32


ROLES = ("all", "web")  # serve's roles with pages; "watcher" serves none (watch/process.py)


@dataclass
class Pillow:
    """Everything one app owns, kept in ``app.extensions["pillow"]``.

    ``watcher`` is the Watcher in the all-in-one role; in the web role a ``RemoteWatcher`` with
    the same ``loaded``, ``status()`` and ``wake()``, and nothing that consumes the queue.
    """

    catalog: Catalog
    storage: Storage
    store: StateStore
    watcher: Watcher | RemoteWatcher
    push: object  # push(event, data) to every screen (of every process, through the fleet)
    fleet: Fleet = field(default_factory=Fleet)
    role: str = "all"
    screens: set = field(default_factory=set)  # Socket.IO ids of this process's screens

    @property
    def window(self):
        """Seconds ``serve`` waits for the snapshot before it answers "starting"."""
        return self.watcher.window if self.role == "web" else self.watcher.link.window

    def start(self):
        self.watcher.start()
        self.fleet.serve_screens(lambda: len(self.screens))
        if self.role == "all":
            self.fleet.serve_watcher(self.watcher)

    def stop(self, timeout):
        self.watcher.stop(timeout)
        self.fleet.close()

    def wake_watcher(self):
        """Poll now, wherever the consuming watcher runs: here, or through the fleet."""
        self.watcher.wake()  # (a web worker's wakes it through the fleet)
        if self.role == "all":
            self.fleet.wake_watcher()  # this one may be a standby: wake the active one too

    def screen_count(self):
        return self.fleet.screens(len(self.screens))

    def health(self, detail=False):
        """``/healthz`` (and, with ``detail``, the console): the watcher's link, and whether
        Redis answers when there is one."""
        if self.role == "web":
            return self.watcher.health(detail)
        health = self.watcher.link.status(detail=detail)
        if self.fleet.shared:
            health["message_queue_ok"] = self.fleet.healthy()
            if health["status"] == "ok" and not health["message_queue_ok"]:
                health.update(status="degraded", reason=MESSAGE_QUEUE_DOWN)
            if detail:
                health.update(message_queue=self.fleet.shown_url,
                              message_queue_error=self.fleet.error)
        return health


def build_id():
    """A hash of the code, templates and assets: it changes exactly when a deploy changes them.

    Files are named as in the repository, so a checkout and the installed wheel of the same
    commit have the same id (screens behind a load balancer do not reload between them).
    """
    digest = hashlib.sha256()
    folders = [("pillow_web", PACKAGE)] + [(name, ASSETS / name)
                                           for name in ("templates", "static", "config")]
    for name, folder in folders:
        for path in sorted(folder.rglob("*")):
            inside = path.relative_to(folder)
            if (path.is_file() and "__pycache__" not in inside.parts
                    and not (folder == PACKAGE and inside.parts[0] == "assets")):
                digest.update(f"{name}/{inside.as_posix()}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def create_app(config=None, role="all"):
    """Build the app. Nothing connects to storage or starts here; ``serve`` starts the watcher.

    ``config`` is a mapping of settings (e.g. ``{"QUEUE": "test-1"}``) applied over every other
    layer; ``ConfigError`` names any setting that is unknown or invalid. ``role`` "web" serves
    pages and sockets without consuming the queue (it needs MESSAGE_QUEUE).
    """
    settings = settings_module.load(config)
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "web" and not settings["MESSAGE_QUEUE"].strip():
        raise ConfigError("the web role needs setting MESSAGE_QUEUE (PILLOW_MESSAGE_QUEUE, e.g. "
                          "redis://127.0.0.1:6379/0): its screens get the watcher's pushes there")
    app = Flask(__name__, root_path=str(ASSETS), static_folder="static",
                template_folder="templates")
    app.config.update(settings)
    if not settings["SECRET_KEY"]:
        if not (settings["DEMO"] or app.config.get("TESTING")):
            raise ConfigError("setting SECRET_KEY is required (PILLOW_SECRET_KEY); "
                              "only the demo makes a random one")
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    elif len(settings["SECRET_KEY"]) < SECRET_KEY_MIN and not settings["DEMO"]:
        # It signs the session cookie (and with it the CSRF token): a short one can be guessed.
        raise ConfigError(f"setting SECRET_KEY must be at least {SECRET_KEY_MIN} characters "
                          "(e.g. `openssl rand -hex 32`)")
    app.config.update(MAX_CONTENT_LENGTH=16 * 1024)
    app.config["BUILD_ID"] = settings["BUILD_ID"] or build_id()

    catalog = Catalog.from_settings(settings)
    storage = Storage.from_settings(settings)
    store = StateStore(catalog)

    from .web import api, events, operator, security, views

    fleet = Fleet.from_settings(settings)
    push, push_here = events.init_app(app, fleet)
    if role == "web":
        watcher = RemoteWatcher(storage, store, settings, fleet, push_here)
    else:
        def watcher_push(event, data):
            # A standby follows the snapshot that the active watcher pushed already: pushing it
            # to every worker's screens again could put an older state back on them.
            (push if watcher.role == "active" else push_here)(event, data)

        watcher = Watcher(storage, store, settings, watcher_push if fleet.shared else push)
    app.extensions["pillow"] = Pillow(catalog, storage, store, watcher, push, fleet, role)
    security.init_app(app)
    views.init_app(app)
    api.init_app(app)
    operator.init_app(app)
    return app
