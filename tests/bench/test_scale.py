"""The scale curve's crossover: where graalvisor's ratio to the baseline falls to 1."""

from __future__ import annotations

import math

from bench.scale import crossover


def test_crossover_interpolates_in_log_count_between_the_sizes_around_it() -> None:
    x = crossover([(40, 4.0), (200, 2.0), (400, 0.5)])
    assert x is not None and 200 < x < 400
    # The ratio, linear between the sizes, goes 2.0 -> 0.5: it is 1 two thirds of the way (in log count).
    assert math.isclose(x, math.exp(math.log(200) + (2 / 3) * math.log(2)), rel_tol=1e-9)


def test_crossover_at_the_first_size_or_never() -> None:
    assert crossover([(40, 0.8), (200, 0.5)]) == 40
    assert crossover([(40, 3.0), (200, 2.0), (400, 1.5)]) is None
    assert crossover([]) is None
    assert crossover([(40, math.nan), (200, 0.9)]) == 200
