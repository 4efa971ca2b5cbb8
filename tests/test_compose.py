"""docker-compose.yml: a demo a person with Docker can use, checked offline against the spec,
against the app's settings and CLI, and by running its web command as written."""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest
import requests
from ruamel.yaml import YAML

from pillow_web import config
from pillow_web.config import ROOT
from pillow_web.domain.catalog import Catalog
from pillow_web.storage import azurite as azurite_module
from pillow_web.storage.azurite import free_port

from .test_deploy import dockerfile_instruction, real_command
from .util import wait_for

COMPOSE = ROOT / "docker-compose.yml"
# The command the README and the compose file give for posting a state.
DOCUMENTED_POST = re.compile(r"docker compose exec (\S+) (pillow-web post [^`\n]+?)\s*(?:`|$)",
                             re.M)


@pytest.fixture(scope="module")
def compose():
    return YAML(typ="safe").load(COMPOSE.read_text())


def web_script(compose):
    """The shell script the web service runs (``sh -c SCRIPT``), with Compose's ``$$`` undone."""
    command = compose["services"]["web"]["command"]
    assert command[:2] == ["sh", "-c"], command
    return command[2].replace("$$", "$")


def test_compose_file_matches_the_compose_spec():
    checker = shutil.which("check-jsonschema", path=str(ROOT / ".venv" / "bin"))
    result = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True)
                    .returncode != 0 if shutil.which("docker") else True,
                    reason="no `docker compose` client on this machine")
def test_docker_compose_config_accepts_the_file_with_no_variable_set():
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_needs_no_variable_for_exec_or_down():
    """``${VAR:?}`` fails every compose command (``exec``, ``down``) while VAR is unset."""
    assert not re.search(r"\$\{[A-Z_]+:?\?", COMPOSE.read_text())


def test_compose_sets_only_settings_the_app_reads(compose):
    environment = compose["services"]["web"]["environment"]
    names = [key[len("PILLOW_"):] for key in environment]
    assert names and all(name in config.SETTINGS for name in names), names
    values = {name: str(value) for name, value in environment.items() if "${" not in str(value)}
    loaded = config.load(environ=values)
    assert "QueueEndpoint=http://azurite:10001" in loaded["CONNECTION_STRING"]
    assert loaded["HOST"] == "0.0.0.0"


def test_compose_publishes_the_dashboard_to_the_network_and_azurite_to_this_machine(compose):
    assert compose["services"]["web"]["ports"] == ["5000:5000"]  # every interface
    published = compose["services"]["azurite"]["ports"]
    assert all(port.startswith("127.0.0.1:") for port in published), published
    # Where the host's `pillow-web post`, with the default connection string, looks for them.
    default = config.SETTINGS["CONNECTION_STRING"].default
    for service, port in (("Blob", "10000"), ("Queue", "10001")):
        assert f"{service}Endpoint=http://127.0.0.1:{port}/" in default
        assert f"127.0.0.1:{port}:{port}" in published


def test_compose_and_dockerfile_run_real_cli_commands(compose):
    [exec_line] = re.findall(r"^\s*exec (pillow-web .+)$", web_script(compose), re.M)
    [dockerfile_cmd] = dockerfile_instruction("CMD")
    for argv in (shlex.split(exec_line), json.loads(dockerfile_cmd)):
        assert real_command(argv).name == "serve"


def test_the_documented_way_to_post_a_state_is_a_real_command_of_the_image(compose):
    for where in (ROOT / "README.md", COMPOSE):
        found = DOCUMENTED_POST.findall(where.read_text())
        assert found, f"{where.name} documents no `docker compose exec web pillow-web post …`"
        for service, command in found:
            assert service in compose["services"] and "build" in compose["services"][service]
            argv = shlex.split(command)
            assert real_command(argv).name == "post"
            catalog = Catalog.from_settings(config.load(environ={}))
            assert argv[2] in catalog, f"{argv[2]} is not a state of the default catalog"
    # `pillow-web` on the image's PATH is the wheel's console script.
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"pillow-web": "pillow_web.__main__:main"}


def test_the_compose_web_command_makes_keys_and_prints_a_token_that_signs_in(
        compose, azurite, tmp_path):
    """The web service's script, run as it is with Compose's environment (pointed at the test's
    Azurite): a start with no variable set serves, prints a token, and that token signs in."""
    environment = {key: re.sub(r"\$\{\w+:-\}", "", str(value))
                   for key, value in compose["services"]["web"]["environment"].items()}
    assert environment["PILLOW_SECRET_KEY"] == environment["PILLOW_OPERATOR_TOKEN"] == ""
    port = free_port()
    environment.update(PILLOW_CONNECTION_STRING=azurite, PILLOW_HOST="127.0.0.1",
                       PILLOW_PORT=str(port), PILLOW_QUEUE=f"c-{uuid.uuid4().hex[:12]}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PILLOW_")}
    env.update(environment, PATH=f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        web = subprocess.Popen(["sh", "-c", web_script(compose)], cwd=tmp_path, env=env,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    http = requests.Session()

    def console():
        if web.poll() is not None:
            raise AssertionError(f"the web command exited with {web.returncode}:\n"
                                 f"{log.read_text()}")
        try:
            return http.get(f"{url}/operator/", timeout=2)
        except requests.ConnectionError:
            return None

    try:
        page = wait_for(console, 30, "the compose web command to serve", interval=0.1)
        [token] = re.findall(r"operator token for this run \(sign in at /operator\): (\S+)",
                             log.read_text())
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
        signin = http.post(f"{url}/operator/signin", data={"csrf": csrf, "token": token},
                           allow_redirects=False, timeout=5)
        assert signin.status_code == 302, signin.text
        assert http.get(f"{url}/operator/data.json", timeout=5).status_code == 200
    finally:
        http.close()
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=15)


def test_compose_pins_the_same_azurite_as_package_json(compose):
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["azurite"]
    assert compose["services"]["azurite"]["image"].endswith(f":{pinned}")
    # ... and so does the message an installed pillow-web (no node_modules) gives for --demo.
    assert azurite_module.VERSION == pinned
    assert azurite_module.IMAGE == compose["services"]["azurite"]["image"]
