"""Settings come in layers, and anything unknown or invalid stops the start with its name."""

import pytest

from pillow_web import config
from pillow_web.app import create_app
from pillow_web.config import ConfigError


def test_defaults_point_at_a_local_azurite():
    values = config.load(environ={})
    assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1" in values["CONNECTION_STRING"]
    assert "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1" in values["CONNECTION_STRING"]
    assert (values["QUEUE"], values["POLL_MIN"], values["POLL_MAX"]) == ("pillow-state", 0.1, 1.0)


def test_layers_apply_in_order(tmp_path):
    extra = tmp_path / "site.toml"
    extra.write_text('queue = "from-file"\npoll_max = 3\nport = 7000\n')
    environ = {"PILLOW_CONFIG": str(extra), "PILLOW_PORT": "8000", "PILLOW_DEMO": "yes"}
    values = config.load({"POLL_MIN": 0.5}, environ=environ)
    assert values["QUEUE"] == "from-file"
    assert values["POLL_MAX"] == 3.0 and values["POLL_MIN"] == 0.5
    assert values["PORT"] == 8000 and values["DEMO"] is True


@pytest.mark.parametrize("overrides, environ, message", [
    ({}, {"PILLOW_QUEU": "x"}, "PILLOW_QUEU: unknown setting 'QUEU'"),
    ({}, {"PILLOW_POLL_MAX": "soon"}, "POLL_MAX must be a float"),
    ({}, {"PILLOW_DEMO": "maybe"}, "DEMO must be true or false"),
    ({"QUEUE": "Bad_Name"}, {}, "setting QUEUE must be"),
    ({"POLL_MIN": 2.0, "POLL_MAX": 1.0}, {}, "POLL_MIN <= POLL_MAX"),
    ({"PORT": 0}, {}, "setting PORT"),
    ({"NOPE": 1}, {}, "unknown setting 'NOPE'"),
    ({}, {"PILLOW_CONFIG": "/nonexistent.toml"}, "does not exist"),
])
def test_invalid_settings_name_the_setting(overrides, environ, message):
    with pytest.raises(ConfigError) as caught:
        config.load(overrides, environ=environ)
    assert message in str(caught.value)


def test_cli_option_variables_are_not_settings():
    assert config.load(environ={"PILLOW_POST_TEXT": "hi", "PILLOW_AZURITE_DIR": "/x",
                                "PILLOW_LOG_LEVEL": "DEBUG", "PILLOW_POISON_YES": "1"})


def test_secret_key_is_required_outside_demo_and_tests(monkeypatch):
    monkeypatch.delenv("PILLOW_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        create_app({})
    assert create_app({"DEMO": True}).secret_key
    assert create_app({"SECRET_KEY": "k" * 32}).secret_key == "k" * 32


def test_unusable_connection_string_is_a_config_error():
    with pytest.raises(ConfigError, match="CONNECTION_STRING"):
        create_app({"TESTING": True, "CONNECTION_STRING": "not a connection string"})


def test_readme_documents_every_setting():
    readme = (config.ROOT / "README.md").read_text()
    for name in config.SETTINGS:
        assert f"`PILLOW_{name}`" in readme, name


def test_warning_settings_default_and_come_from_the_environment():
    values = config.load(environ={})
    assert (values["WARN_WAITING_AGE"], values["WARN_POISON_MINUTES"]) == (120, 15)
    assert (values["SILENT_AFTER"], values["SILENT_SHOWS_NOTCONNECTED"]) == (0, False)
    values = config.load(environ={"PILLOW_WARN_WAITING_AGE": "0", "PILLOW_SILENT_AFTER": "900",
                                  "PILLOW_SILENT_SHOWS_NOTCONNECTED": "yes",
                                  "PILLOW_WARN_POISON_MINUTES": "1440"})
    assert (values["WARN_WAITING_AGE"], values["SILENT_AFTER"]) == (0, 900)
    assert values["SILENT_SHOWS_NOTCONNECTED"] is True and values["WARN_POISON_MINUTES"] == 1440


@pytest.mark.parametrize("environ, message", [
    ({"PILLOW_WARN_WAITING_AGE": "2 min"}, "WARN_WAITING_AGE must be an int, not '2 min'"),
    ({"PILLOW_WARN_WAITING_AGE": "-1"}, "WARN_WAITING_AGE must be between 0 (off) and 604800"),
    ({"PILLOW_WARN_POISON_MINUTES": "1441"}, "WARN_POISON_MINUTES must be between 0 (off) and"
                                             " 1440"),
    ({"PILLOW_SILENT_AFTER": "1.5"}, "SILENT_AFTER must be an int"),
    ({"PILLOW_SILENT_AFTER": "604801"}, "SILENT_AFTER must be between 0 (off) and 604800"),
    ({"PILLOW_SILENT_SHOWS_NOTCONNECTED": "sometimes"},
     "SILENT_SHOWS_NOTCONNECTED must be true or false"),
])
def test_bad_warning_settings_name_the_setting(environ, message):
    with pytest.raises(ConfigError) as caught:
        config.load(environ=environ)
    assert message in str(caught.value)


def test_queue_command_variables_are_not_settings_but_the_queue_settings_still_are():
    values = config.load(environ={"PILLOW_QUEUE_JSON": "1", "PILLOW_QUEUE_PILLOW": "hall",
                                  "PILLOW_QUEUE": "from-env"})
    assert values["QUEUE"] == "from-env"
    values = config.load(environ={"PILLOW_QUEUE_ENDPOINT": "https://q.example.com",
                                  "PILLOW_BLOB_ENDPOINT": "https://b.example.com"})
    assert values["QUEUE_ENDPOINT"] == "https://q.example.com"  # a setting, not skipped
