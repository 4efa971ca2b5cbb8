"""A real Prometheus (Debian's, ``make services``) for the metrics tests, as tests/services.py runs
Redis: in the foreground, on a free loopback port, with its config and data in its own folder;
and the samples of a ``/metrics`` answer, as prometheus_client's parser reads them."""

import json
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .services import Service, find

SCRAPE_EVERY = "1s"


def samples(text):
    """``{(sample name, sorted labels): value}`` of an exposition, parsed by prometheus_client."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found, name, **labels):
    """The value of the sample ``name`` with exactly ``labels``, or None if there is none."""
    return found.get((name, tuple(sorted(labels.items()))))


def scrape_config(targets, token=None):
    """A Prometheus config (JSON is YAML) scraping ``targets`` (``host:port``) every second."""
    job = {"job_name": "pillow-web", "scrape_interval": SCRAPE_EVERY,
           "scrape_timeout": SCRAPE_EVERY, "static_configs": [{"targets": list(targets)}]}
    if token:
        job["authorization"] = {"type": "Bearer", "credentials": token}
    return {"global": {"scrape_interval": SCRAPE_EVERY}, "scrape_configs": [job]}


class Prometheus(Service):
    """``prometheus`` on 127.0.0.1 scraping ``targets``; ``query`` asks its HTTP API."""

    name = "prometheus"

    def __init__(self, folder, targets, token=None):
        super().__init__(folder)
        self.config = self.folder / "prometheus.yml"
        self.config.write_text(json.dumps(scrape_config(targets, token), indent=1))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        return [find("prometheus"), f"--config.file={self.config}",
                f"--storage.tsdb.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h", "--log.level=warn"]

    def answers(self):
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    def query(self, promql):
        """The samples of an instant query: ``[(labels, value)]``."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(address, timeout=2) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return [(sample["metric"], float(sample["value"][1]))
                for sample in body["data"]["result"]]


@pytest.fixture
def prometheus(tmp_path):
    """``prometheus(targets, token=None)``: a started Prometheus scraping ``targets`` every
    second; stopped at teardown (its output is in ``<tmp_path>/prometheus-N/output.log``)."""
    started = []

    def start(targets, token=None):
        server = Prometheus(tmp_path / f"prometheus-{len(started)}", targets, token)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
