"""The pillows a dashboard shows: ``[[pillow]]`` tables in a TOML settings file, checked.

    [[pillow]]
    id = "hall"                  # in URLs: /p/hall
    name = "Hallway"
    queue = "pillow-hall"        # default: setting QUEUE
    states_file = "config/states.toml"   # default: setting STATES_FILE
    silent_after = 600           # default: setting SILENT_AFTER
    silent_shows_notconnected = true     # default: setting SILENT_SHOWS_NOTCONNECTED

None configured: one pillow, ``default``, on setting QUEUE, as a dashboard always had.
"""

from .config import AZURE_NAME, WARN_LIMITS, ConfigError
from .domain.messages import PILLOW_ID
from .domain.pillows import DEFAULT_ID

DEFAULT_NAME = "Cloud Pillow"
FIELDS = ("id", "name", "queue", "states_file", "silent_after", "silent_shows_notconnected")
# Fields whose default is the setting of the same name, upper case.
FROM_SETTINGS = ("queue", "states_file", "silent_after", "silent_shows_notconnected")
NAME_MAX = 60
PILLOWS_MAX = 100


def check(tables, settings):
    """The pillows of ``tables`` (a list of dicts) with every field filled in, or ConfigError."""
    defaults = {field: settings[field.upper()] for field in FROM_SETTINGS}
    if not tables:
        return [{"id": DEFAULT_ID, "name": DEFAULT_NAME, **defaults}]
    if not isinstance(tables, list):
        raise ConfigError("pillows are listed as [[pillow]] tables (an array of tables), not "
                          f"as {type(tables).__name__}")
    if len(tables) > PILLOWS_MAX:
        raise ConfigError(f"pillows must be at most {PILLOWS_MAX} [[pillow]] tables")
    pillows, seen = [], set()
    for number, table in enumerate(tables, 1):
        where = f"[[pillow]] number {number}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} is not a table")
        unknown = sorted(set(table) - set(FIELDS))
        if unknown:
            raise ConfigError(f"{where} has unknown keys {', '.join(unknown)} (known: "
                              f"{', '.join(FIELDS)})")
        pillow = {"id": table.get("id"), "name": table.get("name", table.get("id")),
                  **defaults, **{field: table[field] for field in FROM_SETTINGS if field in table}}
        if not isinstance(pillow["id"], str) or not PILLOW_ID.match(pillow["id"]):
            raise ConfigError(f"{where}: id must be 1-32 of a-z, 0-9, _ and - (it is part of "
                              f"its URL, /p/<id>), not {pillow['id']!r:.40}")
        where = f"[[pillow]] {pillow['id']!r}"
        if pillow["id"] in seen:
            raise ConfigError(f"{where} is listed twice")
        seen.add(pillow["id"])
        name = pillow["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
            raise ConfigError(f"{where}: name must be 1-{NAME_MAX} characters")
        pillow["name"] = name.strip()
        if not isinstance(pillow["queue"], str) or not AZURE_NAME.match(pillow["queue"]):
            raise ConfigError(f"{where}: queue must be 3-56 lowercase letters, digits or single "
                              f"hyphens, not {pillow['queue']!r:.60}")
        if not isinstance(pillow["states_file"], str):
            raise ConfigError(f"{where}: states_file must be a path")
        _check_silence(pillow, where)
        pillows.append(pillow)
    return pillows


def _check_silence(pillow, where):
    most = WARN_LIMITS["SILENT_AFTER"]
    after = pillow["silent_after"]
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= most:
        raise ConfigError(f"{where}: silent_after must be whole seconds from 0 (off) to {most},"
                          f" not {after!r:.40}")
    if not isinstance(pillow["silent_shows_notconnected"], bool):
        raise ConfigError(f"{where}: silent_shows_notconnected must be true or false, not "
                          f"{pillow['silent_shows_notconnected']!r:.40}")
