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
