"""docker-compose.yml (one process) and docker-compose.scale.yml (several, behind nginx): what a
person with Docker runs, checked offline against the spec, against the app's settings and CLI,
against deploy/nginx.conf, and by running the one-process web command as written.

(No Docker engine runs here. The scale-out topology itself runs on loopback in
tests/test_topology.py, from this file's own commands and settings.)"""

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

from .nginx import TEMPLATE
from .test_deploy import dockerfile_instruction, real_command
from .util import wait_for

COMPOSE = ROOT / "docker-compose.yml"
SCALE = ROOT / "docker-compose.scale.yml"
COMPOSE_FILES = [COMPOSE, SCALE]
# The command the README and the compose files give for posting a state.
DOCUMENTED_POST = re.compile(r"docker compose (?:-f (\S+) )?exec (\S+) "
                             r"(pillow-web post [^`\n]+?)\s*(?:`|$)", re.M)


def load(path):
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture(scope="module")
def compose():
    return load(COMPOSE)


@pytest.fixture(scope="module")
def scale():
    return load(SCALE)


def app_commands(compose):
    """``{service: argv}`` of every service that runs ``pillow-web``: its ``command`` list, or the
    line its ``sh -c`` script ends with (``exec pillow-web …``)."""
    commands = {}
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if command[:1] == ["pillow-web"]:
            commands[name] = command
        elif command[:2] == ["sh", "-c"]:
            found = re.findall(r"^\s*exec (pillow-web .+)$", command[2].replace("$$", "$"), re.M)
            if found:
                [line] = found
                commands[name] = shlex.split(line)
    return commands


def web_script(compose):
    """The shell script the web service runs (``sh -c SCRIPT``), with Compose's ``$$`` undone."""
    command = compose["services"]["web"]["command"]
    assert command[:2] == ["sh", "-c"], command
    return command[2].replace("$$", "$")


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_compose_file_matches_the_compose_spec(path):
    checker = shutil.which("check-jsonschema", path=str(ROOT / ".venv" / "bin"))
    result = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True)
                    .returncode != 0 if shutil.which("docker") else True,
                    reason="no `docker compose` client on this machine")
@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_docker_compose_config_accepts_the_file_with_no_variable_set(path):
    result = subprocess.run(["docker", "compose", "-f", str(path), "config", "--quiet"],
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_compose_needs_no_variable_for_exec_or_down(path):
    """``${VAR:?}`` fails every compose command (``exec``, ``down``) while VAR is unset."""
    assert not re.search(r"\$\{[A-Z_]+:?\?", path.read_text())


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_compose_sets_only_settings_the_app_reads(path):
    """Every ``PILLOW_*`` a service sets is a setting (or a CLI option's variable) and its value
    passes the app's checks; the app's services reach Azurite by its service name."""
    compose = load(path)
    for name, service in compose["services"].items():
        environment = {key: value for key, value in service.get("environment", {}).items()
                       if key.startswith("PILLOW_")}
        unknown = [key for key in environment if key.removeprefix("PILLOW_") not in
                   config.SETTINGS and not key.startswith(config.CLI_ENV_PREFIXES)]
        assert unknown == [], f"{path.name} {name}: {unknown}"
    for name in app_commands(compose):
        environment = compose["services"][name]["environment"]
        values = {key: str(value) for key, value in environment.items()
                  if "${" not in str(value)}
        loaded = config.load(environ=values)  # ConfigError for a bad value
        assert "QueueEndpoint=http://azurite:10001" in loaded["CONNECTION_STRING"], name
        assert loaded["HOST"] == "0.0.0.0", name


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
    [dockerfile_cmd] = dockerfile_instruction("CMD")
    for argv in (app_commands(compose)["web"], json.loads(dockerfile_cmd)):
        assert real_command(argv).name == "serve"


# Which command each service of the scale-out topology runs (README: "Several processes").
SCALE_ROLES = {"watcher1": ["pillow-web", "watch"], "watcher2": ["pillow-web", "watch"],
               "web1": ["pillow-web", "serve", "--role", "web"],
               "web2": ["pillow-web", "serve", "--role", "web"]}


def test_the_scale_topology_runs_two_watchers_and_two_web_workers(scale):
    assert app_commands(scale) == SCALE_ROLES
    for name, argv in SCALE_ROLES.items():
        real_command(argv)  # fails until the CLI has the command and its options
        service = scale["services"][name]
        assert "build" in service and "ports" not in service, f"{name} is published"
    # All of them on one queue and one Redis; nginx is the only way in.
    environments = [scale["services"][name]["environment"] for name in SCALE_ROLES]
    for key in ("PILLOW_CONNECTION_STRING", "PILLOW_QUEUE", "PILLOW_MESSAGE_QUEUE"):
        assert len({environment[key] for environment in environments}) == 1, key
    redis_url = environments[0]["PILLOW_MESSAGE_QUEUE"]
    assert re.fullmatch(r"redis://redis:6379/\d+", redis_url)
    assert re.fullmatch(r"redis:\d+(\.\d+)+-alpine", scale["services"]["redis"]["image"])
    # Behind nginx (one proxy) the web workers believe its X-Forwarded-*; the watchers serve
    # only health checks to no proxy.
    trusted = {name: scale["services"][name]["environment"].get("PILLOW_TRUSTED_PROXIES")
               for name in SCALE_ROLES}
    assert trusted == {"watcher1": None, "watcher2": None, "web1": "1", "web2": "1"}
    # The keys every worker takes are made before any of them starts.
    for name in SCALE_ROLES:
        assert scale["services"][name]["depends_on"]["keys"] == {
            "condition": "service_completed_successfully"}


def test_the_scale_topology_puts_deploy_nginx_conf_in_front_of_the_web_workers(scale):
    nginx = scale["services"]["nginx"]
    assert re.fullmatch(r"nginx:\d+\.\d+(\.\d+)?-alpine", nginx["image"])
    [mount] = nginx["volumes"]
    source, target, mode = mount.split(":")
    assert (SCALE.parent / source).resolve() == TEMPLATE  # the same file the tests use
    assert (target, mode) == ("/etc/nginx/templates/default.conf.template", "ro")
    # The image's entrypoint fills in the template's placeholders from these.
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text()))
    assert set(nginx["environment"]) == placeholders
    webs = [name for name, argv in app_commands(scale).items() if "--role" in argv]
    upstreams = " ".join(f"server {name}:{scale['services'][name]['environment']['PILLOW_PORT']};"
                         for name in webs)
    assert nginx["environment"]["NGINX_UPSTREAMS"] == upstreams and len(webs) == 2
    [published] = nginx["ports"]
    assert re.fullmatch(rf"\d+:{nginx['environment']['NGINX_LISTEN']}", published)  # everywhere
    assert set(nginx["depends_on"]) == set(webs)


def test_the_documented_way_to_post_a_state_is_a_real_command_of_the_image():
    files = {}
    for where in (ROOT / "README.md", *COMPOSE_FILES):
        found = DOCUMENTED_POST.findall(where.read_text())
        assert found, f"{where.name} documents no `docker compose exec … pillow-web post …`"
        for file, service, command in found:
            files[file] = compose = load(ROOT / (file or COMPOSE.name))
            assert service in compose["services"] and "build" in compose["services"][service]
            argv = shlex.split(command)
            assert real_command(argv).name == "post"
            catalog = Catalog.from_settings(config.load(environ={}))
            assert argv[2] in catalog, f"{argv[2]} is not a state of the default catalog"
    assert set(files) == {"", SCALE.name}  # both files' ways are documented
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


def test_compose_pins_the_same_azurite_as_package_json(compose, scale):
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["azurite"]
    assert compose["services"]["azurite"]["image"].endswith(f":{pinned}")
    assert scale["services"]["azurite"] == compose["services"]["azurite"]
    # ... and so does the message an installed pillow-web (no node_modules) gives for --demo.
    assert azurite_module.VERSION == pinned
    assert azurite_module.IMAGE == compose["services"]["azurite"]["image"]
