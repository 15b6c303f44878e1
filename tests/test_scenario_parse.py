"""The scenario file (`--scenario`): what it may say, and each refusal naming the step
and the item; its timeline, its next step, its text form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui_echo.faults import FaultSpec
from tui_echo.faults.scenario_file import (
    MAX_FILE,
    MAX_STEPS,
    load_scenario,
    parse_scenario,
)

GOOD = """
[profile.flaky]
delay = "200ms"
jitter = "50ms"
slice = 1
stall = false

[[step]]
at = "0.5s"
target = "new"
fault = "delay=200ms"

[[step]]
at = "10s"
every = "30s"
target = "all"
fault = "flaky"

[[step]]
at = "20s"
target = 7
fault = "off"

[[step]]
after_connect = "2s"
fault = "stall"
"""


def step(body: str) -> str:
    """A file whose second step is `body` (the first is good)."""
    return f'[[step]]\nat = "1s"\ntarget = "new"\nfault = "off"\n\n[[step]]\n{body}\n'


def test_a_good_file_reads_into_steps_and_profiles() -> None:
    scenario = parse_scenario(GOOD)
    assert scenario.profiles == {
        "flaky": FaultSpec.parse("delay=200ms,jitter=50ms,slice=1")
    }
    first, second, third, fourth = scenario.steps
    assert (first.number, first.target, first.at, first.every) == (1, "new", 0.5, None)
    assert first.spec == FaultSpec(delay=0.2)
    assert (second.fault, second.spec) == ("flaky", scenario.profiles["flaky"])
    assert second.every == 30.0
    assert (third.target, third.spec, third.fault) == (7, None, "off")
    assert (fourth.target, fourth.after_connect, fourth.at) == ("client", 2.0, None)
    assert scenario.timed == (first, second, third)
    assert scenario.per_client == (fourth,)


def test_the_text_form_reads_back_the_same_scenario() -> None:
    scenario = parse_scenario(GOOD)
    assert parse_scenario(scenario.toml()) == scenario


def test_the_timeline_lists_steps_in_time_order_then_per_client() -> None:
    text = GOOD.replace('at = "20s"', 'at = "0.1s"')
    lines = parse_scenario(text).timeline()
    assert lines == [
        "profile flaky: delay=200ms,jitter=50ms,slice=1",
        "step 3   at 100ms           set client 7 to off",
        "step 1   at 500ms           set new to delay=200ms",
        "step 2   at 10s, every 30s  set all to flaky"
        " (delay=200ms,jitter=50ms,slice=1)",
        "step 4   2s after connect   set the client to stall",
    ]


def test_the_next_step_after_a_time_counts_repeats_and_ties() -> None:
    scenario = parse_scenario(
        step('at = "10s"\nevery = "30s"\ntarget = "all"\nfault = "stall"')
        + '[[step]]\nat = "40s"\ntarget = "new"\nfault = "stall"\n'
    )

    def next_after(seconds: float) -> tuple[float, int] | None:
        found = scenario.next_after(seconds)
        return None if found is None else (found[0], found[1].number)

    assert next_after(0.0) == (1.0, 1)
    assert next_after(1.0) == (10.0, 2)
    assert next_after(39.0) == (40.0, 2)  # a tie: the first in the file
    assert next_after(40.0) == (70.0, 2)
    assert next_after(1000.0) == (1030.0, 2)
    once = parse_scenario(step('at = "2s"\ntarget = "all"\nfault = "stall"'))
    assert once.next_after(2.0) is None


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            'at = "2s"\ntarget = "new"\nfault = "off"\ncolour = "red"',
            "step 2: unknown item 'colour'",
        ),
        (
            'at = "2 fortnights"\ntarget = "new"\nfault = "off"',
            "step 2, at: not a duration",
        ),
        ('at = 2\ntarget = "new"\nfault = "off"', "step 2, at: a duration in quotes"),
        ('at = "31d"\ntarget = "new"\nfault = "off"', "step 2, at: not a duration"),
        (
            'at = "745h"\ntarget = "new"\nfault = "off"',
            "step 2, at: longer than 30 days",
        ),
        ('after_connect = "x"\nfault = "off"', "step 2, after_connect: not a duration"),
        (
            'at = "1s"\nevery = "1ms"\ntarget = "new"\nfault = "off"',
            "step 2, every: at least 10ms",
        ),
        (
            'at = "1s"\nevery = "soon"\ntarget = "new"\nfault = "off"',
            "step 2, every: not a duration",
        ),
        ('target = "new"\nfault = "off"', "step 2: give exactly one of at"),
        (
            'at = "1s"\nafter_connect = "1s"\nfault = "off"',
            "step 2: give exactly one of at",
        ),
        ('at = "1s"\nfault = "off"', "step 2: no target"),
        (
            'at = "1s"\ntarget = "everyone"\nfault = "off"',
            'step 2, target: "all", "new"',
        ),
        (
            'at = "1s"\ntarget = 0\nfault = "off"',
            "step 2, target: no client has the id '0'",
        ),
        (
            'at = "1s"\ntarget = -3\nfault = "off"',
            "step 2, target: no client has the id",
        ),
        (
            'at = "1s"\ntarget = 1' + "0" * 30 + '\nfault = "off"',
            "step 2, target: no client has the id a number too large",
        ),
        ('at = "1s"\ntarget = 1' + "0" * 5000 + '\nfault = "off"', "not TOML"),
        ('at = "1s"\ntarget = true\nfault = "off"', "step 2, target:"),
        (
            'at = "1s"\ntarget = "client"\nfault = "off"',
            'step 2, target: "client" is for after_connect',
        ),
        (
            'after_connect = "1s"\ntarget = "all"\nfault = "off"',
            "step 2, target: an after_connect step is for the client",
        ),
        (
            'after_connect = "1s"\ntarget = 3\nfault = "off"',
            "step 2, target: an after_connect step",
        ),
        ('at = "1s"\ntarget = "new"', "step 2: no fault"),
        ('at = "1s"\ntarget = "new"\nfault = 3', "step 2, fault: a SPEC or a profile"),
        (
            'at = "1s"\ntarget = "new"\nfault = "delya=1s"',
            "step 2, fault: unknown fault item 'delya=1s'",
        ),
        (
            'at = "1s"\ntarget = "new"\nfault = "delay=soon"',
            "step 2, fault: fault item delay=soon",
        ),
        (
            'at = "1s"\ntarget = "new"\nfault = "satellite9"',
            "step 2, fault: unknown fault item 'satellite9'",
        ),
        ('at = "1s"\ntarget = "new"\nfault = ""', "step 2, fault: empty fault SPEC"),
        (
            'at = "1s"\ntarget = "new"\nfault = "' + "x" * 2000 + '"',
            "step 2, fault: a SPEC or a profile",
        ),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_a_bad_step_is_refused_naming_the_step_and_the_item(
    body: str, said: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(said)) as caught:
        parse_scenario(step(body))
    assert str(caught.value).isprintable()


ONE = '\n[[step]]\nat = "1s"\ntarget = "new"\nfault = "off"\n'
"""A good step, after the tables a test is about."""


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "no [[step]]"),
        ("[profile.a]\ndelay = '1s'\n", "no [[step]]"),
        ("step = 3\n", "'step' must be [[step]] tables"),
        ("[step]\nat = '1s'\n", "'step' must be [[step]] tables"),
        ("speed = 3\n" + ONE, "unknown key 'speed'"),
        ("[[step]\n", "not TOML"),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "not TOML"),
        ('a = "\x1b[2J\n', "not TOML"),
        ("profile = 3\n" + ONE, "'profile' must be [profile.NAME] tables"),
        (
            "[profile.Slow]\ndelay = '1s'\n" + ONE,
            "profile 'Slow': a name is lower-case",
        ),
        (
            "[profile.stall]\ndelay = '1s'\n" + ONE,
            "profile 'stall': the name is a fault",
        ),
        ("[profile.off]\ndelay = '1s'\n" + ONE, "profile 'off': the name is a fault"),
        (
            "[[step]]\nat = '1s'\ntarget = 3\nfault = 'p=50%,delay=1s'\n",
            "step 1, fault: fault item 'p' is for new clients",
        ),
        (
            "[[step]]\nafter_connect = '1s'\nfault = 'p=50%,delay=1s'\n",
            "step 1, fault: fault item 'p' is for new clients",
        ),
        (
            "[profile.3g]\ndelay = '1s'\n" + ONE,
            "profile '3g': a name is lower-case",
        ),
        (
            "[profile.satellite]\ndelay = '1s'\n" + ONE,
            "profile 'satellite': a built-in profile has that name",
        ),
        (
            "[profile.slow]\ndelay = 'soon'\n" + ONE,
            "profile 'slow': fault item delay=soon",
        ),
        (
            "[profile.slow]\ncolour = 'red'\n" + ONE,
            "profile 'slow': unknown fault item",
        ),
        (
            "[profile.slow]\n'delay=1s,stall' = true\n" + ONE,
            "item 'delay=1s,stall': not a",
        ),
        ("[profile.slow]\ndelay = '1s,stall'\n" + ONE, "item 'delay': a value is text"),
        (
            "[profile.slow]\ndelay = 1.5\n" + ONE,
            "profile 'slow', item 'delay': a value",
        ),
        ("[profile.slow]\nrate = -5\n" + ONE, "profile 'slow', item 'rate': a value"),
        ("[profile.slow]\nx = {a = 1}\n" + ONE, "profile 'slow', item 'x': a value"),
        ("[profile.slow]\nstall = false\n" + ONE, "profile 'slow': no fault items"),
        ("[profile.slow]\nstall = 'yes'\n" + ONE, "profile 'slow': fault item 'stall'"),
        ("[profile.slow]\nrate = 1\n" + ONE * (MAX_STEPS + 1), "at most 256"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_a_bad_file_is_refused_naming_the_table_and_the_item(
    text: str, said: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(said)) as caught:
        parse_scenario(text)
    assert str(caught.value).isprintable()


def test_a_file_is_read_with_a_bound(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(GOOD + "#" * MAX_FILE)
    with pytest.raises(ValueError, match="larger than 64 KiB"):
        load_scenario(path)
    path.write_bytes(b'[[step]]\nat = "1s"\ntarget = "new"\nfault = "\xff"\n')
    with pytest.raises(ValueError, match="not UTF-8"):
        load_scenario(path)
    path.write_text(GOOD)
    assert load_scenario(path) == parse_scenario(GOOD)
    with pytest.raises(OSError, match="No such file"):
        load_scenario(tmp_path / "missing.toml")


def test_a_step_may_name_a_built_in_profile() -> None:
    scenario = parse_scenario('[[step]]\nat = "1s"\ntarget = "new"\nfault = "3g"\n')
    (only,) = scenario.steps
    assert only.spec == FaultSpec.parse("3g")
    assert only.spec is not None
    assert only.spec.get("delay")
