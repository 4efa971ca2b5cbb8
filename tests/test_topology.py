"""docker-compose.scale.yml's topology on loopback, from the file's own commands and settings:
its `keys` script, two watchers and two web workers (entrypoint + command + environment as
written), Redis, and deploy/nginx.conf in front of the web workers; a Chromium kiosk through
nginx and a Socket.IO client on each web worker all get a change, and still do once the active
watcher is stopped as `docker compose stop` stops it. Also with one all-in-one `serve` on the
message queue as the consumer instead of the watchers.

Only what names a container changes: Azurite, Redis and the ports become the test's own, and
the `keys` volume a folder of the test.
"""

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from pillow_web.storage.azurite import free_port

from .procs import START_TIMEOUT, Screen
from .test_compose import SCALE, SCALE_ROLES, load
from .test_prefix import wait_live, wait_picture
from .util import wait_for

pytestmark = pytest.mark.browser

TOKEN_LINE = re.compile(r"operator token \(sign in at /operator\): (\S+)")


def compose_value(value):
    """A value as Compose gives it with no variable set: ``${NAME:-default}`` is the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def script(service, keys):
    """A service's ``sh -c`` script as the shell gets it, with the keys volume at ``keys``."""
    entrypoint = service["entrypoint"]
    assert entrypoint[:2] == ["sh", "-c"], entrypoint
    return [*entrypoint[:2], entrypoint[2].replace("$$", "$").replace("/keys/", f"{keys}/"),
            *entrypoint[3:]]


class Process:
    """One service's command in its own process group; its output in ``<folder>/<name>.log``."""

    def __init__(self, name, argv, environment, folder):
        self.name, self.log = name, Path(folder) / f"{name}.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith("PILLOW_")}
        env.update(environment, PYTHONUNBUFFERED="1",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(argv, cwd=folder, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.port = environment.get("PILLOW_PORT")
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self):
        return self.log.read_text(errors="replace")

    def wait_exit(self, timeout=30):
        code = self.process.wait(timeout=timeout)
        assert code == 0, f"{self.name} exited with {code}:\n{self.output()}"

    def wait_alive(self, http):
        def alive():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n"
                                     f"{self.output()[-3000:]}")
            try:
                return http.get(f"{self.url}/livez", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(alive, START_TIMEOUT, f"{self.name} to serve /livez", interval=0.1)

    def role(self, http):
        """``/healthz``'s role ("active" or "standby"), or None while it does not answer."""
        try:
            return http.get(f"{self.url}/healthz", timeout=2).json().get("role")
        except (OSError, ValueError):
            return None

    def stop(self, timeout=10):
        """SIGTERM, as ``docker compose stop`` sends it; a clean exit within ``timeout`` s."""
        os.kill(self.process.pid, signal.SIGTERM)
        self.wait_exit(timeout)

    def close(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# The queue's consumer: the file's two watchers as written, or one all-in-one `serve` in their
# place (with the first watcher's settings).
CONSUMERS = {"watchers": None, "all-in-one": ["pillow-web", "serve"]}


@pytest.fixture
def topology(azurite, redis_server, tmp_path, consumer):
    """The scale file's `keys` run once, then its watchers (or the ``consumer`` in their place)
    and web workers: ``(token, {name: Process})`` on the test's own queue, Azurite and Redis."""
    scale = load(SCALE)
    keys = tmp_path / "keys"
    keys.mkdir()
    # The volume is root's and the files are handed to the image's user; here, to ours.
    keys_service = scale["services"]["keys"]
    argv = script(keys_service, keys)
    assert "chown pillow " in argv[2]
    argv[2] = argv[2].replace("chown pillow ", f"chown {os.getuid()} ")
    environment = {key: compose_value(value)
                   for key, value in keys_service["environment"].items()}
    made = Process("keys", argv, environment, tmp_path)
    made.wait_exit()
    [token] = TOKEN_LINE.findall(made.output())
    assert (keys / "operator_token").read_text().strip() == token

    queue = f"s-{uuid.uuid4().hex[:12]}"
    loopback = {"PILLOW_CONNECTION_STRING": azurite, "PILLOW_MESSAGE_QUEUE": redis_server.url,
                "PILLOW_QUEUE": queue, "PILLOW_HOST": "127.0.0.1"}
    started = {}
    try:
        for name in SCALE_ROLES:
            service = scale["services"][name]
            command = service["command"]
            if CONSUMERS[consumer] and "watch" in command:
                if started.get("serve"):
                    continue
                name, command = "serve", CONSUMERS[consumer]
            environment = {key: compose_value(value)
                           for key, value in service["environment"].items()}
            assert set(loopback) <= set(environment), name
            environment.update(loopback, PILLOW_PORT=str(free_port()))
            argv = script(service, keys) + command
            started[name] = Process(name, argv, environment, tmp_path)
        with requests.Session() as http:
            for process in started.values():
                process.wait_alive(http)
        yield token, started
    finally:
        for process in started.values():
            process.close()


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_change_reaches_a_kiosk_through_nginx_and_screens_on_each_web_worker(
        topology, nginx_proxy, open_page, consumer):
    token, processes = topology
    webs = [process for name, process in processes.items()
            if "--role" in SCALE_ROLES.get(name, [])]
    assert len(webs) == 2 and len(processes) == (4 if consumer == "watchers" else 3)
    url = nginx_proxy([web.url.removeprefix("http://") for web in webs], prefix="/pillow")
    page, recorder = open_page(f"{url}/")
    wait_live(page, timeout=START_TIMEOUT * 1000)
    screens = [Screen(web.url) for web in webs]
    reloads = [[] for _ in screens]
    try:
        for screen, reloaded in zip(screens, reloads, strict=True):
            screen.client.on("reload", lambda *_, reloaded=reloaded: reloaded.append(True))
            screen.wait("hello")
        with requests.Session() as http:  # the write API through nginx, with the kept token
            http.headers["Authorization"] = f"Bearer {token}"

            def everyone_gets(state):
                text = f"Scaled out {uuid.uuid4().hex[:8]}"
                posted = http.post(f"{url}/api/state", json={"state": state, "text": text},
                                   timeout=5)
                assert posted.status_code == 202, posted.text
                for screen in screens:
                    screen.wait("state", lambda payload: payload.get("text") == text, timeout=15)
                wait_picture(page, f"/pillow/static/img/{state.lower()}.svg", text)

            everyone_gets("HUGGING")
            if consumer == "watchers":  # the active one stops: the standby takes the queue
                watchers = [process for name, process in processes.items()
                            if SCALE_ROLES[name] == ["pillow-web", "watch"]]
                active = wait_for(lambda: [watcher for watcher in watchers
                                           if watcher.role(http) == "active"], 15,
                                  "an active watcher")
                assert len(active) == 1 and len(watchers) == 2
                active[0].stop()
                everyone_gets("SPINNING")
            # An operator's reload, asked of one worker, reaches the screens of both.
            page.evaluate("() => { window.sameDocument = true; }")
            reload = http.post(f"{url}/api/reload", timeout=5)
            assert reload.status_code == 202, reload.text
        for reloaded in reloads:
            wait_for(lambda reloaded=reloaded: reloaded, 10, "a reload on each worker")
        # The kiosk reloaded through nginx too (and is not closed mid-reload: Chromium can
        # hang closing a page that is).
        page.wait_for_function("() => window.sameDocument === undefined")
        wait_live(page)
    finally:
        for screen in screens:
            screen.close()
    recorder.assert_clean()
