"""Settings in layers: defaults, TOML files, ``PILLOW_*`` environment, then the caller's mapping.

Every setting is declared once in ``SETTINGS``; anything else is an error that names it, so a typo
in an environment variable or a TOML key stops the start instead of being silently ignored.
"""

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The folder above the package: in a checkout, the project (README, node_modules, tests).
ROOT = PACKAGE.parent
# The folder with templates/, static/ and config/: inside the package when installed from the
# wheel (pyproject.toml maps them to pillow_web/assets/), else the checkout's own top level.
ASSETS = PACKAGE / "assets" if (PACKAGE / "assets").is_dir() else ROOT
IN_CHECKOUT = ASSETS == ROOT

# The fixed, public Azurite development account (from Azurite's README); not a secret.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_connection_string(host="127.0.0.1", blob_port=10000, queue_port=10001):
    """Connection string for an Azurite on ``host`` with the given ports."""
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://{host}:{blob_port}/devstoreaccount1;"
        f"QueueEndpoint=http://{host}:{queue_port}/devstoreaccount1;"
    )


class ConfigError(Exception):
    """A setting is unknown or has a value the app cannot use."""


@dataclass(frozen=True)
class Setting:
    type: type
    default: object
    help: str


SETTINGS = {
    "CONNECTION_STRING": Setting(
        str, azurite_connection_string(), "Azure Storage connection string (queue and blob)."
    ),
    "STORAGE_ACCOUNT": Setting(
        str, "", "Storage account name: sign in with Entra ID instead of a connection string."
    ),
    "QUEUE_ENDPOINT": Setting(str, "", "https:// queue endpoint to sign in to (other clouds)."),
    "BLOB_ENDPOINT": Setting(str, "", "https:// blob endpoint to sign in to (other clouds)."),
    "QUEUE": Setting(
        str, "pillow-state", "Queue the pillow posts to; bad ones go to <queue>-poison."
    ),
    "CONTAINER": Setting(str, "pillow-web", "Blob container that holds the state snapshot."),
    "STATES_FILE": Setting(str, "config/states.toml", "State catalog (TOML), under the project."),
    "POLL_MIN": Setting(float, 0.1, "Seconds between polls while messages arrive."),
    "POLL_MAX": Setting(float, 1.0, "Longest wait between polls while the queue is empty."),
    "VISIBILITY_TIMEOUT": Setting(int, 5, "Seconds a received message stays hidden from others."),
    "MAX_DEQUEUE": Setting(int, 5, "Deliveries after which an unapplied message is poisoned."),
    "SECRET_KEY": Setting(str, "", "Flask secret key (sessions); required outside demo and tests."),
    "OPERATOR_TOKEN": Setting(str, "", "Bearer token for the write API; empty disables writes."),
    "CORS_ORIGINS": Setting(str, "", "Extra origins allowed to open the socket, comma separated."),
    "SCREENS_PER_ADDRESS": Setting(
        int, 100, "Most Socket.IO connections one client address may hold (0: no limit)."
    ),
    "TRUSTED_PROXIES": Setting(
        int, 0, "Reverse proxies in front whose X-Forwarded-* headers are believed (0: none)."
    ),
    "ALLOWED_HOSTS": Setting(str, "", "Host names (optional :port) to answer to, comma separated;"
                             " empty: any."),
    "TLS_CERT": Setting(str, "", "PEM certificate (chain) file: serve HTTPS, with TLS_KEY."),
    "TLS_KEY": Setting(str, "", "PEM private key file of TLS_CERT (unencrypted)."),
    "SECURE_COOKIES": Setting(bool, False, "Session cookie Secure even on requests seen as http."),
    "HEADER_TIMEOUT": Setting(float, 10.0, "Seconds a client has to send a request's headers."),
    "HOST": Setting(str, "127.0.0.1", "Address `pillow-web serve` listens on."),
    "PORT": Setting(int, 5000, "Port `pillow-web serve` listens on."),
    "DEMO": Setting(bool, False, "Demo mode: a random secret key per run is acceptable."),
    "MESSAGE_QUEUE": Setting(str, "", "Redis URL the processes share; empty: one, no Redis."),
    "METRICS_TOKEN": Setting(
        str, "", "Bearer token for /metrics from other hosts (the operator token works too)."
    ),
    "FRAME_ANCESTORS": Setting(
        str, "", "Origins allowed to embed the kiosk in a frame, space separated; empty: none."
    ),
    "BUILD_ID": Setting(
        str, "", "Build id (default: a hash of code and assets); screens reload on a new one."
    ),
    "WARN_WAITING_AGE": Setting(
        int, 120, "Seconds the oldest waiting message may wait before a warning (0: none)."
    ),
    "WARN_POISON_MINUTES": Setting(int, 15, "Warn of poisonings in the last N minutes (0: none)."),
    "SILENT_AFTER": Setting(
        int, 0, "Seconds without a message after which a pillow is silent: a warning (0: never)."
    ),
    "SILENT_SHOWS_NOTCONNECTED": Setting(
        bool, False, "A silent pillow's kiosks show NOTCONNECTED and since when it is silent."
    ),
}
# Not a setting of its own (no environment variable): [[pillow]] tables, see ``pillow_config``.
PILLOWS = "PILLOWS"

# Environment names owned by CLI options (click's envvar fallbacks), not by the app's settings.
# A setting's own variable wins over a prefix (PILLOW_QUEUE_ENDPOINT is a setting).
CLI_ENV_PREFIXES = ("PILLOW_POST_", "PILLOW_AZURITE_", "PILLOW_POISON_", "PILLOW_PILLOWS_",
                    "PILLOW_QUEUE_", "PILLOW_LOG_LEVEL", "PILLOW_ROLE")
FILE_ENV = "PILLOW_CONFIG"
# Azure's rule for queue and container names; 56 leaves room for the "-poison" suffix.
AZURE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,54}[a-z0-9]$")
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
ACCOUNT_SETTINGS = ("STORAGE_ACCOUNT", "QUEUE_ENDPOINT", "BLOB_ENDPOINT")
# The most each warning setting may be: a week (s); the queue stats' 24 h (min).
WARN_LIMITS = {"WARN_WAITING_AGE": 604800, "WARN_POISON_MINUTES": 1440, "SILENT_AFTER": 604800}


def _coerce(name, value):
    """Return ``value`` as the declared type of setting ``name``, or raise ConfigError."""
    if name not in SETTINGS:
        known = ", ".join(sorted(SETTINGS))
        raise ConfigError(f"unknown setting {name!r} (known settings: {known})")
    kind = SETTINGS[name].type
    if kind is bool and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"setting {name} must be true or false, not {value!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    article = "an" if kind is int else "a"
    raise ConfigError(f"setting {name} must be {article} {kind.__name__}, not {value!r}")


def _from_toml(path):
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    tables = {PILLOWS: data.pop("pillow")} if "pillow" in data else {}
    try:
        return {key.upper(): _coerce(key.upper(), value) for key, value in data.items()} | tables
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _from_env(environ):
    values = {}
    for key, value in environ.items():
        cli_option = key.startswith(CLI_ENV_PREFIXES) and key[len("PILLOW_"):] not in SETTINGS
        if not key.startswith("PILLOW_") or key == FILE_ENV or cli_option:
            continue
        try:
            values[key[len("PILLOW_") :]] = _coerce(key[len("PILLOW_") :], value)
        except ConfigError as exc:
            raise ConfigError(f"environment variable {key}: {exc}") from None
    return values


def load(overrides=None, environ=None):
    """Merge every layer into one dict of validated settings."""
    environ = os.environ if environ is None else environ
    values = {name: setting.default for name, setting in SETTINGS.items()} | {PILLOWS: []}
    values.update(_from_toml(ASSETS / "config" / "default.toml"))
    if environ.get(FILE_ENV):
        values.update(_from_toml(environ[FILE_ENV]))
    pillows_from = environ[FILE_ENV] if values[PILLOWS] else "setting PILLOWS"
    values.update(_from_env(environ))
    flask_keys = {"TESTING", "DEBUG", PILLOWS}
    for key, value in (overrides or {}).items():
        values[key] = value if key in flask_keys else _coerce(key, value)
    from .account_config import storage_account  # (these import this module)
    from .pillow_config import check as check_pillows
    values.update(storage_account(values))
    _check(values)
    try:
        values[PILLOWS] = check_pillows(values[PILLOWS], values)
    except ConfigError as exc:
        raise ConfigError(f"{pillows_from}: {exc}") from None
    return values


def _check(values):
    """Cross-field checks that a single type cannot express."""
    if not (values["CONNECTION_STRING"].strip() or values["QUEUE_ENDPOINT"]):
        raise ConfigError("setting CONNECTION_STRING is empty (or set STORAGE_ACCOUNT to sign in"
                          " with Entra ID)")
    for name in ("QUEUE", "CONTAINER"):
        if not AZURE_NAME.match(values[name]):
            raise ConfigError(
                f"setting {name} must be 3-56 lowercase letters, digits or single hyphens,"
                f" not {values[name]!r}"
            )
    if not 0 < values["POLL_MIN"] <= values["POLL_MAX"] <= 60:
        raise ConfigError("settings POLL_MIN and POLL_MAX need 0 < POLL_MIN <= POLL_MAX <= 60")
    if not 1 <= values["VISIBILITY_TIMEOUT"] <= 3600:
        raise ConfigError("setting VISIBILITY_TIMEOUT must be between 1 and 3600 seconds")
    if not 1 <= values["MAX_DEQUEUE"] <= 100:
        raise ConfigError("setting MAX_DEQUEUE must be between 1 and 100")
    if values["SCREENS_PER_ADDRESS"] < 0:
        raise ConfigError("setting SCREENS_PER_ADDRESS must be 0 (no limit) or more")
    if not 0 <= values["TRUSTED_PROXIES"] <= 5:
        raise ConfigError("setting TRUSTED_PROXIES must be between 0 and 5 (proxy hops)")
    if not 1 <= values["HEADER_TIMEOUT"] <= 300:
        raise ConfigError("setting HEADER_TIMEOUT must be between 1 and 300 seconds")
    for name, most in WARN_LIMITS.items():
        if not 0 <= values[name] <= most:
            raise ConfigError(f"setting {name} must be between 0 (off) and {most}")
    if not 0 < values["PORT"] < 65536:
        raise ConfigError(f"setting PORT must be a TCP port, not {values['PORT']}")
    from .message_queue import check_message_queue  # here: it raises this module's ConfigError
    check_message_queue(values["MESSAGE_QUEUE"].strip())
