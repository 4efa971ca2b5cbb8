"""The files that ship the app agree with the app: compose, Dockerfile, the vendored JS client."""

import json
import re
import shutil
import subprocess

import pytest
from ruamel.yaml import YAML

from pillow_web import config
from pillow_web.cli import cli
from pillow_web.config import ROOT

COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose():
    return YAML(typ="safe").load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_spec():
    checker = shutil.which("check-jsonschema", path=str(ROOT / ".venv" / "bin"))
    result = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True)
                    .returncode != 0 if shutil.which("docker") else True,
                    reason="no `docker compose` client on this machine")
def test_docker_compose_config_accepts_the_file():
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            env={"PILLOW_SECRET_KEY": "x", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_sets_only_settings_the_app_reads(compose):
    environment = compose["services"]["web"]["environment"]
    names = [key[len("PILLOW_"):] for key in environment]
    assert names and all(name in config.SETTINGS for name in names), names
    values = {name: str(value) for name, value in environment.items() if "${" not in str(value)}
    loaded = config.load(environ=values)
    assert "QueueEndpoint=http://azurite:10001" in loaded["CONNECTION_STRING"]
    assert loaded["HOST"] == "0.0.0.0"


def test_compose_and_dockerfile_run_real_cli_commands(compose):
    command = compose["services"]["web"]["command"]
    dockerfile_cmd = json.loads(re.search(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(),
                                          re.M).group(1))
    for argv in (command, dockerfile_cmd):
        assert argv[0] == "pillow-web"
        context = cli.make_context("pillow-web", argv[1:], resilient_parsing=True)
        assert cli.get_command(context, argv[1]) is not None, argv


def test_dockerfile_copies_what_the_app_needs():
    copied = re.findall(r"^COPY (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    for folder in ("pillow_web", "templates", "static", "config"):
        assert folder in copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_compose_pins_the_same_azurite_as_package_json(compose):
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["azurite"]
    assert compose["services"]["azurite"]["image"].endswith(f":{pinned}")


def test_vendored_socketio_client_is_the_pinned_npm_build():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["socket.io-client"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin an exact version"
    package = ROOT / "node_modules" / "socket.io-client"
    assert json.loads((package / "package.json").read_text())["version"] == pinned
    vendored = (ROOT / "static" / "vendor" / "socket.io.min.js").read_bytes()
    assert vendored == (package / "dist" / "socket.io.min.js").read_bytes()
