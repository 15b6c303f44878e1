"""The fault grammar's words and edges, exactly (issue 21's mutation check).

`FaultSpec` built from Python names, compared, shown; the messages of a bad SPEC;
the largest values that still mean something; the item table's help texts. No
sockets: `mutmut` runs these on `faults/` (benchmarks/MUTATION.md).
"""

from __future__ import annotations

import pytest

from tui_echo.faults import FaultSpec
from tui_echo.faults.items import help_lines, hint, usage
from tui_echo.faults.spec import fault_text
from tui_echo.units import MAX_SECONDS, MAX_SIZE


def test_python_names_take_underscores_and_keep_the_tables_order() -> None:
    spec = FaultSpec(gap=0.1, close_after=1024, rate=1000, stall=True)
    assert str(spec) == "rate=1000,gap=100ms,stall,close-after=1K"
    assert spec == FaultSpec.parse("close-after=1K,stall,gap=100ms,rate=1000")
    assert spec.get("close-after") == 1024


def test_a_flag_set_to_false_is_left_out_and_true_is_kept() -> None:
    assert FaultSpec(stall=False, delay=0.05).items == (("delay", 0.05),)
    assert FaultSpec(blackhole=True).items == (("blackhole", True),)


def test_an_unknown_python_name_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"^unknown fault item 'close-soon'$"):
        FaultSpec(close_soon=1)


def test_a_spec_equals_only_a_spec() -> None:
    spec = FaultSpec.parse("stall")
    assert spec is not None
    assert spec != "stall"
    assert spec != ("stall",)
    assert spec == FaultSpec(stall=True)
    assert hash(spec) == hash(FaultSpec(stall=True))


def test_repr_and_text_of_a_fault() -> None:
    spec = FaultSpec.parse("slice=1,delay=50ms")
    assert repr(spec) == "FaultSpec('delay=50ms,slice=1')"
    assert fault_text(spec) == "delay=50ms,slice=1"
    assert fault_text(None) == "off"


def test_an_empty_spec_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="empty") as raised:
        FaultSpec.parse("  ")
    assert str(raised.value) == "empty fault SPEC: give items (delay=50ms), or off"


def test_an_unknown_item_lists_every_item() -> None:
    with pytest.raises(ValueError, match="wobble") as raised:
        FaultSpec.parse("delay=1s,wobble")
    assert str(raised.value) == (
        "unknown fault item 'wobble' (items: p, delay, jitter, rate, slice, gap,"
        " corrupt, loss, duplicate, reorder, truncate, stall, blackhole, close-after,"
        " reset-after, close-in, reset-in;"
        " a profile: 3g, slow-4g, fast-4g, edge, high-jitter, satellite; or off)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slice=", "fault item 'slice' needs a size (64K, 1M): slice=..."),
        (
            "close-after",
            "fault item 'close-after' needs a size (64K, 1M): close-after=...",
        ),
        ("gap=", "fault item 'gap' needs a duration (250ms, 1.5s): gap=..."),
        (
            f"rate={MAX_SIZE + 1}",
            f"fault item rate={MAX_SIZE + 1}: too large to mean anything",
        ),
        (
            f"close-in={MAX_SECONDS + 1:.0f}",
            f"fault item close-in={MAX_SECONDS + 1:.0f}: too long to mean anything",
        ),
    ],
)
def test_a_missing_or_too_large_value_is_named_exactly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="fault item") as raised:
        FaultSpec.parse(text)
    assert str(raised.value) == message


def test_the_largest_values_still_mean_something() -> None:
    assert FaultSpec.parse(f"rate={MAX_SIZE}") == FaultSpec(rate=MAX_SIZE)
    assert FaultSpec.parse(f"close-in={MAX_SECONDS:.0f}") == FaultSpec(
        close_in=MAX_SECONDS
    )


def test_the_items_help_texts() -> None:
    assert usage() == (
        "p=PCT, delay=DURATION, jitter=DURATION[:DIST], rate=SIZE, slice=SIZE,"
        " gap=DURATION, corrupt=1/N, loss=PCT, duplicate=PCT, reorder=PCT,"
        " truncate=SIZE, stall, blackhole, close-after=SIZE, reset-after=SIZE,"
        " close-in=DURATION, reset-in=DURATION"
    )
    assert hint() == (
        "items: p= delay= jitter= rate= slice= gap= corrupt= loss= duplicate="
        " reorder= truncate= stall blackhole close-after= reset-after= close-in="
        " reset-in=, comma-separated"
        " (delay=50ms,slice=1), or a profile (3g, slow-4g, fast-4g, edge,"
        " high-jitter, satellite)"
    )
    lines = help_lines()
    assert len(lines) == 17
    assert lines[1] == (
        "delay=DURATION          each byte echoed no sooner than DURATION after it"
    )
    assert lines[11] == "stall                   stop reading from the client"
    assert all(line[22:24] == "  " and line[24] != " " for line in lines), (
        "every effect starts after the longest usage (22) and two spaces"
    )


# ---- a profile among items ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("3g,p=30%", "p=30%,delay=2s,rate=50000"),  # 3g for 30% of new clients
        ("p=30%, 3G", "p=30%,delay=2s,rate=50000"),
        ("satellite,slice=64", "delay=600ms,slice=64"),
    ],
)
def test_a_profile_among_items_stands_for_its_items(text: str, same_as: str) -> None:
    spec = FaultSpec.parse(text)
    assert spec == FaultSpec.parse(same_as)
    assert str(spec) == same_as


def test_a_profile_of_the_scenario_file_stands_among_items_too() -> None:
    flaky = FaultSpec.parse("delay=200ms,slice=512")
    assert flaky is not None
    spec = FaultSpec.parse("flaky,p=50%", profiles={"flaky": flaky})
    assert str(spec) == "p=50%,delay=200ms,slice=512"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("3g,delay=1s", "fault item 'delay' is given twice"),
        ("3g,satellite", "fault item 'delay' is given twice"),
        ("off,p=30%", "fault SPEC 'off' stands alone: no items beside it"),
        ("nope,p=30%", "unknown fault item 'nope'"),
        ("3g=1,p=30%", "unknown fault item '3g=1'"),
    ],
)
def test_a_profile_among_items_is_refused_with_what_is_wrong(
    text: str, said: str
) -> None:
    with pytest.raises(ValueError, match="^" + said.replace("(", r"\(")):
        FaultSpec.parse(text)
