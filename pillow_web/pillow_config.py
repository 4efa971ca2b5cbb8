"""The pillows a dashboard shows: ``[[pillow]]`` tables in a TOML settings file, checked.

    [[pillow]]
    id = "hall"                  # in URLs: /p/hall
    name = "Hallway"
    queue = "pillow-hall"        # default: setting QUEUE
    states_file = "config/states.toml"   # default: setting STATES_FILE

None configured: one pillow, ``default``, on setting QUEUE, as a dashboard always had.
"""

from .config import AZURE_NAME, ConfigError
from .domain.messages import PILLOW_ID
from .domain.pillows import DEFAULT_ID

DEFAULT_NAME = "Cloud Pillow"
FIELDS = ("id", "name", "queue", "states_file")
NAME_MAX = 60
PILLOWS_MAX = 100


def check(tables, settings):
    """The pillows of ``tables`` (a list of dicts) with every field filled in, or ConfigError."""
    if not tables:
        return [{"id": DEFAULT_ID, "name": DEFAULT_NAME, "queue": settings["QUEUE"],
                 "states_file": settings["STATES_FILE"]}]
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
                  "queue": table.get("queue", settings["QUEUE"]),
                  "states_file": table.get("states_file", settings["STATES_FILE"])}
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
        pillows.append(pillow)
    return pillows
