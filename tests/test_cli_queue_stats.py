"""``pillow-web queue stats`` against Azurite: the stats blob's minutes with activity and totals,
per 10 minutes past 3 hours, as JSON, and what it says with no blob, a bad one or bad options."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pillow_web.cli import cli
from pillow_web.domain.queue_stats import QueueStats
from pillow_web.storage.queue_stats import StatsBlob

STATS = "{queue}/snapshot.queue-stats.json"


@pytest.fixture
def saved(storage):
    """A day in the stats blob: counts 5 and 2 minutes ago, samples now, and 4 hours ago."""
    now = datetime.now(UTC)
    stats = QueueStats()
    stats.count([("default", "applied", now)] * 3 + [("default", "skipped", now)],
                now - timedelta(minutes=5))
    stats.poisoned(2, now - timedelta(minutes=2))
    stats.sample(7, 95.0, now - timedelta(minutes=2))
    stats.sample(0, None, now)
    stats.count([("default", "applied", now)], now - timedelta(hours=4))
    StatsBlob(storage).save(stats.to_dict())
    return now


def minute(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def test_it_lists_the_minutes_with_activity_and_the_totals(runner, saved):
    result = runner.invoke(cli, ["queue", "stats"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("the last 1 h, per minute (rows with activity only):")
    assert lines[1].split() == ["UTC", "applied", "skipped", "poisoned", "depth", "oldest"]
    rows = {line[:16]: line[16:].split() for line in lines[2:-1]}
    assert rows[minute(saved - timedelta(minutes=5))] == ["3", "1", "0", "-", "-"]
    assert rows[minute(saved - timedelta(minutes=2))][:4] == ["0", "0", "2", "7"]
    assert " ".join(rows[minute(saved - timedelta(minutes=2))][4:]) == "1 min 35 s"
    assert minute(saved) not in rows  # depth 0, nothing counted: no activity
    assert lines[-1] == ("total: 3 applied, 1 skipped, 2 poisoned; largest depth 7, "
                         "oldest waiting 1 min 35 s")


def test_past_three_hours_a_row_sums_ten_minutes(runner, saved):
    result = runner.invoke(cli, ["queue", "stats", "--hours", "6"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "the last 6 h, per 10 minutes" in lines[0]
    assert len(lines) - 3 in (2, 3)  # the 4-hours-ago minute, and the last minutes' one or two
    assert lines[-1].startswith("total: 4 applied, 1 skipped, 2 poisoned;")
    starts = [datetime.strptime(line[:16], "%Y-%m-%d %H:%M") for line in lines[2:-1]]
    assert all((b - a) % timedelta(minutes=10) == timedelta(0)
               for a, b in zip(starts, starts[1:], strict=False))


def test_json_gives_every_minute_and_the_totals(runner, saved, settings):
    result = runner.invoke(cli, ["queue", "stats", "--json"], env={"PILLOW_QUEUE_HOURS": "2"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["queue"] == settings["QUEUE"] and data["hours"] == 2
    assert len(data["series"]) == 120
    assert set(data["series"][0]) == {"minute", "applied", "skipped", "poisoned", "depth",
                                      "oldest_age"}
    assert data["totals"] == {"applied": 3, "skipped": 1, "poisoned": 2, "depth": 7,
                              "oldest_age": 95.0}


def test_without_a_blob_it_says_so(runner, storage):
    result = runner.invoke(cli, ["queue", "stats"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"no queue stats for {storage.queue_name} yet")
    result = runner.invoke(cli, ["queue", "stats", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["series"] == []
    assert "no queue stats" in result.stderr


def test_a_bad_blob_is_one_clear_line(runner, storage):
    storage.container.upload_blob(STATS.format(queue=storage.queue_name),
                                  b'{"version": 1, "minutes": [["<script>", 1, 0, 0, null, null]]}',
                                  overwrite=True)
    result = runner.invoke(cli, ["queue", "stats"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: the queue stats of {storage.queue_name} cannot be "
                                    "used (ValueError: Invalid isoformat string")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("arguments, says", [
    (["--hours", "0"], "0 is not in the range 1<=x<=24"),
    (["--hours", "25"], "25 is not in the range"),
    (["--pillow", "nowhere"], "unknown pillow 'nowhere'"),
])
def test_bad_options_are_usage_errors(runner, arguments, says):
    result = runner.invoke(cli, ["queue", "stats", *arguments])
    assert result.exit_code == 2 and says in result.stderr


def test_every_option_has_help(runner):
    result = runner.invoke(cli, ["queue", "stats", "--help"])
    assert result.exit_code == 0
    for option in ("--hours", "--json", "--pillow"):
        assert option in result.stdout
    assert "PILLOW_QUEUE_HOURS" in result.stdout and "PILLOW_QUEUE_PILLOW" in result.stdout
