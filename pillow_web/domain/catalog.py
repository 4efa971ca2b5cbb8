"""The state catalog: which states exist and how each one looks, read from TOML and checked."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..config import ASSETS, ConfigError

NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(svg|png|jpg|jpeg|webp|gif)$")
TEXT_MAX = 200


@dataclass(frozen=True)
class State:
    name: str
    image: str
    text: str
    color: str | None = None


class Catalog:
    """Known states by upper-case name, plus the one shown before anything is known."""

    def __init__(self, states, initial):
        self.states = {state.name: state for state in states}
        self.initial = self.states[initial]

    def __contains__(self, name):
        return name.upper() in self.states

    def __getitem__(self, name):
        return self.states[name.upper()]

    @property
    def names(self):
        return list(self.states)

    @classmethod
    def from_settings(cls, settings):
        """The catalog named by the STATES_FILE setting."""
        return cls.from_file(settings["STATES_FILE"])

    @classmethod
    def from_file(cls, path):
        """The catalog in ``path`` (under the project, or absolute), images under static/img/."""
        return cls.load(ASSETS / path, ASSETS / "static" / "img")

    @classmethod
    def load(cls, path, image_dir):
        """Read ``path`` and check every entry; raise ConfigError naming what is wrong."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"state catalog {path}: {exc}") from None
        entries = data.get("state")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"state catalog {path}: no [[state]] entries")
        states = [_check_entry(path, image_dir, i, entry) for i, entry in enumerate(entries)]
        names = [state.name for state in states]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"state catalog {path}: duplicate states {', '.join(duplicates)}")
        initial = str(data.get("initial", names[0])).upper()
        if initial not in names:
            raise ConfigError(f"state catalog {path}: initial state {initial!r} is not defined")
        return cls(states, initial)


def _check_entry(path, image_dir, index, entry):
    where = f"state catalog {path}, state #{index + 1}"
    if not isinstance(entry, dict) or set(entry) - {"name", "image", "text", "color"}:
        raise ConfigError(f"{where}: only name, image, text and color are allowed")
    name = str(entry.get("name", "")).upper()
    if not NAME.match(name):
        raise ConfigError(f"{where}: name {entry.get('name')!r} must be letters, digits, _")
    where = f"state catalog {path}, state {name}"
    image = entry.get("image")
    if not isinstance(image, str) or not IMAGE.match(image):
        raise ConfigError(f"{where}: image {image!r} must be a file name like hugging.svg")
    if not (Path(image_dir) / image).is_file():
        raise ConfigError(f"{where}: image {Path(image_dir) / image} does not exist")
    text = entry.get("text", name.title())
    if not isinstance(text, str) or not 0 < len(text) <= TEXT_MAX:
        raise ConfigError(f"{where}: text must be 1 to {TEXT_MAX} characters")
    color = entry.get("color")
    if color is not None and not (isinstance(color, str) and COLOR.match(color)):
        raise ConfigError(f"{where}: color {color!r} must look like #a1b2c3")
    return State(name, image, text, color)
