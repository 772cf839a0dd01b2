"""Tests of log_gamma_ratio, the cancellation-free log-gamma difference."""

import math

import numpy as np
import pytest
from scipy import special

from comparisons.comparators.log_gamma import log_gamma_ratio


def exact_log_gamma_ratio(x, d):
    """Return log(Gamma(x + d)/Gamma(x)) for whole x and d as a sum of logs of the factors."""
    if d >= 0:
        return math.fsum(math.log(x + i) for i in range(d))
    return -math.fsum(math.log(x + d + i) for i in range(-d))


def test_matches_sum_of_logs_for_large_arguments():
    rng = np.random.default_rng(3)
    x = np.floor(10 ** rng.uniform(0, 9.5, 400)) + 1
    d = np.round(rng.normal(0, 1, 400) * np.minimum(3 * np.sqrt(x), 2000))
    d = np.maximum(d, 1 - x)
    exact = np.array([exact_log_gamma_ratio(int(a), int(b)) for a, b in zip(x, d)])
    assert log_gamma_ratio(x, d) == pytest.approx(exact, rel=1e-13, abs=1e-12)


def test_beats_gammaln_difference_at_1e9():
    x, d = 2_000_000_000.0, 1234.0
    exact = exact_log_gamma_ratio(int(x), int(d))
    ours = log_gamma_ratio(np.array([x]), np.array([d]))[0]
    naive = special.gammaln(x + d) - special.gammaln(x)
    assert abs(ours - exact) < 1e-11
    assert abs(ours - exact) < abs(naive - exact)


def test_small_arguments_use_gammaln():
    x = np.array([1.0, 2.0, 5.0, 99.0, 150.0, 3.0])
    d = np.array([0.0, 7.0, -4.0, 300.0, -100.0, 1e6])
    expected = special.gammaln(x + d) - special.gammaln(x)
    assert log_gamma_ratio(x, d) == pytest.approx(expected, rel=1e-12)


def test_zero_shift_is_zero():
    x = np.array([1.0, 50.0, 100.0, 1e6, 1e12])
    assert list(log_gamma_ratio(x, np.zeros(5))) == [0.0] * 5


def test_broadcasts_shapes():
    result = log_gamma_ratio(np.full((2, 3), 500.0), np.array([1.0, 2.0, 3.0]))
    assert result.shape == (2, 3)
    assert result[1, 0] == pytest.approx(math.log(500.0), rel=1e-14)
