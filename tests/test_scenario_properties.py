"""Properties of the scenario parser: whatever the text, it reads into a `Scenario`
whose text form reads back the same, or it is refused with a ValueError — never
another exception."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_echo.faults.items import ITEMS
from tui_echo.faults.scenario_file import parse_scenario

_KEYS = ["at", "after_connect", "every", "colour", "At"]
_DURATION = st.one_of(
    st.builds(
        lambda n, u: f"{n}{u}",
        st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,3})?\Z"),
        st.sampled_from(["", "ms", "s", "m", "h", "d", " s"]),
    ),
    st.text(max_size=8),
)
_SPEC = st.one_of(
    st.sampled_from(["off", "stall", "slow", "delay=200ms", "rate=64K,stall", ""]),
    st.builds(
        lambda name, value: f"{name}={value}",
        st.sampled_from([item.name for item in ITEMS]),
        _DURATION,
    ),
    st.text(max_size=12),
)
_VALUE = st.one_of(
    _DURATION,
    _SPEC,
    st.sampled_from(["all", "new", "listener", "client", "ALL"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a basic string: JSON's escapes are TOML's


def _table(pairs: dict[str, object]) -> str:
    return "\n".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in pairs.items())


_STEP = st.fixed_dictionaries(  # at and after_connect mostly good, or absent
    {
        "target": st.one_of(
            st.sampled_from(["all", "new", "listener", "client"]),
            st.integers(min_value=-1, max_value=2**64),
            _VALUE,
        ),
        "fault": st.one_of(_SPEC, _VALUE),
    },
    optional={
        "at": st.one_of(_DURATION, _VALUE),
        "after_connect": st.one_of(_DURATION, _VALUE),
        **dict.fromkeys(_KEYS[2:], _VALUE),
    },
)
_GOOD_DURATION = st.builds(
    lambda n, u: f"{n}{u}",
    st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3})?\Z"),
    st.sampled_from(["ms", "s", "m"]),
)
_GOOD_STEP = st.one_of(
    st.fixed_dictionaries(
        {
            "at": _GOOD_DURATION,
            "target": st.one_of(
                st.sampled_from(["all", "new"]), st.integers(1, 2**63 - 1)
            ),
            "fault": st.sampled_from(["off", "stall", "slow", "delay=1ms,slice=1"]),
        },
        optional={"every": _GOOD_DURATION},
    ),
    st.fixed_dictionaries(
        {"after_connect": _GOOD_DURATION, "fault": _SPEC},
        optional={"every": _GOOD_DURATION, "target": st.just("client")},
    ),
)
_PROFILE = st.dictionaries(
    st.sampled_from([item.name for item in ITEMS] + ["x", "a,b"]), _VALUE, max_size=3
)
_FILE = st.builds(
    lambda profiles, steps: "\n\n".join(
        [f"[profile.{json.dumps(n)}]\n{_table(p)}" for n, p in profiles.items()]
        + [f"[[step]]\n{_table(s)}" for s in steps]
    ),
    st.one_of(
        st.just({"slow": {"delay": "20ms", "rate": 1000, "stall": True}}),
        st.dictionaries(st.sampled_from(["slow", "Slow", "stall", "x y"]), _PROFILE),
    ),
    st.lists(st.one_of(_GOOD_STEP, _STEP), max_size=4),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_FILE, st.text(max_size=200)))
def test_any_text_is_a_scenario_that_reads_back_or_a_value_error(text: str) -> None:
    refused = None
    try:
        scenario = parse_scenario(text)
    except ValueError as exc:
        refused = str(exc)
    if refused is not None:
        assert refused
        assert refused.isprintable()
        return
    shown = scenario.toml()
    assert shown.isascii()
    assert parse_scenario(shown) == scenario
    assert parse_scenario(shown).toml() == shown
    assert all(line.isprintable() for line in scenario.timeline())
