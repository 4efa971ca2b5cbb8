"""The chaos run, short: 10 overlapping faults (one of each target) over the whole scale-out
topology, nothing lost, nothing backwards, no split brain (``make chaos`` runs 100). Then the
checker itself, on made-up logs: each failure it exists to find, it finds."""

import json
import subprocess
import sys

from chaos import checker, faults, leases

from .procs import PYTHON

SEED = 3  # its 10 faults hit every part: the active watcher (killed, frozen), the standby, a web
# worker, Redis, nginx, Azurite (restarted, frozen)
RUN_LIMIT = 300  # seconds; the run takes about a minute alone, two under the whole suite


def test_a_short_chaos_run_loses_nothing_and_never_goes_back(tmp_path):
    done = subprocess.run([str(PYTHON), "-m", "chaos", "--seed", str(SEED), "--faults", "10",
                           "--gap", "5", "--screens", "10", "--no-plot", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=RUN_LIMIT, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] and report["faults"]["total"] == 10
    assert {f["target"] for f in report["schedule"]} == {
        "active watcher", "standby watcher", "web worker", "redis", "nginx", "azurite"}
    assert report["lost"] == report["backwards"] == report["split_brain"] == []
    assert report["poisoned"]["bad"] == report["messages"]["bad"] > 0
    assert report["takeovers"] >= 1
    assert f"--seed {SEED} --faults 10" in done.stdout  # the schedule is printed to replay it


def test_the_schedule_is_the_seeds_and_has_every_kind_once_before_any_twice():
    plan = faults.schedule(7, 12, 6.0)
    assert plan == faults.schedule(7, 12, 6.0)
    assert len({(f["target"], f["action"]) for f in plan}) == 12
    assert plan != faults.schedule(8, 12, 6.0)


def write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def sent(n, form="json", second=1000):
    at = f"2026-11-28T00:16:{40 + n:02d}.000001+00:00" if form == "json" else None
    return {"n": n, "form": form, "id": f"id{n}", "t": 0, "inserted": float(second),
            "state": "HUGGING", "at": at, "reason": None}


def test_the_checker_finds_a_screen_shown_an_older_message():
    numbering = checker.Numbering([sent(1), sent(2)])
    shows = [{"client": "s1", "t": 1, "n": 1}, {"client": "s1", "t": 2, "n": 2},
             {"client": "s1", "t": 3, "n": 1}, {"client": "s2", "t": 3, "n": 1}]
    assert [(b["client"], b["n"], b["after"]) for b in checker.backwards(shows, numbering)] == [
        ("s1", 1, 2)]


def test_the_checker_lets_the_later_received_win_within_a_bare_names_second():
    # A bare name is known to its insertion second only: shown after a JSON message stamped
    # in that second, it is not older (the dashboard's rule: the later received wins).
    second = int(checker.epoch("2026-11-28T00:16:42.000001+00:00"))
    numbering = checker.Numbering([sent(1), sent(2), sent(3, "bare", second)])
    shows = [{"client": "s1", "t": 1, "n": 2}, {"client": "s1", "t": 2, "n": 3}]
    assert checker.backwards(shows, numbering) == []
    assert checker.backwards([{"client": "s1", "t": 1, "n": 3}, {"client": "s1", "t": 2,
                                                                 "n": 1}], numbering)


def test_the_checker_finds_a_lost_message_and_a_bad_one_poisoned_for_another_reason(tmp_path):
    bad = {**sent(3), "form": "bad", "reason": "invalid JSON"}
    write(tmp_path / "sent.jsonl", [sent(1), sent(2), bad])
    collected = {"applied_ids": {"id1"}, "poison": {"id3": "unknown state 'X'"}, "applied": [],
                 "final": {"s1": {"text": "#1"}}, "kiosk_text": "#1", "left_running": [],
                 "fault_errors": [], "last": 1}
    result = checker.check(tmp_path, "chaos", collected)
    assert result["lost"] == [2] and result["wrong_reason"][0]["n"] == 3
    assert not result["passed"]


def azurite_line(at, request, agent, method, url, headers=None):
    headers = {"user-agent": f"azsdk-python-storage-blob/12 chaos-{agent}", **(headers or {})}
    return (f"2026-11-28T00:00:{at:06.3f}Z {request} info: BlobStorageContextMiddleware: "
            f"RequestMethod={method} RequestURL=http://127.0.0.1{url} "
            f"RequestHeaders:{json.dumps(headers)} ClientIP=127.0.0.1 Protocol=http\n"
            f"2026-11-28T00:00:{at:06.3f}Z {request} info: EndMiddleware: End response. "
            f"TotalTimeInMS=1 StatusCode={201 if method != 'DELETE' else 204} X=1\n")


def test_the_checker_finds_a_write_by_a_watcher_while_another_holds_the_lease(tmp_path):
    blob = "/devstoreaccount1/pillow-web/chaos/snapshot.json"
    log = [azurite_line(1, "r1", "watcher-a-g1", "PUT", blob + "?comp=lease",
                        {"x-ms-lease-action": "acquire"}),
           azurite_line(2, "r2", "watcher-a-g1", "PUT", blob, {"content-length": "9"}),
           azurite_line(3, "r3", "watcher-b-g1", "DELETE", "/devstoreaccount1/chaos/messages/m1"),
           "2026-11-28T00:00:09.000Z \t info: Azurite Queue service successfully closed\n"]
    (tmp_path / "azurite-1.log").write_text("".join(log))
    found = leases.check(tmp_path, "chaos")
    assert found["split_brain"] == [{"t": found["split_brain"][0]["t"],
                                     "process": "chaos-watcher-b-g1", "write": "delete",
                                     "holder": "chaos-watcher-a-g1"}]
    assert found["unleased_writes"] == []


def test_the_chaos_command_refuses_bad_options():
    done = subprocess.run([sys.executable, "-m", "chaos", "--faults", "-1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--faults >= 0" in done.stderr


def test_the_soak_flags_memory_files_and_greenlets_that_grow():
    from chaos import soak

    def sample(phase, rss, fds, greenlets):
        parts = {name: {"rss_mb": 50.0, "fds": 10, "greenlets": None} for name in soak.PROCESSES}
        parts["web-a"] = {"rss_mb": rss, "fds": fds, "greenlets": greenlets}
        return {"phase": phase, "parts": parts}

    steady = soak.compare([sample("baseline", 80.0, 60, 160), sample("end", 85.0, 62, 163)])
    assert all(steady["web-a"][key] for key in ("rss_ok", "fds_ok", "greenlets_ok"))
    grown = soak.compare([sample("baseline", 80.0, 60, 160), sample("end", 95.0, 70, 200)])
    assert not any(grown["web-a"][key] for key in ("rss_ok", "fds_ok", "greenlets_ok"))
    assert grown["redis"]["rss_ok"] and "greenlets_ok" not in grown["redis"]
