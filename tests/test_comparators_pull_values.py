"""Tests of the pull_values comparator for 2D histograms."""

import numpy as np
import pytest
from scipy import stats

from comparisons.comparators import evaluate, pull_values
from comparisons.comparators.pull_values import compute_pulls, normalise, poisson_errors


@pytest.fixture
def histograms():
    rng = np.random.default_rng(99)
    shape = np.outer(np.linspace(1, 3, 10), np.exp(-np.linspace(-2, 2, 8) ** 2))
    data = rng.poisson(shape * 400).astype(np.float64)
    ref = rng.poisson(shape * 500).astype(np.float64)
    return data, ref


def test_similar_histograms_not_outlier(histograms):
    data, ref = histograms
    result = pull_values(data, [ref])
    assert result.comparator == "pull_values"
    assert not result.is_outlier
    assert result.chi2 < 3
    assert 0 <= result.max_pull < 6
    assert result.thresholds == {"chi2_cut": 500.0, "pull_cut": 20.0, "min_entries": 10000, "pull_cap": 25.0}
    assert result.pulls.shape == (10, 8)
    assert result.bin_range is None
    assert result.n_used is None


def test_hot_bin_is_outlier(histograms):
    data, ref = histograms
    hot = data.copy()
    hot[3, 4] += 50_000
    result = pull_values(hot, [ref])
    assert result.is_outlier
    assert result.max_pull > 20


def test_only_first_usable_reference_used(histograms):
    data, ref = histograms
    result = pull_values(data, [np.ones((3, 3)), np.zeros((10, 8)), ref, ref * 3])
    assert result.refs_used == [2]
    assert result.chi2 == pull_values(data, [ref]).chi2
    assert result.entries_refs == [9.0, 0.0, ref.sum(), 3 * ref.sum()]


def test_identical_shapes_give_zero_pulls(histograms):
    _, ref = histograms
    result = pull_values(ref * 2, [ref])
    assert result.chi2 == pytest.approx(0.0, abs=1e-20)
    assert result.max_pull == pytest.approx(0.0, abs=1e-10)


def test_normalise_all_matches_totals(histograms):
    data, ref = histograms
    assert normalise(data, ref, "all").sum() == pytest.approx(ref.sum(), rel=1e-12)


def test_normalise_row_matches_sums_over_x(histograms):
    data, ref = histograms
    assert normalise(data, ref, "row").sum(axis=0) == pytest.approx(ref.sum(axis=0), rel=1e-12)


def test_normalise_col_matches_sums_over_y(histograms):
    data, ref = histograms
    assert normalise(data, ref, "col").sum(axis=1) == pytest.approx(ref.sum(axis=1), rel=1e-12)


def test_normalise_leaves_empty_slice_unscaled():
    data = np.array([[0.0, 2.0], [0.0, 4.0]])
    ref = np.array([[5.0, 1.0], [5.0, 2.0]])
    assert normalise(data, ref, "row") == pytest.approx(np.array([[0.0, 1.0], [0.0, 2.0]]))
    assert normalise(np.zeros((2, 2)), ref, "all") == pytest.approx(np.zeros((2, 2)))


def test_poisson_errors_of_known_content():
    lo, hi = stats.chi2.interval(0.6827, 2 * 10.0)
    below, above = poisson_errors(np.array([10.0, 0.0]))
    assert below[0] == pytest.approx(abs(lo / 2 - 1 - 10.0), rel=1e-12)
    assert above[0] == pytest.approx(abs(hi / 2 - 1 - 10.0), rel=1e-12)
    assert below[1] == 0.0
    assert above[1] == 0.0


def test_pulls_zero_where_both_empty():
    pulls = compute_pulls(np.array([[0.0, 3.0]]), np.array([[0.0, 1.0]]))
    assert pulls[0, 0] == 0.0
    assert pulls[0, 1] > 0


def test_pull_uses_errors_facing_each_other():
    data, ref = np.array([[20.0]]), np.array([[10.0]])
    data_below, _ = poisson_errors(data)
    _, ref_above = poisson_errors(ref)
    expected = 10.0 / np.sqrt(data_below[0, 0] ** 2 + ref_above[0, 0] ** 2)
    assert compute_pulls(data, ref)[0, 0] == pytest.approx(expected, rel=1e-12)


def test_invalid_norm_type_raises(histograms):
    data, ref = histograms
    with pytest.raises(ValueError, match="norm_type"):
        pull_values(data, [ref], norm_type="diagonal")


def test_one_dimensional_not_comparable():
    assert pull_values(np.ones(10), [np.ones(10)]) is None
    reason = evaluate("pull_values", np.ones(10), [np.ones(10)]).reason
    assert reason == "1D histogram: pull_values compares 2D histograms only"


def test_negative_and_nan_contents_count_as_empty(histograms):
    data, ref = histograms
    broken = data.copy()
    broken[0, 0], broken[1, 1] = -40.0, np.nan
    cleaned = data.copy()
    cleaned[0, 0] = cleaned[1, 1] = 0.0
    assert pull_values(broken, [ref]).chi2 == pull_values(cleaned, [ref]).chi2


def test_empty_data_is_outlier_with_note(histograms):
    _, ref = histograms
    result = pull_values(np.zeros((10, 8)), [ref])
    assert result.is_outlier
    assert result.note == "data histogram is empty while the references have entries"


def test_below_min_entries_note(histograms):
    data, ref = histograms
    hot = data.copy()
    hot[3, 4] += 50_000
    result = pull_values(hot, [ref], min_entries=10**7)
    assert not result.is_outlier
    assert result.note == f"fewer entries ({int(hot.sum())}) than min_entries (10000000)"


def test_display_pulls_blank_empty_bins():
    data = np.array([[0.0, 100.0], [5.0, 7.0]])
    ref = np.array([[0.0, 1.0], [5.0, 7.0]])
    result = pull_values(data, [ref], norm_type="row")
    drawn = result.display_pulls()
    assert np.isnan(drawn[0, 0])
    assert np.nanmax(np.abs(drawn)) <= 25.0
