"""Tests of the binned Kolmogorov-Smirnov comparator."""

import numpy as np
import pytest
from scipy import special

from comparisons.comparators import evaluate, ks_test


def gaussian_counts(rng, entries, centre=0.0, bins=60):
    centres = np.linspace(-6, 6, bins)
    shape = np.exp(-0.5 * (centres - centre) ** 2)
    return rng.multinomial(entries, shape / shape.sum()).astype(np.float64)


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_statistic_by_hand():
    data = np.array([1.0, 2.0, 1.0])
    ref = np.array([2.0, 1.0, 1.0])
    result = ks_test(data, [ref])
    # Cumulative fractions: data 0.25, 0.75, 1; reference 0.5, 0.75, 1.
    assert result.ks == pytest.approx(0.25, rel=1e-15)
    assert result.p_value == pytest.approx(special.kolmogorov(0.25 * np.sqrt(4 * 4 / 8)), rel=1e-15)
    assert result.chi2 is None
    assert result.max_pull is None


def test_shifted_peak_scores_higher_than_noise(rng):
    # The historical unbinned test on lists of bin heights ranked these the other way round.
    ref = gaussian_counts(rng, 200_000)
    noisy = gaussian_counts(rng, 200_000)
    shifted = gaussian_counts(rng, 200_000, centre=0.5)
    noise_result = ks_test(noisy, [ref])
    shift_result = ks_test(shifted, [ref])
    assert shift_result.ks > 10 * noise_result.ks
    assert shift_result.is_outlier
    assert not noise_result.is_outlier
    assert shift_result.p_value < noise_result.p_value


def test_result_fields(rng):
    data = gaussian_counts(rng, 20_000)
    ref = gaussian_counts(rng, 40_000)
    result = ks_test(data, [ref], np.linspace(-6, 6, 61))
    assert type(result.ks) is float
    assert type(result.p_value) is float
    assert 0 <= result.p_value <= 1
    assert result.thresholds == {"ks_cut": 0.1, "min_entries": 10000}
    assert result.reference.sum() == pytest.approx(data.sum(), rel=1e-12)
    assert result.bin_range == (0, 59)
    assert result.entries_data == 20_000
    assert result.entries_refs == [40_000]


def test_ks_cut_option(rng):
    data = gaussian_counts(rng, 20_000)
    ref = gaussian_counts(rng, 20_000, centre=0.2)
    assert not ks_test(data, [ref]).is_outlier
    assert ks_test(data, [ref], ks_cut=0.01).is_outlier


def test_below_min_entries_note(rng):
    data = gaussian_counts(rng, 500, centre=2.0)
    ref = gaussian_counts(rng, 20_000)
    result = ks_test(data, [ref])
    assert result.ks > 0.1
    assert not result.is_outlier
    assert result.note == "fewer entries (500) than min_entries (10000)"


def test_empty_data_is_outlier(rng):
    result = ks_test(np.zeros(60), [gaussian_counts(rng, 1000)])
    assert result.is_outlier
    assert result.ks is None
    assert result.p_value is None
    assert result.note == "data histogram is empty while the references have entries"


def test_two_dimensional_not_comparable():
    assert ks_test(np.ones((3, 4)), [np.ones((3, 4))]) is None
    reason = evaluate("ks_test", np.ones((3, 4)), [np.ones((3, 4))]).reason
    assert reason == "2D histogram: ks_test compares 1D histograms only"


def test_first_usable_reference_used(rng):
    data = gaussian_counts(rng, 20_000)
    ref = gaussian_counts(rng, 20_000)
    result = ks_test(data, [np.zeros(60), ref, np.ones(60)])
    assert result.refs_used == [1]
    assert result.ks == ks_test(data, [ref]).ks


def test_negative_contents_clamped():
    data = np.array([1.0, -3.0, 2.0, 1.0])
    ref = np.array([1.0, 1.0, 1.0, 1.0])
    assert ks_test(data, [ref]).ks == ks_test(np.array([1.0, 0.0, 2.0, 1.0]), [ref]).ks


def test_all_references_empty(rng):
    outcome = evaluate("ks_test", gaussian_counts(rng, 100), [np.zeros(60)])
    assert outcome.result is None
    assert outcome.reason == "all references are empty"
