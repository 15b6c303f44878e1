"""Properties of the SPEC grammar: whatever the text, it parses to a fault whose text
parses back to the same fault, or it is refused with a ValueError — never another
exception, never a text that reads back differently."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_echo.faults import FaultSpec
from tui_echo.faults.items import ITEMS, Kind
from tui_echo.faults.profiles import PROFILE_NAMES
from tui_echo.faults.shapes import DISTRIBUTIONS
from tui_echo.units import parse_duration, parse_size, show_duration, show_size

_NAMES = [item.name for item in ITEMS]
_NUMBER = st.from_regex(r"\A[0-9]{1,6}(\.[0-9]{1,6})?\Z")
_UNIT = st.sampled_from(["", "ms", "s", "m", "h", "K", "M", "G", "k", "KiB", "B"])
_SHAPE = st.one_of(
    st.sampled_from(DISTRIBUTIONS), st.sampled_from(["", "PARETO", "x"]), st.text()
)
_NEW_VALUE = st.one_of(
    st.builds(lambda v: f"p={v}%", _NUMBER),
    st.builds(lambda v: f"p={v}", _NUMBER),
    st.builds(
        lambda v, d: f"corrupt={v}/{d}", st.sampled_from(["1", "2", ""]), _NUMBER
    ),
    st.builds(lambda v, u, d: f"jitter={v}{u}:{d}", _NUMBER, _UNIT, _SHAPE),
)
_ITEM = st.one_of(
    st.sampled_from(_NAMES),
    st.builds(lambda n, v, u: f"{n}={v}{u}", st.sampled_from(_NAMES), _NUMBER, _UNIT),
    _NEW_VALUE,
    st.text(max_size=12),
)
_SPEC_TEXT = st.one_of(
    st.lists(_ITEM, min_size=1, max_size=5).map(",".join),
    st.sampled_from(PROFILE_NAMES),
    st.builds(lambda n, i: f"{n},{i}", st.sampled_from(PROFILE_NAMES), _ITEM),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(_SPEC_TEXT)
def test_any_text_round_trips_or_is_refused_with_a_value_error(text: str) -> None:
    try:
        spec = FaultSpec.parse(text)
    except ValueError as exc:
        assert "fault" in str(exc)  # noqa: PT017 # names the item, or the empty SPEC
        return
    if spec is None:
        assert text.strip().lower() == "off"
        return
    shown = str(spec)
    assert shown.isascii()
    assert shown.isprintable()
    assert FaultSpec.parse(shown) == spec
    assert str(FaultSpec.parse(shown)) == shown


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=0, max_value=30 * 24 * 3600, places=9))
def test_every_duration_reads_back_as_the_same_number(exact: Decimal) -> None:
    """To the nanosecond, from zero to the longest duration a SPEC takes."""
    seconds = float(exact)
    assert parse_duration(show_duration(seconds)) == seconds


@settings(max_examples=300, deadline=None)
@given(_NUMBER, st.sampled_from(["", "ms", "s", "m", "h"]))
def test_every_duration_typed_reads_back_from_its_text(number: str, unit: str) -> None:
    seconds = parse_duration(number + unit)
    assert parse_duration(show_duration(seconds)) == seconds


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=1 << 50))
def test_every_size_reads_back_as_the_same_number(size: int) -> None:
    assert parse_size(show_size(size)) == size


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([i for i in ITEMS if i.kind is Kind.FLAG]), max_size=2))
def test_flags_take_no_value(flags: list) -> None:  # type: ignore[type-arg]
    for item in flags:
        spec = FaultSpec.parse(item.name)
        assert spec is not None
        assert str(spec) == item.name


_PYTHON_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=1 << 60),
    st.booleans(),
    st.text(max_size=5),
    st.tuples(st.floats(min_value=-1, max_value=1e9), _SHAPE),
    st.tuples(st.integers(), st.integers()),
    st.none(),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_NAMES), _PYTHON_VALUE)
def test_any_python_value_makes_a_fault_that_reads_back_or_a_value_error(
    name: str, value: object
) -> None:
    """`FaultSpec(p=..., corrupt=..., jitter=...)` from Python: a fault whose text
    reads back as the same fault, or a ValueError naming the item."""
    try:
        spec = FaultSpec(**{name.replace("-", "_"): value})  # type: ignore[arg-type]
    except ValueError as exc:
        said = str(exc)
        assert f"fault item {name}" in said or f"fault item {name!r}" in said
        return
    if not spec.items:
        return  # a flag set to False
    assert FaultSpec.parse(str(spec)) == spec


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(PROFILE_NAMES), st.sampled_from([str.upper, str.lower, str]))
def test_every_profile_is_its_items(name: str, case: object) -> None:
    spec = FaultSpec.parse(case(name))  # type: ignore[operator]
    assert spec is not None
    assert FaultSpec.parse(str(spec)) == spec
