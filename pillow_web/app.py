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
from .storage.account import Storage
from .watch.watcher import Watcher

log = logging.getLogger(__name__)

SECRET_KEY_MIN = 32


@dataclass
class Pillow:
    """Everything one app owns, kept in ``app.extensions["pillow"]``."""

    catalog: Catalog
    storage: Storage
    store: StateStore
    watcher: Watcher
    push: object  # push(event, data) to every screen
    screens: set = field(default_factory=set)  # Socket.IO ids of connected screens


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


def create_app(config=None):
    """Build the app. Nothing connects to storage or starts here; ``serve`` starts the watcher.

    ``config`` is a mapping of settings (e.g. ``{"QUEUE": "test-1"}``) applied over every other
    layer; ``ConfigError`` names any setting that is unknown or invalid.
    """
    settings = settings_module.load(config)
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

    push = events.init_app(app)
    watcher = Watcher(storage, store, settings, push)
    app.extensions["pillow"] = Pillow(catalog, storage, store, watcher, push)
    security.init_app(app)
    views.init_app(app)
    api.init_app(app)
    operator.init_app(app)
    return app
