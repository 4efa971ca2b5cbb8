"""The application factory: settings, catalog, storage, state and watcher, wired into Flask."""

import logging
import secrets
from dataclasses import dataclass

from flask import Flask

from . import config as settings_module
from .catalog import Catalog
from .config import ROOT, ConfigError
from .state import StateStore
from .storage import Storage
from .watcher import Watcher

log = logging.getLogger(__name__)


@dataclass
class Pillow:
    """Everything one app owns, kept in ``app.extensions["pillow"]``."""

    catalog: Catalog
    storage: Storage
    store: StateStore
    watcher: Watcher


def create_app(config=None):
    """Build the app. Nothing connects to storage or starts here; ``serve`` starts the watcher.

    ``config`` is a mapping of settings (e.g. ``{"QUEUE": "test-1"}``) applied over every other
    layer; ``ConfigError`` names any setting that is unknown or invalid.
    """
    settings = settings_module.load(config)
    app = Flask(__name__, root_path=str(ROOT), static_folder="static", template_folder="templates")
    app.config.update(settings)
    if not settings["SECRET_KEY"]:
        if not (settings["DEMO"] or app.config.get("TESTING")):
            raise ConfigError("setting SECRET_KEY is required (PILLOW_SECRET_KEY); "
                              "only the demo makes a random one")
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.update(MAX_CONTENT_LENGTH=16 * 1024, JSON_SORT_KEYS=False)

    catalog = Catalog.load(ROOT / settings["STATES_FILE"], ROOT / "static" / "img")
    try:
        storage = Storage(settings["CONNECTION_STRING"], settings["QUEUE"], settings["CONTAINER"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    store = StateStore(catalog)

    from . import events, views

    emit = events.init_app(app)
    watcher = Watcher(storage, store, settings, emit)
    app.extensions["pillow"] = Pillow(catalog, storage, store, watcher)
    views.init_app(app)
    return app
