"""``/metrics``: each counter moves when it should, who may read it, the watcher role's, and what
the queue figures cost (Azurite's own request log counts the storage requests)."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from azure.core.exceptions import AzureError
from werkzeug.test import Client

from bench.azlog import requests_in
from pillow_web import config, live_metrics
from pillow_web.app import create_app
from pillow_web.domain.catalog import Catalog
from pillow_web.domain.messages import Rejected, compose, parse
from pillow_web.domain.pillows import Pillow, QueueState
from pillow_web.metrics import POISON_CLASSES, REGISTRY, poison_class
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import Azurite
from pillow_web.storage.lease import Lease
from pillow_web.watch import sampler
from pillow_web.watch.consumer import Consumer
from pillow_web.watch.link import Link
from pillow_web.watch.process import health_app, watcher_dashboard

from .prometheus import samples, value
from .util import wait_for

METRICS_TOKEN = "metrics-" + "m" * 24
OPERATOR_TOKEN = "operator-" + "o" * 24
REMOTE = {"REMOTE_ADDR": "192.0.2.7"}
LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


def scrape(client, **options):
    response = client.get("/metrics", **options)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Cache-Control"] == "no-store"
    return samples(response.get_data(as_text=True))


def iso(moment):
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def test_each_counter_moves_with_what_the_watcher_does(live_app, client, storage):
    queue = storage.queue_name
    mine = {"queue": queue, "pillow": "default"}
    before = scrape(client)
    assert value(before, "pillow_messages_applied_total", **mine) == 0  # a series from the start
    assert value(before, "pillow_lease_held", queue=queue) == 1
    assert value(before, "pillow_queue_link_up", queue=queue) == 1
    assert value(before, "pillow_screens_connected") == 0
    assert value(before, "pillow_build_info", build_id=live_app.config["BUILD_ID"], role="all",
                 version=live_metrics.package_version()) == 1
    assert value(before, "process_start_time_seconds") > 0
    pushed = value(before, "pillow_broadcasts_total", event="state") or 0

    now = datetime.now(UTC)
    storage.send(compose("HUGGING", "newer", at=iso(now)))
    after = wait_for(lambda: (found := scrape(client)) and value(
        found, "pillow_messages_applied_total", **mine) == 1 and found, message="applied 1")
    assert value(after, "pillow_apply_delay_seconds_count", **mine) == 1
    assert 0 <= value(after, "pillow_apply_delay_seconds_sum", **mine) < 10
    assert value(after, "pillow_state_info", state="HUGGING", **mine) == 1
    assert value(after, "pillow_broadcasts_total", event="state") >= pushed + 1
    assert value(after, "pillow_broadcast_duration_seconds_count", event="state") >= 1
    assert value(after, "pillow_poll_duration_seconds_count", queue=queue) >= 1

    storage.send(compose("SPINNING", "older", at=iso(now - timedelta(minutes=1))))
    found = wait_for(lambda: (found := scrape(client)) and value(
        found, "pillow_messages_skipped_total", **mine) == 1 and found, message="skipped 1")
    assert value(found, "pillow_messages_applied_total", **mine) == 1
    assert value(found, "pillow_state_info", state="HUGGING", **mine) == 1

    storage.send('{"state": "HUGGING"')  # JSON cut short
    storage.send(compose("NAPPING"))  # a state the catalog does not have
    for reason in ("bad_json", "unknown_state"):
        wait_for(lambda reason=reason: value(scrape(client), "pillow_messages_poisoned_total",
                                             queue=queue, reason=reason) == 1,
                 message=f"a message poisoned as {reason}")
    found = scrape(client)
    assert value(found, "pillow_messages_applied_total", **mine) == 1
    assert value(found, "pillow_receive_errors_total", queue=queue) == 0
    assert value(found, "pillow_delete_errors_total", queue=queue) == 0


def test_screens_are_this_process_s_sockets(socket_client, live_app):
    found = scrape(live_app.test_client())
    assert value(found, "pillow_screens_connected") == 1
    socket_client.disconnect()
    assert value(scrape(live_app.test_client()), "pillow_screens_connected") == 0


@pytest.mark.parametrize(("content", "expected"), [
    ("", "empty"),
    ("x" * 5000, "too_long"),
    ('{"state": ', "bad_json"),
    ('{"state": "HUGGING", "state": "HUGGING"}', "bad_json"),
    ('{"state": NaN}', "bad_json"),
    ("[1, 2]", "bad_json"),
    ('{"text": "no state"}', "no_state"),
    ('{"state": null}', "no_state"),
    ('{"state": 3}', "bad_state"),
    ("not a state!", "bad_state"),
    ("NAPPING", "unknown_state"),
    ('{"state": "HUGGING", "text": 5}', "bad_text"),
    ('{"state": "HUGGING", "text": "a\\u0007b"}', "bad_text"),
    ('{"state": "HUGGING", "at": "yesterday"}', "bad_time"),
    ('{"state": "HUGGING", "at": "1999-01-01T00:00:00Z"}', "bad_time"),
    ("('HUGGING'", "bad_legacy"),
    ("[]", "bad_json"),
    ("()", "bad_legacy"),
    ('{"state": "HUGGING", "pillow": "Hall!"}', "bad_pillow"),
    ('{"state": "HUGGING", "pillow": "cellar"}', "unknown_pillow"),
    ('{"state": "HUGGING"}', "no_pillow"),
    ("eyJzdGF0ZSI6IDN9", "bad_state"),  # base64 of {"state": 3}
    ("//79", "not_decodable"),  # base64 of the bytes ff fe fd
])
def test_poison_reasons_fall_in_a_few_classes(content, expected):
    catalog = Catalog.from_file(config.ROOT / "config" / "states.toml")
    hall = Pillow("hall", "Hall", "q", catalog)
    # A queue of one pillow; one of two for a message that names none.
    pillows = [hall, Pillow("desk", "Desk", "q", catalog)] if expected == "no_pillow" else [hall]
    with pytest.raises(Rejected) as rejected:
        parse(content, QueueState(pillows).states_for)
    assert poison_class(str(rejected.value)) == expected, str(rejected.value)


def test_the_reason_classes_are_a_small_fixed_set():
    assert poison_class("delivered 6 times without being applied") == "too_many_deliveries"
    assert poison_class("something new") == "other"
    names = [name for _, name in POISON_CLASSES]
    assert len(names) == len(set(names)) <= 20


@pytest.fixture
def token_app(settings):
    """``token_app(**more)``: an app with a metrics and an operator token (not watching)."""
    made = []

    def make(**more):
        made.append(create_app({**settings, "METRICS_TOKEN": METRICS_TOKEN,
                                "OPERATOR_TOKEN": OPERATOR_TOKEN, **more}))
        return made[-1]

    yield make
    for app in made:
        app.extensions["pillow"].storage.close()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_metrics_are_open_to_this_machine_and_to_the_tokens_only(token_app, caplog):
    client = token_app().test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    relayed = client.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"})
    assert relayed.status_code == 401  # a local proxy does not open it to its clients
    refused = client.get("/metrics", environ_base=REMOTE)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert "pillow_" not in refused.get_data(as_text=True)
    for token in (METRICS_TOKEN, OPERATOR_TOKEN):
        assert scrape(client, environ_base=REMOTE, headers=bearer(token))
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + "w" * 26
    assert client.get("/metrics", environ_base=REMOTE,
                      headers=bearer(wrong)).status_code == 401
    assert client.get("/metrics", environ_base=REMOTE,
                      headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 401
    assert "wrong metrics token from 192.0.2.7" in caplog.text
    assert wrong not in caplog.text and METRICS_TOKEN not in caplog.text


def test_wrong_metrics_tokens_count_in_the_operator_token_s_brake(token_app):
    client = token_app().test_client()
    for _ in range(5):
        assert client.get("/metrics", environ_base=REMOTE,
                          headers=bearer("guess-" + "g" * 20)).status_code == 401
    braked = client.get("/metrics", environ_base=REMOTE, headers=bearer(METRICS_TOKEN))
    assert braked.status_code == 429 and int(braked.headers["Retry-After"]) > 0
    # The same brake as the write API's: that client's operator token waits too.
    api = client.post("/api/state", json={"state": "HUGGING"}, environ_base=REMOTE,
                      headers=bearer(OPERATOR_TOKEN))
    assert api.status_code == 429
    other = {"REMOTE_ADDR": "192.0.2.8"}
    assert scrape(client, environ_base=other, headers=bearer(METRICS_TOKEN))


def test_behind_a_trusted_proxy_the_client_s_address_is_judged(token_app):
    client = token_app(TRUSTED_PROXIES=1).test_client()
    assert scrape(client, headers={"X-Forwarded-For": "127.0.0.1"})
    assert client.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"}).status_code == 401
    assert scrape(client, headers={"X-Forwarded-For": "192.0.2.7", **bearer(METRICS_TOKEN)})


@pytest.fixture
def watcher_role(settings):
    """The watcher role's dashboard and health app, as ``pillow-web watch`` makes them."""
    overrides = {key: value for key, value in settings.items() if key != "TESTING"}
    loaded = config.load({**overrides, "METRICS_TOKEN": METRICS_TOKEN})
    dashboard = watcher_dashboard(loaded)
    dashboard.start()
    yield dashboard, Client(health_app(dashboard, loaded))
    dashboard.stop(2)
    dashboard.close()


def test_the_watcher_role_serves_metrics_by_the_same_rule(watcher_role, settings):
    dashboard, client = watcher_role
    queue = settings["QUEUE"]

    def ask(path="/metrics", method="GET", remote=LOCAL, **options):
        """As Flask's test client does: from 127.0.0.1 unless told otherwise."""
        return client.open(path, method=method, environ_base=remote, **options)

    def held():
        response = ask()
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        found = samples(response.get_data(as_text=True))
        return (value(found, "pillow_lease_held", queue=queue) == 1
                and value(found, "pillow_queue_link_up", queue=queue) == 1 and found)

    found = wait_for(held, message="the watcher role holding the lease and polling")
    assert value(found, "pillow_screens_connected") is None  # it serves no screens
    [build] = [dict(labels) for name, labels in found if name == "pillow_build_info"]
    assert build["role"] == "watcher"
    assert ask(remote=REMOTE).status_code == 401
    assert ask(headers={"X-Forwarded-For": "192.0.2.7"}).status_code == 401
    assert ask(remote=REMOTE, headers=bearer(METRICS_TOKEN)).status_code == 200
    assert ask(remote=REMOTE, headers=bearer("nope-" + "n" * 20)).status_code == 401
    assert ask(method="POST").status_code == 405
    assert ask("/healthz").status_code == 200


@pytest.fixture
def logged_azurite(tmp_path):
    """An Azurite of this test alone that logs every request (``bench.azlog`` reads it)."""
    server = Azurite(debug_log=tmp_path / "azurite-debug.log").start()
    yield server
    server.stop()


def figure_requests(log, queue, sentinel):
    """The figures' requests on ``queue`` and its poison queue, as ``(time, what)``: "depth" or
    "poison" (a count: queue properties) or "peek" (the oldest message), once the ``sentinel``
    queue's creation shows the log has caught up."""
    def logged():
        found = requests_in(log)
        return any(path.endswith(f"/{sentinel}") for _, _, _, path, _ in found) and found

    names = {queue: "depth", f"{queue}-poison": "poison", f"{queue}/messages": "peek"}
    found = wait_for(logged, message="Azurite's log to catch up")
    return [(at, names[path.strip("/").split("/", 1)[1]]) for at, service, method, path, query
            in found if service == "queue" and method == "GET"
            and ("comp=metadata" in query or "peekonly=true" in query.lower())
            and path.strip("/").split("/", 1)[1] in names]


def test_queue_figures_cost_one_request_per_queue_per_15_s(logged_azurite, settings,
                                                           monkeypatch):
    queue = settings["QUEUE"]
    log = logged_azurite.debug_log
    storage = Storage(logged_azurite.connection_string, queue, "pillow-web")
    storage.ensure()
    app = create_app({**settings, "CONNECTION_STRING": logged_azurite.connection_string})
    client = app.test_client()  # its watcher is not started: the scrapes alone ask storage
    try:
        for _ in range(20):
            found = scrape(client)
        assert value(found, "pillow_queue_depth", queue=queue) == 0
        sentinel = f"s-{uuid.uuid4().hex[:8]}"
        storage.on_queue(sentinel).queue.create_queue()
        # The first look asks each figure once; the 19 scrapes after it, nothing.
        assert value(found, "pillow_poison_messages", queue=queue) == 0
        first_look = figure_requests(log, queue, sentinel)
        assert [what for _, what in first_look] == ["peek", "depth", "poison"], first_look

        # Then one figure per ASK_EVERY, in turn; never two at once.
        monkeypatch.setattr(sampler, "ASK_EVERY", 0.3)
        storage.send(compose("HUGGING"))
        wait_for(lambda: value(scrape(client), "pillow_queue_depth", queue=queue) == 1,
                 message="the depth again")
        sentinel = f"s-{uuid.uuid4().hex[:8]}"
        storage.on_queue(sentinel).queue.create_queue()
        requests = figure_requests(log, queue, sentinel)[3:]
        turns = [what for _, what in requests]
        assert turns == (["peek", "depth", "poison"] * 3)[:len(turns)], requests
        gaps = [later - earlier for (earlier, _), (later, _) in pairwise(requests)]
        assert min(gaps) >= 0.25, requests  # ASK_EVERY (0.3 s) apart, at Azurite's ms clock
    finally:
        storage.close()
        app.extensions["pillow"].storage.close()


@pytest.fixture
def consumer(own_azurite):
    """A consumer of its own queue on ``own_azurite``, holding the lease, that stops Azurite
    when it pushes: the step after the save and before the delete."""
    queue = f"c-{uuid.uuid4().hex[:12]}"
    storage = Storage(own_azurite.connection_string, queue, "pillow-web")
    storage.ensure()
    catalog = Catalog.from_file(config.ROOT / "config" / "states.toml")
    state = QueueState([Pillow("default", "Pillow", queue, catalog)])
    settings = {"POLL_MIN": 0.05, "POLL_MAX": 0.2, "VISIBILITY_TIMEOUT": 5, "MAX_DEQUEUE": 5}
    consumer = Consumer(storage, state, settings, Link(0.2, queue, lambda *args: None),
                        own_azurite.stop)
    consumer.lease = Lease(storage.snapshot_blob)
    assert consumer.lease.acquire()
    yield consumer
    storage.close()


def errors(queue):
    """(receive errors, delete errors) of ``queue`` so far."""
    return tuple(REGISTRY.get_sample_value(f"pillow_{kind}_errors_total", {"queue": queue})
                 for kind in ("receive", "delete"))


def test_a_delete_that_fails_counts_as_a_delete_error(consumer):
    queue = consumer.queue
    consumer.storage.send(compose("HUGGING"))
    with pytest.raises(AzureError):
        consumer.poll_once()  # received, applied, saved; Azurite stops; the delete fails
    assert errors(queue) == (0, 1)
    with pytest.raises(AzureError):
        consumer.poll_once()  # Azurite is still away
    assert errors(queue) == (1, 1)


def test_a_web_worker_reports_what_it_sees_and_holds_no_lease(settings, redis_url):
    app = create_app({**settings, "MESSAGE_QUEUE": redis_url}, role="web")
    dashboard = app.extensions["pillow"]
    dashboard.start()
    try:
        wait_for(lambda: dashboard.watcher.loaded.is_set(), message="the snapshot read")
        client = app.test_client()
        found = scrape(client)
        queue = settings["QUEUE"]
        [build] = [dict(labels) for name, labels in found if name == "pillow_build_info"]
        assert build["role"] == "web"
        assert value(found, "pillow_queue_link_up", queue=queue) == 0  # no watcher reports
        assert value(found, "pillow_lease_held", queue=queue) is None  # it consumes nothing
        assert value(found, "pillow_messages_applied_total", queue=queue,
                     pillow="default") is None
        assert value(found, "pillow_state_info", queue=queue, pillow="default",
                     state="NOTCONNECTED") == 1  # the catalog's initial one
        assert value(found, "pillow_screens_connected") == 0
        assert client.get("/metrics", environ_base=REMOTE).status_code == 401
    finally:
        dashboard.stop(1.0)
        dashboard.close()
