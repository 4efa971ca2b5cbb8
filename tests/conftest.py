"""Fixtures: a real Azurite for the session, and an app wired to its own queue for each test."""

from gevent import monkey

monkey.patch_all()  # as in the entry point: before Flask or the Azure SDK import ssl

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from pillow_web.app import create_app  # noqa: E402
from pillow_web.storage.account import Storage  # noqa: E402
from pillow_web.storage.azurite import Azurite  # noqa: E402

from .util import wait_for  # noqa: E402


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """A connection string to a real Azurite on a free loopback port, stopped after the session.

    "No-proc" variant: set PILLOW_TEST_CONNECTION_STRING to use one that is already running.
    """
    existing = os.environ.get("PILLOW_TEST_CONNECTION_STRING")
    if existing:
        yield existing
        return
    server = Azurite(location=tmp_path_factory.mktemp("azurite"))
    server.start()
    yield server.connection_string
    server.stop()


@pytest.fixture(autouse=True)
def no_pillow_environment(monkeypatch):
    """Remove every ``PILLOW_*`` variable for the test: config.load reads them all.

    A developer's shell would otherwise leak into create_app and the CLI, and the no-proc
    PILLOW_TEST_CONNECTION_STRING would be an unknown setting. The session's ``azurite`` has
    read that one already (session fixtures are set up before this one).
    """
    for key in [key for key in os.environ if key.startswith("PILLOW_")]:
        monkeypatch.delenv(key)


@pytest.fixture
def settings(azurite):
    """Settings for one test: its own queue, fast polling, no environment leaking in."""
    return {
        "TESTING": True,
        "CONNECTION_STRING": azurite,
        "QUEUE": f"t-{uuid.uuid4().hex[:12]}",
        "POLL_MIN": 0.05,
        "POLL_MAX": 0.2,
        "VISIBILITY_TIMEOUT": 5,
    }


@pytest.fixture
def app(settings):
    """An app on the test's queue; its watcher is not running (see ``live_app``)."""
    app = create_app(settings)
    yield app
    app.extensions["pillow"].watcher.stop()
    app.extensions["pillow"].storage.close()


@pytest.fixture
def live_app(app):
    """``app`` with its watcher running and the first poll done."""
    watcher = app.extensions["pillow"].watcher
    watcher.start()
    wait_for(lambda: watcher.ok, message="watcher's first poll")
    return app


@pytest.fixture
def client(app):
    """Flask's HTTP test client."""
    return app.test_client()


@pytest.fixture
def socket_client(live_app):
    """A Socket.IO test client connected to ``live_app``."""
    from pillow_web.web.events import socketio

    sio = socketio.test_client(live_app)
    yield sio
    if sio.is_connected():
        sio.disconnect()


@pytest.fixture
def storage(settings):
    """Direct access to the test's queue, poison queue and snapshot, as the pillow would have."""
    storage = Storage(settings["CONNECTION_STRING"], settings["QUEUE"], "pillow-web")
    storage.ensure()
    yield storage
    storage.close()


OPERATOR_TOKEN = "operator-secret-token"


@pytest.fixture
def console_app(settings):
    """An app with the operator console on (token ``OPERATOR_TOKEN``); its watcher not started."""
    app = create_app({**settings, "OPERATOR_TOKEN": OPERATOR_TOKEN})
    app.extensions["pillow"].storage.ensure()
    yield app
    app.extensions["pillow"].storage.close()


@pytest.fixture
def browser(console_app):
    """A Flask test client of ``console_app`` (signed out)."""
    return console_app.test_client()


@pytest.fixture
def runner(settings):
    """A click runner whose environment points ``pillow-web`` at the test's queue."""
    env = {"PILLOW_CONNECTION_STRING": settings["CONNECTION_STRING"],
           "PILLOW_QUEUE": settings["QUEUE"]}
    return CliRunner(env=env)


@pytest.fixture
def own_azurite(tmp_path):
    """An Azurite of this test alone, on a data folder: the test may stop and restart it."""
    from .procs import RestartableAzurite

    server = RestartableAzurite(tmp_path / "azurite").start()
    yield server
    server.stop()


@pytest.fixture
def dashboards(tmp_path):
    """Start ``pillow-web serve`` subprocesses: ``dashboards(connection_string, queue, **env)``.

    Each is killed at teardown if the test left it running; its log is in ``tmp_path``.
    """
    from .procs import Dashboard

    started = []

    def start(connection_string, queue, ready=True, **settings):
        dashboard = Dashboard(connection_string, tmp_path / f"serve-{len(started)}.log", queue,
                              **settings)
        started.append(dashboard)
        return dashboard.start(ready=ready)

    yield start
    for dashboard in started:
        dashboard.close()


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium through Playwright, for the whole session."""
    from playwright.sync_api import sync_playwright

    from .browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium):
    """``open_page(url, **context_options)``: a fresh context and page, checked at the end.

    Returns ``(page, recorder)``; at teardown no request may have left loopback and no script
    error may have been reported (see ``tests.browser.Recorder``).
    """
    from .browser import Recorder

    opened = []

    def open_page(url, **options):
        context = chromium.new_context(**options)
        page = context.new_page()
        page.set_default_timeout(10_000)
        recorder = Recorder(page)
        opened.append((context, recorder))
        if url:
            page.goto(url)
        return page, recorder

    yield open_page
    for context, _ in opened:
        context.close()
    for _, recorder in opened:
        recorder.assert_clean()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """``redis://…`` of a real Redis on a free loopback port, stopped after the session.

    "No-proc" variant: set PILLOW_TEST_REDIS_URL to use one that is already running. Pub/sub is
    shared by every database of a Redis: give each test its own channel.
    """
    from .services import shared_redis

    with shared_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test alone (``.url``): the test may stop, kill, freeze and restart it."""
    from .services import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def nginx_proxy(tmp_path):
    """``nginx_proxy(upstreams, prefix=None)``: nginx with deploy/nginx.conf in front of
    ``upstreams`` ("host:port" each); returns its URL, under ``prefix`` ("/pillow") if given.

    Every nginx started is stopped at teardown, whatever the test left it in.
    """
    from .nginx import Nginx

    started = []

    def start(upstreams, prefix=None):
        proxy = Nginx(tmp_path / f"nginx-{len(started)}", upstreams)
        url = proxy.url_under(prefix)
        started.append(proxy)
        proxy.start()
        return url

    yield start
    for proxy in started:
        proxy.stop()
