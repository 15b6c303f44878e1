"""`tui-echo scenario check FILE` and `--scenario FILE` as commands (subprocesses):
the timeline printed, a bad or missing file refused in one line with exit 2, and a
good one carried out by a headless server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers import COMMAND, DEADLINE, Headless

GOOD = """\
[profile.flaky]
delay = "200ms"
jitter = "50ms"

[[step]]
at = "0.2s"
target = "new"
fault = "flaky"

[[step]]
at = "0.1s"
target = "listener"
fault = "accept-delay=10ms"

[[step]]
after_connect = "2s"
fault = "stall"
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=DEADLINE
    )


def scenario_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.toml"
    path.write_text(text)
    return str(path)


def test_check_prints_the_timeline_in_time_order(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, GOOD)
    done = run("scenario", "check", path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"{path}: 3 steps, 1 profile",
        "profile flaky: delay=200ms,jitter=50ms",
        "step 2   at 100ms          set listener to accept-delay=10ms",
        "step 1   at 200ms          set new to flaky (delay=200ms,jitter=50ms)",
        "step 3   2s after connect  set the client to stall",
    ]


def test_check_refuses_a_bad_file_in_one_line_naming_step_and_item(
    tmp_path: Path,
) -> None:
    path = scenario_file(tmp_path, GOOD.replace('"stall"', '"stall,delay=soon"'))
    done = run("scenario", "check", path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"tui-echo: error: {path}: step 3, fault: fault item delay=soon:"
        " not a duration: 'soon' (try 250ms, 1.5s or 2m)"
    ]


def test_check_refuses_a_missing_file_in_one_line(tmp_path: Path) -> None:
    done = run("scenario", "check", str(tmp_path / "gone.toml"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"tui-echo: error: cannot read {tmp_path / 'gone.toml'}:"
        " no such file or directory"
    ]


def test_a_file_name_with_an_escape_sequence_is_shown_escaped(tmp_path: Path) -> None:
    done = run("scenario", "check", str(tmp_path / "\x1b[2Jx.toml"))
    assert done.returncode == 2
    assert "\x1b" not in done.stderr
    assert "\\x1b[2Jx.toml" in done.stderr


def test_the_server_refuses_a_bad_scenario_before_it_starts(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, GOOD.replace('target = "new"', "target = 0"))
    done = run("--no-ui", "--port", "0", "--scenario", path)
    assert done.returncode == 2
    assert done.stdout == ""  # no `listening`: nothing started
    assert done.stderr.splitlines() == [
        f"tui-echo: error: {path}: step 1, target: no client has the id '0'"
    ]
    missing = run("--no-ui", "--port", "0", "--scenario", str(tmp_path / "no.toml"))
    assert missing.returncode == 2
    assert len(missing.stderr.splitlines()) == 1


def test_the_server_carries_out_a_good_scenario_and_logs_its_steps(
    tmp_path: Path,
) -> None:
    path = scenario_file(tmp_path, GOOD)
    with Headless("--log-format", "json", "--scenario", path) as server:
        lines = server.read_until('"event":"fault"')
        code, stderr = server.finish()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == [
        "listening",
        "scenario",
        "scenario",
        "listener",
        "scenario",
        "fault",
    ]
    assert events[1]["step"] == 0
    assert events[2]["step"] == 2
    assert events[3]["fault"] == "accept-delay=10ms"
    assert events[4]["does"] == "set new to flaky (delay=200ms,jitter=50ms)"
    assert events[5]["fault"] == "delay=200ms,jitter=50ms"
    assert (code, stderr) == (0, "")


def test_the_text_log_says_each_step_and_the_next(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, GOOD)
    with Headless("--scenario", path) as server:
        lines = server.read_until("fault")
        server.finish()
    said = [line.split(" ", 2)[2] for line in lines]  # the date and time go
    assert (
        "scenario    started; next at 0.1s: step 2, set listener to"
        " accept-delay=10ms" in said
    )
    assert (
        "scenario    step 1 at 0.2s: set new to flaky (delay=200ms,jitter=50ms);"
        " no more timed steps" in said
    )
