"""The built wheel is the whole app: installed anywhere, it serves the kiosk with its pictures.

The wheel is built from exactly the files the Dockerfile copies (so the image's build has all it
needs), with the project venv's setuptools (``--no-build-isolation``: no network needed), and
installed with ``--no-deps`` into a fresh venv in a temporary folder.

That venv gets its dependencies from a ``.pth`` file naming the project venv's site-packages.
``--system-site-packages`` would give the system Python's packages, not the project's, and
installing the dependencies into it would need the network. Folders named in a ``.pth`` file come
after the venv's own site-packages on ``sys.path``, and ``.pth`` files inside them are not run, so
the checkout's editable install stays out: ``pillow_web`` and its metadata come from the wheel.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
import uuid
import zipfile

import pytest
import requests

from pillow_web.app import build_id
from pillow_web.config import ROOT
from pillow_web.storage.azurite import free_port

from .test_deploy import dockerfile_sources
from .util import wait_for

pytestmark = pytest.mark.slow  # building and installing the wheel takes 10-20 s
ASSETS = ("templates", "static", "config")


def name_of(requirement):
    """The normalised distribution name a requirement line names."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()


def clean_env(bin_dir, **extra):
    """The machine's environment without PILLOW_*, with the temporary venv first on PATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PILLOW_")}
    env.pop("PYTHONPATH", None)
    env.update(PATH=f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", **extra)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the wheel, the bin folder of a venv it is installed in, the pip wheel output)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in dockerfile_sources():
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # Without PYTHONDONTWRITEBYTECODE, whose only effect is a "byte-compiling is disabled" line.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(base / "dist"), str(source)],
        capture_output=True, text=True, timeout=300, env=env)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    [wheel] = (base / "dist").glob("pillow_web-*.whl")

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [site] = venv.glob("lib/python*/site-packages")
    project = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "project-dependencies.pth").write_text("\n".join(sorted(project)) + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return wheel, venv / "bin", build.stdout + build.stderr


@pytest.fixture
def elsewhere(tmp_path):
    """An empty working folder, far from the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def run(bin_dir, args, cwd, **env):
    return subprocess.run([str(bin_dir / "pillow-web"), *args], cwd=cwd, capture_output=True,
                          text=True, env=clean_env(bin_dir, **env), timeout=60)


def test_the_build_is_clean(built):
    *_, output = built
    # (Not the lines that only name a file copied or added: the package has a warnings module.)
    warnings = [line for line in output.splitlines()
                if re.search(r"warning|deprecat", line, re.I)
                and not re.match(r"\s*(copying|adding|creating) ", line)]
    assert warnings == []


def test_the_wheel_carries_the_package_and_every_asset(built):
    wheel, *_ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {path.relative_to(ROOT).as_posix() for path in (ROOT / "pillow_web").rglob("*.py")}
    for folder in ASSETS:
        expected |= {"pillow_web/assets/" + path.relative_to(ROOT).as_posix()
                     for path in (ROOT / folder).rglob("*") if path.is_file()}
    assert expected - names == set()
    assert "pillow_web/assets/static/vendor/socket.io.min.js" in names
    assert not [name for name in names
                if name.startswith(("tests/", "bench/", "chaos/", "templates/"))]


def test_the_wheel_metadata_is_honest(built):
    wheel, *_ = built
    archive = zipfile.ZipFile(wheel)
    [metadata] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
    text = archive.read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "License-File: LICENSE" in text
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    required = re.findall(r"^Requires-Dist: ([A-Za-z0-9._-]+)[^;\n]*$", text, re.M)
    assert {name_of(requirement) for requirement in declared} == {
        name_of(requirement) for requirement in required}
    license_text = archive.read(metadata.replace("METADATA", "licenses/LICENSE")).decode()
    assert license_text.startswith("MIT License") and "the pillow-web authors" in license_text


def test_the_installed_cli_tells_its_version_and_whole_help_lines(built, elsewhere):
    _, bin_dir, _ = built
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run(bin_dir, ["--version"], elsewhere)
    assert result.returncode == 0 and result.stdout.strip() == f"pillow-web, version {version}"
    for group in ([], ["poison"]):
        result = run(bin_dir, [*group, "--help"], elsewhere, COLUMNS="80")
        commands = result.stdout.split("Commands:")[1].splitlines()
        assert [line for line in commands if line.strip()], result.stdout
        assert not [line for line in commands if line.rstrip().endswith("...")], result.stdout


def test_installed_pillow_web_serves_the_kiosk_from_any_folder(built, elsewhere, azurite):
    _, bin_dir, _ = built
    where = subprocess.run([str(bin_dir / "python"), "-c", "import pillow_web.app as app;"
                            "print(app.__file__, app.build_id())"],
                           cwd=elsewhere, capture_output=True, text=True, env=clean_env(bin_dir))
    module, build = where.stdout.split()
    assert module.startswith(str(bin_dir.parent)), where.stdout + where.stderr
    # Files are hashed under their repository names: the same code, installed or checked out,
    # has the same build id (screens behind a load balancer do not reload between the two).
    assert build == build_id()
    queue = f"w-{uuid.uuid4().hex[:12]}"
    env = {"PILLOW_CONNECTION_STRING": azurite, "PILLOW_QUEUE": queue,
           "PILLOW_SECRET_KEY": "x" * 40, "PILLOW_POLL_MAX": "0.2", "PILLOW_POLL_MIN": "0.05"}
    posted = run(bin_dir, ["post", "hugging"], elsewhere, **env)
    assert posted.returncode == 0 and "posted HUGGING" in posted.stdout, posted.stderr
    poison = run(bin_dir, ["poison", "list"], elsewhere, **env)
    assert poison.returncode == 0 and f"0 shown of 0 in {queue}-poison" in poison.stderr, poison

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = elsewhere / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([str(bin_dir / "pillow-web"), "serve", "--port", str(port)],
                                  cwd=elsewhere, env=clean_env(bin_dir, **env), stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    http = requests.Session()

    def current():
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            return http.get(f"{url}/api/state", timeout=2).json()
        except requests.RequestException:
            return None

    try:
        state = wait_for(lambda: (s := current()) and s.get("state") == "HUGGING" and s, 30,
                         "the installed dashboard to show the posted HUGGING", interval=0.1)
        page = http.get(url + "/", timeout=5)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert state["image"] in page.text
        image = http.get(url + state["image"], timeout=5)
        assert image.status_code == 200
        assert image.headers["Content-Type"].startswith("image/svg+xml")
        assert image.content == (ROOT / "static" / "img" / "hugging.svg").read_bytes()
        client = http.get(url + "/static/vendor/socket.io.min.js", timeout=5)
        assert client.status_code == 200 and "javascript" in client.headers["Content-Type"]
    finally:
        http.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_installed_demo_says_in_one_line_how_to_get_azurite(built, elsewhere):
    _, bin_dir, _ = built
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["azurite"]
    result = run(bin_dir, ["serve", "--demo"], elsewhere)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ") and f"azurite@{pinned}" in last, result.stderr
    assert "mcr.microsoft.com/azure-storage/azurite" in last
    assert "make setup" not in last
    assert not any(elsewhere.iterdir()), "it left files in the working folder"
