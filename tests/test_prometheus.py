"""The shipped Prometheus config and alerts pass promtool, fire when they should, and a real
Prometheus scrapes a running ``serve`` and ``watch``."""

import json
import shutil
import subprocess
import textwrap

import pytest
from ruamel.yaml import YAML

from pillow_web.config import ROOT
from pillow_web.domain.messages import compose

from .prometheus import prometheus  # noqa: F401 (a fixture)
from .services import find
from .util import wait_for

DEPLOY = ROOT / "deploy" / "prometheus"


def promtool(*args, cwd):
    done = subprocess.run([find("promtool"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def deployed(tmp_path):
    """deploy/prometheus as an operator sets it up: with the token file the config names."""
    folder = tmp_path / "prometheus"
    shutil.copytree(DEPLOY, folder)
    (folder / "metrics_token").write_text("a-metrics-token\n")
    return folder


def test_the_shipped_config_and_rules_pass_promtool(deployed):
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml", cwd=deployed)
    assert "SUCCESS: 4 rules found" in promtool("check", "rules", "alerts.yml", cwd=deployed)


# Series as two processes on one queue report them (the active one and a standby), 1 min apart.
ALERT_TESTS = {
    "rule_files": ["alerts.yml"],
    "evaluation_interval": "1m",
    "tests": [
        {
            "interval": "1m",
            "input_series": [
                {"series": 'pillow_queue_link_up{instance="a", queue="q"}', "values": "1 1 0x5"},
                {"series": 'pillow_queue_link_up{instance="b", queue="q"}', "values": "1x7"},
                {"series": 'pillow_poison_messages{instance="a", queue="q"}',
                 "values": "0x10 2x20"},
                {"series": 'pillow_queue_depth{instance="a", queue="q"}', "values": "0x5 3x20"},
                {"series": 'pillow_messages_applied_total{instance="a", queue="q", pillow="p"}',
                 "values": "0 1 2 3 4 5 5x20"},
                {"series": 'pillow_lease_held{instance="a", queue="q"}', "values": "1x20"},
                {"series": 'pillow_lease_held{instance="b", queue="q"}', "values": "0x20"},
            ],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": "PillowQueueLinkDown", "exp_alerts": []},
                {"eval_time": "4m", "alertname": "PillowQueueLinkDown",
                 "exp_alerts": [{"exp_labels": {"severity": "critical", "instance": "a",
                                                "queue": "q"}}]},
                {"eval_time": "9m", "alertname": "PillowPoisonRising", "exp_alerts": []},
                {"eval_time": "12m", "alertname": "PillowPoisonRising",
                 "exp_alerts": [{"exp_labels": {"severity": "warning", "queue": "q"}}]},
                {"eval_time": "8m", "alertname": "PillowQueueStalled", "exp_alerts": []},
                {"eval_time": "16m", "alertname": "PillowQueueStalled",
                 "exp_alerts": [{"exp_labels": {"severity": "critical", "queue": "q"}}]},
                {"eval_time": "10m", "alertname": "PillowNoConsumer", "exp_alerts": []},
            ],
        },
    ],
}


def test_the_alerts_fire_when_they_should(deployed):
    # The rules as shipped, without their annotations (promtool would compare those too).
    yaml = YAML()
    rules = yaml.load(deployed / "alerts.yml")
    for rule in rules["groups"][0]["rules"]:
        del rule["annotations"]
    yaml.dump(rules, deployed / "alerts.yml")
    # JSON is YAML; promtool reads the test file as YAML.
    (deployed / "alerts_test.yml").write_text(json.dumps(ALERT_TESTS, indent=1))
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml", cwd=deployed)


def test_prometheus_scrapes_a_running_serve_and_watch(
        azurite, dashboards, prometheus, storage):  # noqa: F811 (the fixture imported above)
    serve = dashboards(azurite, storage.queue_name)
    watch = dashboards(azurite, storage.queue_name, command=("watch",))  # stands by
    targets = {f"127.0.0.1:{each.port}": each for each in (serve, watch)}
    server = prometheus(targets)
    storage.send(compose("HUGGING", "scraped"))
    wait_for(lambda: serve.state().get("text") == "scraped", 10, "the message applied")

    def scraped():
        up = {sample["instance"]: value for sample, value in server.query("up")}
        return up == dict.fromkeys(targets, 1.0)

    wait_for(scraped, 20, "both targets up in Prometheus", interval=0.2)
    applied = f'sum(pillow_messages_applied_total{{queue="{storage.queue_name}"}})'
    wait_for(lambda: [value for _, value in server.query(applied)] == [1.0], 10,
             "the applied message in Prometheus", interval=0.2)
    held = {sample["instance"]: value for sample, value in
            server.query(f'pillow_lease_held{{queue="{storage.queue_name}"}}')}
    assert sorted(held.values()) == [0.0, 1.0]  # one consumer of the two
    roles = {sample["instance"]: sample["role"]
             for sample, _ in server.query("pillow_build_info")}
    assert sorted(roles.values()) == ["all", "watcher"], textwrap.shorten(str(roles), 300)
    assert all(value > 0 for _, value in server.query("process_start_time_seconds"))
