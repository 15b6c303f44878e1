"""Issue 20's fault items without sockets: jitter's shapes (netem's), `p=` and its
draw, `corrupt=1/N`'s grammar, named profiles, and who may take which fault."""

from __future__ import annotations

import math
import random
import re
from statistics import NormalDist, fmean, quantiles

import pytest

from tui_echo.faults import FaultSpec
from tui_echo.faults.items import PRESETS
from tui_echo.faults.profiles import BUILT_IN_PROFILES, PROFILES, Profile
from tui_echo.faults.shapes import Jitter, longest, quantile
from tui_echo.faults.spec import chance_generator, check_target
from tui_echo.faults.stages import DelayLine, build_stages

# ---- the grammar of the new items ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "shown"),
    [
        ("jitter=50ms", FaultSpec(jitter=0.05), "jitter=50ms"),
        ("jitter=50ms:uniform", FaultSpec(jitter=0.05), "jitter=50ms"),
        (
            "jitter=50ms:PARETO",
            FaultSpec(jitter=(0.05, "pareto")),
            "jitter=50ms:pareto",
        ),
        (
            "jitter=1s:paretonormal",
            FaultSpec(jitter=Jitter(1.0, "paretonormal")),
            "jitter=1s:paretonormal",
        ),
        ("jitter=2ms:normal", FaultSpec(jitter=(0.002, "normal")), "jitter=2ms:normal"),
        ("p=30%", FaultSpec(p=30), "p=30%"),
        ("p=2.50%,delay=1s", FaultSpec(p=2.5, delay=1.0), "p=2.5%,delay=1s"),
        ("p=0%", FaultSpec(p=0), "p=0%"),
        ("p=100%", FaultSpec(p=100.0), "p=100%"),
        ("corrupt=1/10000", FaultSpec(corrupt=10000), "corrupt=1/10000"),
        ("corrupt=1/1", FaultSpec(corrupt=1), "corrupt=1/1"),
        ("corrupt=1/007", FaultSpec(corrupt=7), "corrupt=1/7"),
        (
            "corrupt=1/9,delay=5ms,p=1%",
            FaultSpec(p=1, delay=0.005, corrupt=9),
            "p=1%,delay=5ms,corrupt=1/9",
        ),
    ],
)
def test_the_new_items_parse_and_read_back(
    text: str, expected: FaultSpec, shown: str
) -> None:
    spec = FaultSpec.parse(text)
    assert spec == expected
    assert str(spec) == shown
    assert FaultSpec.parse(shown) == spec


def test_a_uniform_jitter_stays_a_plain_number() -> None:
    """`FaultSpec(jitter=0.05)` is what it always was, however it is written."""
    for spec in (
        FaultSpec(jitter=0.05),
        FaultSpec(jitter=(0.05, "uniform")),
        FaultSpec.parse("jitter=50ms:uniform"),
    ):
        assert spec.get("jitter") == 0.05
        assert type(spec.get("jitter")) is float
    assert FaultSpec(jitter=(0.05, "pareto")).get("jitter") == Jitter(0.05, "pareto")
    assert FaultSpec(jitter=(0.05, "pareto")).number("jitter") == 0.05


def test_a_python_p_of_many_digits_reads_back_from_its_text() -> None:
    spec = FaultSpec(p=1.2345678901234567e-5)
    assert str(spec) == "p=0.000012345678901234568%"
    assert FaultSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p=30", "fault item p=30: not a percentage (try 30% or 2.5%)"),
        ("p=101%", "fault item p=101%: a percentage is from 0 to 100"),
        ("p=-1%", "fault item p=-1%: not a percentage (try 30% or 2.5%)"),
        ("p=1e2%", "fault item p=1e2%: not a percentage (try 30% or 2.5%)"),
        ("p=", "fault item 'p' needs a percentage from 0 to 100 (30%, 2.5%): p=..."),
        ("p=\uff13\uff10%", "fault item p=\uff13\uff10%: not a percentage"),
        ("corrupt=1/0", "fault item corrupt=1/0: N of 1/N is a whole number from 1"),
        ("corrupt=2/3", "fault item corrupt=2/3: not one in N (try 1/1000)"),
        ("corrupt=1/2.5", "fault item corrupt=1/2.5: not one in N (try 1/1000)"),
        ("corrupt=1000", "fault item corrupt=1000: not one in N (try 1/1000)"),
        ("corrupt=1/99999999999999999", "fault item corrupt=1/99999999999999999: N"),
        ("corrupt", "fault item 'corrupt' needs one in a whole number (1/1000)"),
        (
            "jitter=5ms:gauss",
            "fault item jitter=5ms:gauss: no such shape (shapes: uniform, normal,"
            " pareto, paretonormal)",
        ),
        ("jitter=:normal", "fault item jitter=:normal: not a duration"),
        ("jitter=5ms:", "fault item jitter=5ms:: no such shape"),
    ],
)
def test_a_bad_new_item_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="fault item") as raised:
        FaultSpec.parse(text)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"p": 150}, "fault item p=150: a percentage is from 0 to 100"),
        ({"p": "30%"}, "fault item p='30%': not a number"),
        ({"p": math.nan}, "fault item p=nan: a percentage is from 0 to 100"),
        ({"corrupt": 0}, "fault item corrupt=0: N of 1/N is a whole number"),
        ({"corrupt": 0.001}, "fault item corrupt=0.001: N of 1/N is a whole number"),
        ({"corrupt": True}, "fault item corrupt=True: not a number"),
        ({"jitter": (0.05, "gauss")}, "fault item jitter=(0.05, 'gauss'): no such"),
        ({"jitter": (0.05,)}, "fault item jitter=(0.05,): a jitter is seconds, or"),
        ({"jitter": ("1s", "normal")}, "fault item jitter=('1s', 'normal'): not a"),
        ({"jitter": (-1.0, "normal")}, "fault item jitter=(-1.0, 'normal'): not a"),
    ],
)
def test_a_bad_python_value_is_a_value_error_naming_the_item(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match="fault item") as raised:
        FaultSpec(**values)  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


# ---- jitter's shapes: netem's definitions -----------------------------------------


def test_the_shapes_are_netems_tables() -> None:
    """Spot values of iproute2's netem/{normal,pareto,paretonormal}.c, as `t`
    (their table entries are t * 8192)."""
    assert quantile("uniform", 0.25) == -0.5
    assert quantile("normal", 0.5) == 0.0
    assert quantile("normal", NormalDist().cdf(1.0)) == pytest.approx(1.0)
    assert quantile("pareto", 0.0) == pytest.approx(-2 / 3)  # X = 1, its least
    assert quantile("pareto", 1 - 0.1) == pytest.approx((10 ** (1 / 3) - 1.5) * 4 / 3)
    assert quantile("paretonormal", 0.5) == pytest.approx(
        3 * (2 ** (1 / 3) - 1.5) * (4 / 3) / 4
    )
    for dist in ("normal", "pareto", "paretonormal"):  # netem's 16-bit ceiling
        assert quantile(dist, 1 - 1e-12) == pytest.approx(32767 / 8192)
    assert quantile("normal", 0.0) == -4.0


def _sample(dist: str, seconds: float = 1.0, count: int = 20_000) -> list[float]:
    """What `jitter=seconds:dist` adds to `count` bytes, through the stage itself."""
    stage = DelayLine(0.0, seconds, dist)
    rng = random.Random(20)
    return [stage.hold_until(0.0, rng) or 0.0 for _ in range(count)]


def test_uniform_jitter_is_zero_to_duration_as_before() -> None:
    sample = _sample("uniform")
    assert min(sample) >= 0.0
    assert max(sample) < 1.0
    assert fmean(sample) == pytest.approx(0.5, abs=0.01)
    assert quantiles(sample, n=10)[8] == pytest.approx(0.9, abs=0.01)


def test_normal_jitter_is_centred_on_half_with_half_its_spread_and_never_negative() -> (
    None
):
    sample = _sample("normal")
    assert min(sample) == 0.0
    # E[max(0, (1 + Z) / 2)] = (Phi(1) + phi(1)) / 2
    unit = NormalDist()
    assert fmean(sample) == pytest.approx((unit.cdf(1) + unit.pdf(1)) / 2, abs=0.01)
    assert sum(x == 0.0 for x in sample) / len(sample) == pytest.approx(
        unit.cdf(-1), abs=0.01
    )
    assert quantiles(sample, n=10)[8] == pytest.approx(
        (1 + unit.inv_cdf(0.9)) / 2, abs=0.02
    )


def test_pareto_jitter_has_a_floor_and_a_heavy_tail() -> None:
    sample = _sample("pareto")
    assert min(sample) >= 1 / 6 - 1e-12  # X >= 1: t >= -2/3
    assert max(sample) <= longest(1.0, "pareto") + 1e-12
    # E[min(X, c)] for Pareto(3, 1) is 1.5 - c^-2 / 2, c the ceiling (t = 4)
    ceiling = 32767 / 8192 * 3 / 4 + 1.5
    mean_t = (1.5 - ceiling**-2 / 2 - 1.5) * 4 / 3
    assert fmean(sample) == pytest.approx((1 + mean_t) / 2, abs=0.01)
    ninth_decile = (1 + (0.1 ** (-1 / 3) - 1.5) * 4 / 3) / 2
    assert quantiles(sample, n=10)[8] == pytest.approx(ninth_decile, abs=0.02)
    assert quantiles(sample, n=2)[0] == pytest.approx(
        (1 + (0.5 ** (-1 / 3) - 1.5) * 4 / 3) / 2, abs=0.01
    )


def test_paretonormal_jitter_lies_between_its_two_parts() -> None:
    sample = _sample("paretonormal")
    median = quantiles(sample, n=2)[0]
    assert median == pytest.approx(
        (1 + 3 * (2 ** (1 / 3) - 1.5) * (4 / 3) / 4) / 2, abs=0.01
    )
    assert quantiles(_sample("pareto"), n=2)[0] < median < 0.5  # normal's median


def test_a_shaped_jitter_holds_bytes_no_longer_than_it_says() -> None:
    (stage,) = build_stages(FaultSpec(delay=0.1, jitter=(0.2, "pareto")), 0.0)
    assert stage.longest_hold() == pytest.approx(0.1 + 0.1 * (1 + 32767 / 8192))
    (uniform,) = build_stages(FaultSpec(delay=0.1, jitter=0.2), 0.0)
    assert uniform.longest_hold() == pytest.approx(0.3)
    assert build_stages(FaultSpec(jitter=(0.0, "normal")), 0.0) == []


# ---- p=: a draw per client ----------------------------------------------------------


def test_p_draws_the_share_it_says_and_gives_the_rest_of_the_fault() -> None:
    spec = FaultSpec.parse("p=30%,delay=1s")
    assert spec is not None
    rng = chance_generator(7)
    given = [spec.drawn(rng) for _ in range(10_000)]
    chosen = [g for g in given if g is not None]
    assert len(chosen) / len(given) == pytest.approx(0.3, abs=0.02)
    assert {str(g) for g in chosen} == {"delay=1s"}
    assert FaultSpec.parse("p=100%,stall").drawn(rng) == FaultSpec(stall=True)  # type: ignore[union-attr]
    assert FaultSpec.parse("p=0%,stall").drawn(rng) is None  # type: ignore[union-attr]
    assert FaultSpec.parse("p=100%").drawn(rng) is None  # type: ignore[union-attr]
    plain = FaultSpec(stall=True)
    assert plain.drawn(rng) is plain


def test_the_same_seed_chooses_the_same_clients_apart_from_other_draws() -> None:
    spec = FaultSpec.parse("p=50%,delay=1s")
    assert spec is not None
    one, two = chance_generator(3), chance_generator(3)
    assert [spec.drawn(one) is None for _ in range(64)] == [
        spec.drawn(two) is None for _ in range(64)
    ]
    # Not the sequence of the faults' own generator (`Limits.rng`), seeded alike.
    assert [chance_generator(3).random() for _ in range(3)] != [
        random.Random(3).random() for _ in range(3)
    ]


def test_p_is_refused_for_one_client_and_taken_for_new_or_all() -> None:
    spec = FaultSpec.parse("p=30%,delay=50ms")
    with pytest.raises(ValueError, match=re.escape("fault item 'p' is for new")):
        check_target(7, spec)
    check_target("new", spec)
    check_target("all", spec)
    check_target(7, FaultSpec.parse("delay=50ms"))
    check_target(7, None)


# ---- named profiles -----------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_each_profile_parses_to_its_items(profile: Profile) -> None:
    name, items = profile.name, profile.items
    spec = FaultSpec.parse(name)
    assert spec is not None
    assert str(spec) == items, "a profile's items are written as str() writes them"
    assert FaultSpec.parse(name.upper()) == spec
    assert FaultSpec.parse(f"  {name} ") == spec
    assert profile.source
    assert profile.url.startswith("https://")
    assert {n for n, _ in spec.items} <= {"delay", "jitter", "rate"}, "TCP items only"


def test_the_3g_profile_is_chromes() -> None:
    assert FaultSpec.parse("3g") == FaultSpec(delay=2.0, rate=50_000)


def test_user_profiles_come_after_the_built_in_ones() -> None:
    mine = {"lunar": FaultSpec(delay=2.6), "3g": FaultSpec(stall=True)}
    assert FaultSpec.parse("lunar", profiles=mine) == FaultSpec(delay=2.6)
    assert FaultSpec.parse("LUNAR", profiles=mine) == FaultSpec(delay=2.6)
    assert FaultSpec.parse("3g", profiles=mine) == FaultSpec.parse("3g")
    with pytest.raises(ValueError, match="unknown fault item 'lunar'"):
        FaultSpec.parse("lunar")


def test_the_presets_are_written_as_their_faults_are() -> None:
    for preset in PRESETS:
        assert fault_text_of(preset.spec) == preset.spec
    assert BUILT_IN_PROFILES["3g"].items in {p.spec for p in PRESETS}


def fault_text_of(text: str) -> str:
    spec = FaultSpec.parse(text)
    return "off" if spec is None else str(spec)
