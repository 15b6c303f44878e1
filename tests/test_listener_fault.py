"""The listener fault's grammar: `refuse`, `drop`, `accept-delay=D`, each with an
optional `,for=D`; exact round trips, and bad text refused naming the item."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_echo.faults.listener import ListenerFault, as_listener_fault, listener_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refuse", ListenerFault("refuse")),
        ("drop", ListenerFault("drop")),
        ("accept-delay=200ms", ListenerFault("accept-delay", delay=0.2)),
        ("refuse,for=5s", ListenerFault("refuse", lasting=5.0)),
        (" DROP , for=1.5s ", ListenerFault("drop", lasting=1.5)),
        ("for=2m,accept-delay=1", ListenerFault("accept-delay", 1.0, 120.0)),
        ("accept-delay=0", ListenerFault("accept-delay", delay=0.0)),
    ],
)
def test_listener_faults_parse_to_their_value(
    text: str, expected: ListenerFault
) -> None:
    assert ListenerFault.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "refuse",
        "drop",
        "accept-delay=200ms",
        "refuse,for=5s",
        "accept-delay=0.0001ms,for=1.5s",
        "drop,for=120s",
    ],
)
def test_the_text_form_is_exactly_the_canonical_text(text: str) -> None:
    fault = ListenerFault.parse(text)
    assert fault is not None
    assert str(fault) == text
    assert ListenerFault.parse(str(fault)) == fault


def test_off_is_none_and_none_is_off() -> None:
    assert ListenerFault.parse("off") is None
    assert ListenerFault.parse(" OFF ") is None
    assert listener_text(None) == "off"
    assert listener_text(ListenerFault("drop", lasting=2)) == "drop,for=2s"


def test_without_end_keeps_the_mode_and_forgets_for() -> None:
    fault = ListenerFault("accept-delay", 0.2, 5.0)
    assert fault.without_end() == ListenerFault("accept-delay", 0.2)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty listener fault"),
        ("refuze", "'refuze'"),
        ("refuse,drop", "'refuse' and 'drop'"),
        ("refuse,refuse", "'refuse' is given twice"),
        ("for=5s", "'for' needs a mode"),
        ("refuse,for=5s,for=1s", "'for' is given twice"),
        ("refuse=1s", "'refuse' takes no value"),
        ("accept-delay", "'accept-delay' needs a duration"),
        ("accept-delay=", "'accept-delay' needs a duration"),
        ("accept-delay=fast", "accept-delay=fast"),
        ("accept-delay=-1s", "accept-delay=-1s"),
        ("refuse,for=0", "for=0s"),
        ("refuse,for=31d", "for=31d"),
        ("drop,for=999999999s", "too long"),
        ("off,for=5s", "unknown listener item 'off'"),
        ("accept-delay=\x1b[31m", "\\x1b[31m"),
    ],
)
def test_bad_text_is_refused_naming_the_item(text: str, named: str) -> None:
    with pytest.raises(ValueError, match="listener") as caught:
        ListenerFault.parse(text)
    message = str(caught.value)
    assert named in message
    assert "\x1b" not in message


@pytest.mark.parametrize(
    "make",
    [
        lambda: ListenerFault("refuze"),  # type: ignore[arg-type]
        lambda: ListenerFault("refuse", delay=1.0),
        lambda: ListenerFault("accept-delay"),
        lambda: ListenerFault("accept-delay", delay=float("nan")),
        lambda: ListenerFault("accept-delay", delay=True),
        lambda: ListenerFault("drop", lasting=0),
        lambda: ListenerFault("drop", lasting=-1),
        lambda: ListenerFault("drop", lasting=float("inf")),
    ],
)
def test_the_python_constructor_checks_like_the_parser(make: object) -> None:
    with pytest.raises(ValueError, match="listener"):
        make()  # type: ignore[operator]


def test_python_values_equal_parsed_ones_whatever_the_number_type() -> None:
    assert ListenerFault("accept-delay", delay=1) == ListenerFault.parse(
        "accept-delay=1s"
    )
    assert str(ListenerFault("refuse", lasting=5)) == "refuse,for=5s"


def test_as_listener_fault_takes_text_values_and_none() -> None:
    value = ListenerFault("drop")
    assert as_listener_fault(value) is value
    assert as_listener_fault(None) is None
    assert as_listener_fault("refuse,for=1s") == ListenerFault("refuse", lasting=1.0)
    assert as_listener_fault("off") is None
    with pytest.raises(ValueError, match="unknown listener item"):
        as_listener_fault("nope")
    with pytest.raises(TypeError):
        as_listener_fault(5)  # type: ignore[arg-type]


_PART = st.one_of(
    st.sampled_from(["refuse", "drop", "accept-delay", "for", "off", "REFUSE"]),
    st.builds(
        lambda n, v, u: f"{n}={v}{u}",
        st.sampled_from(["accept-delay", "for", "refuse", "drop"]),
        st.from_regex(r"\A[0-9]{1,6}(\.[0-9]{1,6})?\Z"),
        st.sampled_from(["", "ms", "s", "m", "h", "x"]),
    ),
    st.text(max_size=12),
)
_TEXT = st.one_of(
    st.lists(_PART, min_size=1, max_size=4).map(",".join), st.text(max_size=40)
)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_any_text_round_trips_or_is_refused_with_a_value_error(text: str) -> None:
    try:
        fault = ListenerFault.parse(text)
    except ValueError as exc:
        refused = str(exc)
        assert refused.isprintable(), refused
        return
    if fault is None:
        assert text.strip().lower() == "off"
        return
    shown = str(fault)
    assert shown.isascii()
    assert shown.isprintable()
    assert ListenerFault.parse(shown) == fault
    assert str(ListenerFault.parse(shown)) == shown
