"""The shapes of `jitter`: tc netem's distributions, and how DURATION maps onto them.

netem adds `mu + sigma * t` to a packet's time, `t` drawn from its distribution
(iproute2's netem/*.c make the tables, the kernel's `tabledist` combines them):

- `uniform`: `t` uniform in -1..1 (netem's default, no table);
- `normal`: `t` standard normal (netem/normal.c);
- `pareto`: `t = (X - 1.5) * 4/3`, `X` Pareto with shape 3 and minimum 1 (mean 1.5),
  so `t` is at least -2/3 and has a heavy tail (netem/pareto.c);
- `paretonormal`: `(normal + 3 * pareto) / 4` of the same quantile, one draw for
  both (netem/paretonormal.c).

netem's tables hold `t` scaled by 8192 in 16 bits, so `t` is at most 32767/8192
(about 4) either way; the same bound holds here.

`jitter=DURATION:DIST` is that with `mu = sigma = DURATION/2`, and never below zero
(a `delay` stays a floor): `uniform` is 0..DURATION, as it always was; `normal` is
centred on DURATION/2 with a standard deviation of DURATION/2 (a sixth of the
draws, those below zero, add nothing); `pareto` adds at least DURATION/6, less
than 0.34 x DURATION half of the time, more than 0.94 x DURATION one time in ten,
and netem's ceiling, 2.5 x DURATION, about one time in 90; `paretonormal` lies
between the two. Every shape adds at most 2.5 x DURATION but `uniform` (DURATION).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import NamedTuple

UNIFORM = "uniform"
DISTRIBUTIONS: tuple[str, ...] = (UNIFORM, "normal", "pareto", "paretonormal")
"""The shapes `jitter` takes, `uniform` (the default) first."""

_T_MOST = 32767 / 8192
"""The largest `t` netem's 16-bit tables hold (scaled by NETEM_DIST_SCALE, 8192)."""
_T_LEAST = -32768 / 8192
_PARETO_SHAPE = 3.0
_STANDARD = NormalDist()
_TINY = 1e-300
"""Stands for a draw of exactly 0, which has no normal quantile."""


class Jitter(NamedTuple):
    """A `jitter` of a shape other than uniform: `Jitter(0.05, "pareto")`.

    `FaultSpec(jitter=0.05)` is the uniform one (its value stays a float);
    `FaultSpec(jitter=Jitter(0.05, "pareto"))` or `jitter=(0.05, "pareto")` another.
    """

    seconds: float
    dist: str


def quantile(dist: str, q: float) -> float:
    """netem's `t` for the draw `q` (0 <= q < 1) of shape `dist`, within netem's
    table bounds."""
    return min(max(_T_OF[dist](q), _T_LEAST), _T_MOST)


def _uniform(q: float) -> float:
    return 2.0 * q - 1.0


def _normal(q: float) -> float:
    return _STANDARD.inv_cdf(max(q, _TINY))


def _pareto(q: float) -> float:
    # (1 - q) ** (-1/3) is Pareto(3) with minimum 1; it is 1.5 on average.
    return (math.pow(1.0 - q, -1.0 / _PARETO_SHAPE) - 1.5) * (4.0 / 3.0)


def _paretonormal(q: float) -> float:
    # the two tables' values of the same index, 1:3
    return (_normal(q) + 3.0 * _pareto(q)) / 4.0


_T_OF: dict[str, Callable[[float], float]] = {
    UNIFORM: _uniform,
    "normal": _normal,
    "pareto": _pareto,
    "paretonormal": _paretonormal,
}
"""Each shape's `t` for the draw `q`, before netem's table bounds."""


def sampler(seconds: float, dist: str) -> Callable[[float], float]:
    """What a `jitter=seconds:dist` adds for the draw `q` (0 <= q < 1): never below
    zero. Made once per stage: a delayed client draws once per message."""
    half, t_of = seconds / 2.0, _T_OF[dist]

    def extra(q: float) -> float:
        return max(0.0, half + half * min(max(t_of(q), _T_LEAST), _T_MOST))

    return extra


def longest(seconds: float, dist: str) -> float:
    """The most a `jitter=seconds:dist` may add."""
    return seconds if dist == UNIFORM else seconds / 2.0 * (1.0 + _T_MOST)
