"""The application factory: settings, catalog, storage, state and watcher, wired into Flask."""

import hashlib
import logging
import secrets

from flask import Flask

from . import config as settings_module
from .config import ASSETS, PACKAGE, ConfigError
from .dashboard import Dashboard
from .fleet import Fleet
from .live_pillows import queues_of, watch_pillows
from .metrics import counted_push
from .watch.watcher import Watcher
from .web import history
from .web.remote import RemoteWatcher

log = logging.getLogger(__name__)

SECRET_KEY_MIN = 32


ROLES = ("all", "web")  # serve's roles with pages; "watcher" serves none (watch/process.py)


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

    from .web import (
        api,
        events,
        metrics,
        operator,
        poison_console,
        queue_console,
        security,
        views,
    )

    fleet = Fleet.from_settings(settings, queues_of(settings))
    push, push_here = map(counted_push, events.init_app(app, fleet))

    def make_watcher(storage, queue_state):
        if role == "web":
            return RemoteWatcher(storage, queue_state, settings, fleet, push_here)
        # A standby follows the snapshot that the active watcher pushed already: pushing it to
        # every worker's screens again could put an older state back on them.
        return Watcher(storage, queue_state, settings, push, push_here if fleet.shared else None)

    pillows = watch_pillows(settings, make_watcher, fleet.shown)
    app.extensions["pillow"] = Dashboard({pillow.id: pillow for pillow in pillows}, push, fleet,
                                         role, push_here=push_here)
    security.init_app(app)
    views.init_app(app)
    api.init_app(app)
    history.init_app(app)
    operator.init_app(app)
    queue_console.init_app(app)
    poison_console.init_app(app)
    metrics.init_app(app)
    return app
