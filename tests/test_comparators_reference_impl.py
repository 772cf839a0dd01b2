"""Cross-checks of beta_binomial against the literal scipy.stats implementation."""


import numpy as np
import pytest
from scipy import stats

from comparisons.comparators import beta_binomial
from comparisons.comparators import reference_impl
from comparisons.comparators.reference_impl import beta_binomial_direct

# Large entries and bins: beyond 1e6 entries per histogram, scipy's
# betabinom.pmf itself loses precision (differences of large betaln values),
# so the cross-check stays at or below that.
CASES = [
    # (seed, shape, data entries, reference entries)
    (1, (60,), 2_000, [3_000]),
    (2, (60,), 50_000, [40_000, 60_000, 55_000]),
    (3, (200,), 1_000_000, [1_000_000, 800_000]),
    (4, (25,), 30, [45, 20, 80, 10, 60]),
    (5, (12, 9), 20_000, [25_000, 15_000]),
    (6, (40, 30), 1_000_000, [900_000, 1_100_000, 1_000_000]),
    (7, (3,), 10, [12]),
]


def random_histograms(seed, shape, data_entries, ref_entries):
    """Data and references drawn from slightly different smooth shapes, with some empty bins."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    base = np.exp(-np.linspace(-3, 3, size) ** 2) + 0.05
    base[rng.uniform(size=size) < 0.1] = 0.0

    def draw(entries, wobble):
        weights = base * (1 + wobble * rng.normal(size=size)).clip(0.1)
        return rng.multinomial(entries, weights / weights.sum()).reshape(shape).astype(np.float64)

    return draw(data_entries, 0.05), [draw(entries, 0.02) for entries in ref_entries]


@pytest.mark.parametrize("seed, shape, data_entries, ref_entries", CASES)
def test_fast_matches_direct(seed, shape, data_entries, ref_entries):
    data, refs = random_histograms(seed, shape, data_entries, ref_entries)
    edges = np.linspace(0, 1, shape[0] + 1)
    fast = beta_binomial(data, refs, edges)
    direct = beta_binomial_direct(data, refs, edges)

    assert fast.n_used == direct.n_used
    assert fast.bin_range == direct.bin_range
    assert fast.is_outlier == direct.is_outlier
    assert fast.chi2 == pytest.approx(direct.chi2, rel=1e-6)
    # A corrected max pull near 0 comes from 1 - (1 - q)**n close to 1, where
    # the last bits of q decide. The abs tolerance covers that case.
    assert fast.max_pull == pytest.approx(direct.max_pull, rel=1e-6, abs=1e-9)
    assert fast.pulls == pytest.approx(direct.pulls, rel=1e-6, abs=1e-7)
    assert fast.reference == pytest.approx(direct.reference, rel=1e-6)
    assert fast.entries_refs == direct.entries_refs


def test_outlier_case_matches_direct():
    data, refs = random_histograms(11, (80,), 100_000, [100_000, 120_000])
    data[30:34] *= 1.5
    fast = beta_binomial(data, refs)
    direct = beta_binomial_direct(data, refs)
    assert fast.is_outlier and direct.is_outlier
    assert fast.chi2 == pytest.approx(direct.chi2, rel=1e-6)
    assert fast.max_pull == pytest.approx(direct.max_pull, rel=1e-6)


def test_options_reach_direct():
    data, refs = random_histograms(12, (30,), 5_000, [6_000])
    edges = np.linspace(-3, 3, 31)
    options = {"xmin": -1.0, "xmax": 2.0, "tol": 0.05, "min_entries": 10}
    fast = beta_binomial(data, refs, edges, **options)
    direct = beta_binomial_direct(data, refs, edges, **options)
    assert fast.bin_range == direct.bin_range
    assert fast.chi2 == pytest.approx(direct.chi2, rel=1e-6)


def test_direct_not_comparable_returns_none():
    assert beta_binomial_direct(np.ones(5), [np.zeros(5)]) is None


def test_direct_zero_p_max_floored(monkeypatch):
    # Should scipy's pmf underflow to 0 at the most likely content, p counts as
    # 0 and is floored at 1e-300, the largest pull the method can give.
    monkeypatch.setattr(reference_impl.stats, "betabinom", _ZeroPmf())
    result = beta_binomial_direct(np.array([3.0, 9.0, 5.0]), [np.array([4.0, 4.0, 4.0])])
    limit = np.sqrt(stats.chi2.isf(1e-300, 1))
    assert np.abs(result.pulls) == pytest.approx([limit] * 3)


class _ZeroPmf:
    @staticmethod
    def pmf(k, n, a, b):
        return np.zeros(np.broadcast(k, n, a, b).shape)
