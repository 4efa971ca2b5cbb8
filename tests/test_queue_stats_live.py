"""The queue stats and figures on Azurite: a real dashboard counts what it applies, skips and
poisons, keeps the day across a restart, and a web worker gets the watcher's figures and stats;
and what the figures cost, counted in Azurite's own request log."""

import logging
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from bench.azlog import kind, requests_in
from pillow_web.app import create_app
from pillow_web.domain.messages import compose
from pillow_web.domain.queue_stats import minute_of
from pillow_web.storage import queue_stats as stats_storage
from pillow_web.storage.account import Storage
from pillow_web.storage.azurite import Azurite
from pillow_web.storage.queue_stats import StatsBlob
from pillow_web.watch import sampler

from .procs import operator_session
from .test_roles_web import TOKEN, Fleet, post
from .util import poison, wait_for

COUNTS = ("applied", "skipped", "poisoned")


def iso(moment):
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@contextmanager
def console(dashboard):
    """``get(path, **query)``: JSON of a console route of ``dashboard``, signed in."""
    with operator_session(dashboard.url, TOKEN) as browser:
        def get(path, **query):
            response = browser.get(f"{dashboard.url}{path}", params=query, timeout=5)
            assert response.status_code == 200, response.text
            return response.json()

        yield get


def counted(series):
    """``{minute: (applied, skipped, poisoned)}`` of the minutes that counted something."""
    return {row["minute"]: tuple(row[name] for name in COUNTS) for row in series
            if any(row[name] for name in COUNTS)}


def before(series, minute):
    """The rows of ``series`` before ``minute`` (the minutes a restart cannot touch)."""
    return [row for row in series if datetime.fromisoformat(row["minute"]) < minute]


def test_a_dashboard_counts_what_it_does_and_keeps_the_day_across_a_restart(dashboards,
                                                                           azurite):
    dashboard = dashboards(azurite, None, OPERATOR_TOKEN=TOKEN)
    storage = Storage(azurite, dashboard.queue, "pillow-web")
    try:
        now = datetime.now(UTC)
        storage.send(compose("HUGGING", "applied", at=iso(now)))
        wait_for(lambda: dashboard.state()["text"] == "applied", message="the message applied")
        storage.send(compose("SPINNING", "older: skipped", at=iso(now - timedelta(minutes=1))))
        storage.send('{"state": "HUGGING"')  # JSON cut short: poisoned
        with console(dashboard) as get:
            stats = wait_for(lambda: (found := get("/operator/queue/stats.json", hours=1))
                             and found["totals"]["poisoned"] == 1
                             and found["totals"]["skipped"] == 1 and found, message="counts")
        assert {name: stats["totals"][name] for name in COUNTS} == dict.fromkeys(COUNTS, 1)
        assert any(row["depth"] is not None for row in stats["series"])  # sampled

        assert dashboard.stop()[0] == 0  # a clean stop saves the day
        stopped = datetime.now(UTC)
        saved = StatsBlob(storage).load_if_changed(stopped).series(stopped, 1)
        assert counted(saved) == counted(stats["series"])

        restarted = minute_of(datetime.now(UTC))
        dashboard.start()
        with console(dashboard) as get:
            after = get("/operator/queue/stats.json", hours=1)["series"]
        assert counted(after) == counted(saved)
        assert before(after, restarted) == before(saved, restarted)
        assert "Traceback" not in dashboard.output()
    finally:
        storage.close()


def test_a_web_worker_gets_the_watcher_s_figures_and_stats(dashboards, azurite, redis_server):
    fleet = Fleet(dashboards, azurite, redis_server.url)
    consumer = fleet.consumer()
    post(consumer, "HUGGING", text="one")
    wait_for(lambda: consumer.state()["text"] == "one", message="one")
    consumer.stop()  # saves the stats; the worker reads them as it starts
    consumer.start()
    worker = fleet.web()
    with console(consumer) as ask_consumer, console(worker) as ask_worker:
        theirs = ask_consumer("/operator/queue/stats.json", hours=1)
        mine = ask_worker("/operator/queue/stats.json", hours=1)
        assert mine["totals"]["applied"] == theirs["totals"]["applied"] == 1
        assert counted(mine["series"]) == counted(theirs["series"])

        # The figures come with the watcher's report, renewed every beat: nothing waits, as of
        # its last receive; a worker asking storage itself would ask once per 15 s at most.
        def reported(after=None):
            found = ask_worker("/operator/queue/waiting.json")
            figures = found["figures"]
            return (not found["peeked"] and figures["depth"] == 0
                    and figures["poison_count"] == 0 and figures["as_of"] != after and found)

        first = wait_for(reported, message="the watcher's figures on the worker")
        wait_for(lambda: reported(first["figures"]["as_of"]), message="newer figures")
    assert "Traceback" not in worker.output() + consumer.output()


@pytest.fixture
def logged_azurite(tmp_path):
    """An Azurite of this test alone that logs every request (``bench.azlog`` reads it)."""
    server = Azurite(debug_log=tmp_path / "azurite-debug.log").start()
    yield server
    server.stop()


class RequestLog:
    """The requests on one queue (its poison queue, its day blobs) between two marks."""

    def __init__(self, azurite, storage):
        self.azurite, self.storage = azurite, storage
        self.marks = []

    def mark(self):
        """A request no one else makes (a queue created): where the log stood at this time."""
        name = f"mark-{len(self.marks)}-{self.storage.queue_name}"[:63]
        self.storage.on_queue(name).queue.create_queue()
        self.marks.append(name)

    def between(self, first, last):
        """``(epoch time, kind)`` of the queue's requests between marks ``first`` and ``last``
        (blob requests: of the day blobs only; the lease's renewals are counted apart)."""
        queue = self.storage.queue_name
        found = wait_for(lambda: (logged := requests_in(self.azurite.debug_log)) and any(
            path.endswith(f"/{self.marks[last]}") for _, _, _, path, _ in logged) and logged,
            message="Azurite's log to catch up")
        paths = [path for _, _, _, path, _ in found]
        start = next(i for i, path in enumerate(paths) if path.endswith(f"/{self.marks[first]}"))
        end = next(i for i, path in enumerate(paths) if path.endswith(f"/{self.marks[last]}"))
        picked = []
        for at, service, method, path, query in found[start + 1:end]:
            parts = path.strip("/").split("/")
            if service == "queue" and parts[1] in (queue, f"{queue}-poison"):
                what = "count" if "comp=metadata" in query else kind(method, path, query)
                picked.append((at, f"{what} {parts[1]}"))
            elif service == "blob" and path.endswith((".queue-stats.json", ".timeline.json")):
                picked.append((at, f"blob {method}"))
        return picked


def test_an_idle_consumer_answers_figures_from_its_receives(logged_azurite, settings):
    app = create_app({**settings, "CONNECTION_STRING": logged_azurite.connection_string})
    watcher = app.extensions["pillow"].watcher
    log = RequestLog(logged_azurite, watcher.storage)
    watcher.start()
    try:
        # The first call asks the poison count (then at most once a minute); the rest is free.
        wait_for(lambda: watcher.role == "active" and (found := watcher.queue_figures())[
            "poison_count"] == 0 and found["as_of"], message="the first figures")
        log.mark()
        seen = set()
        for _ in range(20):
            figures = wait_for(lambda: (found := watcher.queue_figures())["as_of"] not in seen
                               and found, message="figures of a newer receive")
            seen.add(figures["as_of"])
            assert [figures[name] for name in ("depth", "oldest_age", "poison_count")] == [
                0, None, 0]
        log.mark()
    finally:
        watcher.stop()
        app.extensions["pillow"].storage.close()
    made = [what for _, what in log.between(0, 1)]
    queue = settings["QUEUE"]
    assert set(made) == {f"receive {queue}"}, made
    assert len(made) >= 19  # each answer followed a receive of its own (the first: maybe
    # the one before the mark)


def test_a_backlog_costs_at_most_one_depth_request_per_ask_every(logged_azurite, settings,
                                                                  monkeypatch):
    monkeypatch.setattr(sampler, "ASK_EVERY", 0.5)
    queue = settings["QUEUE"]
    app = create_app({**settings, "CONNECTION_STRING": logged_azurite.connection_string})
    watcher = app.extensions["pillow"].watcher
    storage, client = watcher.storage, app.test_client()
    log = RequestLog(logged_azurite, storage)
    storage.ensure()
    for number in range(1, 161):  # five full batches wait before the watcher starts
        storage.send(compose("HUGGING", f"#{number}"))
    log.mark()
    watcher.start()
    try:
        wait_for(lambda: client.get("/api/state").json.get("text") == "#160", 30,
                 "the backlog applied")
        wait_for(lambda: watcher.queue_figures()["depth"] == 0, message="an empty receive")
        log.mark()
        stats = watcher.stats.stats.series(datetime.now(UTC), 1)
    finally:
        watcher.stop()
        app.extensions["pillow"].storage.close()
    made = log.between(0, 1)
    depths = [at for at, what in made if what == f"count {queue}"]
    receives = [at for at, what in made if what == f"receive {queue}"]
    assert depths, made  # asked while batches came
    assert all(later - earlier >= 0.5 - 0.002 for earlier, later in zip(depths, depths[1:],
                                                                         strict=False)), depths
    assert len(depths) <= (receives[-1] - receives[0]) / 0.5 + 1
    assert depths[-1] <= receives[-1]  # none once the queue was found empty
    assert sum(row["applied"] for row in stats) == 160
    # A minute keeps its largest oldest age (its depth: the last sample, maybe the empty one).
    assert any(row["oldest_age"] is not None for row in stats)  # a sample of the backlog


def test_a_process_that_does_not_consume_asks_in_turns_and_its_peek_delivers_nothing(
        app, storage, monkeypatch):
    monkeypatch.setattr(sampler, "ASK_EVERY", 0.2)
    watcher = app.extensions["pillow"].watcher  # not started: it consumes nothing
    storage.send(compose("HUGGING", "waiting"))
    first = watcher.queue_figures()  # the first look asks every figure
    assert (first["depth"], first["poison_count"]) == (1, 0)
    assert 0 <= first["oldest_age"] < 60
    again = watcher.queue_figures()  # within ASK_EVERY: nothing asked; the age only grows
    assert again["as_of"] == first["as_of"] and again["oldest_age"] >= first["oldest_age"]
    storage.send(compose("SHAKING", "second"))
    figures = wait_for(lambda: (found := watcher.queue_figures())["depth"] == 2
                       and found, message="a peek, then the depth (in turn)")
    assert figures["oldest_age"] >= first["oldest_age"]  # still the first message's
    messages = storage.receive(5)
    assert [message.dequeue_count for message in messages] == [1, 1]  # peeks delivered nothing
    storage.delete(messages)
    wait_for(lambda: watcher.queue_figures()["depth"] == 0, message="the empty queue counted")
    assert watcher.queue_figures()["oldest_age"] is None
    poison(storage, "not a state")  # as the console's requeue or delete would change it
    watcher.invalidate_poison_count()
    assert watcher.queue_figures()["poison_count"] == 1  # asked at once, out of its turn


def stats_blob(storage):
    return storage.container.get_blob_client(f"{storage.queue_name}/snapshot.queue-stats.json")


def test_samples_alone_are_written_seldom_and_counts_within_a_cycle(settings, storage,
                                                                     monkeypatch):
    monkeypatch.setattr(stats_storage, "EVERY", 0.1)  # a try every 0.1 s, not 60
    monkeypatch.setattr(stats_storage, "SAMPLES_EVERY", 3600.0)  # samples alone: not again
    monkeypatch.setattr(sampler, "ASK_EVERY", 0.1)  # a sample at (nearly) every receive
    app = create_app(settings)
    watcher, client = app.extensions["pillow"].watcher, app.test_client()
    tries = []
    save = watcher.stats.save
    watcher.stats.save = lambda final=False: tries.append(1) or save(final)
    blob = stats_blob(storage)
    try:
        watcher.start()
        wait_for(lambda: blob.exists(), message="the first write (samples)")
        written = blob.get_blob_properties().etag
        since = len(tries)
        wait_for(lambda: len(tries) >= since + 10, message="ten more cycles")
        assert watcher.stats.stats.dirty  # sampled meanwhile, and not written
        assert blob.get_blob_properties().etag == written
        storage.send(compose("HUGGING", "counted"))
        wait_for(lambda: client.get("/api/state").json.get("text") == "counted")
        wait_for(lambda: blob.get_blob_properties().etag != written, message="a write of it")
        saved = StatsBlob(storage).load_if_changed(datetime.now(UTC))
        assert sum(row["applied"] for row in saved.series(datetime.now(UTC), 1)) == 1
    finally:
        watcher.stop()
        app.extensions["pillow"].storage.close()


def test_a_bad_stats_blob_is_refused_once_and_replaced(settings, storage, caplog):
    blob = stats_blob(storage)
    blob.upload_blob(b'{"version": 1, "minutes": [["2026-11-27T10:00:00Z", -1, 0, 0, null, '
                     b'null]]}', overwrite=True)
    app = create_app(settings)
    watcher, client = app.extensions["pillow"].watcher, app.test_client()
    try:
        with caplog.at_level(logging.ERROR, logger="pillow_web.storage.queue_stats"):
            watcher.start()
            storage.send(compose("PUNCHING", "despite the bad blob"))
            wait_for(lambda: client.get("/api/state").json.get("text") == "despite the bad blob")
    finally:
        watcher.stop()  # a clean stop replaces it
        app.extensions["pillow"].storage.close()
    assert [record.levelname for record in caplog.records
            if "ignoring an unreadable queue stats" in record.message] == ["ERROR"]
    now = datetime.now(UTC)
    saved = StatsBlob(storage).load_if_changed(now).series(now, 1)
    assert sum(row["applied"] for row in saved) == 1
