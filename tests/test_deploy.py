"""The files that ship the app agree with the app: the Dockerfile, the vendored JS client.

(docker-compose.yml has tests/test_compose.py; the wheel itself, tests/test_wheel.py.)
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import requests

from pillow_web import config
from pillow_web.cli import cli
from pillow_web.config import ROOT
from pillow_web.storage.azurite import free_port

from .util import wait_for

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def dockerfile_sources():
    """What the Dockerfile copies from the build context (``COPY --from`` stages excluded)."""
    sources = []
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M):
        words = shlex.split(line)
        if not any(word.startswith("--from") for word in words):
            sources += [word for word in words[:-1] if not word.startswith("--")]
    return sources


def dockerfile_instruction(name, text=DOCKERFILE):
    """Each ``name`` instruction's arguments, continuation lines joined as Docker joins them."""
    return re.findall(rf"^{name} (.+)$", text.replace("\\\n", ""), re.M)


def real_command(argv):
    """Parse ``argv`` (``pillow-web …``) as the CLI would; fail if it is not a valid command."""
    assert argv[0] == "pillow-web", argv
    context = cli.make_context("pillow-web", argv[1:])
    command = cli.get_command(context, argv[1])
    assert command is not None, argv
    command.make_context(argv[1], argv[2:], parent=context)  # raises on a bad option/argument
    return command


def test_the_image_healthcheck_passes_while_the_queue_is_unreachable(dashboards):
    """The HEALTHCHECK is liveness: with storage down (/healthz 503) it still passes, so Docker
    never restarts the container for an Azure outage."""
    [healthcheck] = dockerfile_instruction("HEALTHCHECK")
    check = re.search(r"CMD (.+)$", healthcheck)[1]
    assert "/livez" in check
    nowhere = config.azurite_connection_string(blob_port=free_port(), queue_port=free_port())
    dashboard = dashboards(nowhere, "q-unreachable", ready=False)

    def degraded():
        dashboard.check_alive()
        try:
            return dashboard.get("/healthz").status_code == 503
        except requests.ConnectionError:
            return False

    wait_for(degraded, 30, "/healthz to say 503", interval=0.1)
    env = dict(os.environ, PILLOW_PORT=str(dashboard.port),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
    result = subprocess.run(["sh", "-c", check], env=env, capture_output=True, text=True,
                            timeout=10)
    assert result.returncode == 0, result.stderr
    dashboard.stop()
    result = subprocess.run(["sh", "-c", check], env=env, capture_output=True, text=True,
                            timeout=10)
    assert result.returncode != 0, "the health check passed with nothing serving"


def test_dockerfile_copies_what_the_wheel_needs():
    copied = dockerfile_sources()
    for name in ("pyproject.toml", "README.md", "LICENSE", "pillow_web", "templates", "static",
                 "config"):
        assert name in copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_dockerfile_installs_the_wheel_on_a_cached_dependency_layer(tmp_path):
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert " -e " not in final and "--editable" not in final
    # Before the wheel arrives, the final stage copies only what names the dependencies.
    before_wheel = final.split("COPY --from=wheel")[0]
    assert re.findall(r"^COPY (.+)$", before_wheel, re.M) == [
        "pyproject.toml constraints.txt /tmp/deps/"]
    assert "pip install --no-cache-dir --no-deps /tmp/dist/*.whl" in final
    # The dependency list it makes is pyproject's.
    [deps] = [run for run in dockerfile_instruction("RUN", final) if "requirements.txt" in run]
    make_list = deps.split(" && ")[0].replace("/tmp/deps/", f"{tmp_path}/")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
    subprocess.run(["sh", "-c", make_list], env=env, check=True)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert (tmp_path / "requirements.txt").read_text().splitlines() == declared


def test_vendored_socketio_client_is_the_pinned_npm_build():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["socket.io-client"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin an exact version"
    package = ROOT / "node_modules" / "socket.io-client"
    assert json.loads((package / "package.json").read_text())["version"] == pinned
    vendored = (ROOT / "static" / "vendor" / "socket.io.min.js").read_bytes()
    assert vendored == (package / "dist" / "socket.io.min.js").read_bytes()
