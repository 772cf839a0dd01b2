"""Tests of the beta_binomial comparator: edge cases, range handling, options and speed paths."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import special

from comparisons.comparators import beta_binomial, evaluate
from comparisons.comparators.base import EMPTY_DATA_NOTE
from comparisons.comparators.beta_binomial import (
    crop_to_filled,
    pulls_from_probability,
    relative_probabilities,
    relative_probability,
)


def gaussian_counts(rng, entries, bins=40, centre=0.0, width=1.0):
    edges = np.linspace(-4, 4, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    shape = np.exp(-0.5 * ((centres - centre) / width) ** 2)
    return rng.multinomial(entries, shape / shape.sum()).astype(np.float64), edges


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture
def histograms(rng):
    """A data histogram and two references of the same shape, 40 bins from -4 to 4."""
    data, edges = gaussian_counts(rng, 5000)
    refs = [gaussian_counts(rng, 8000)[0], gaussian_counts(rng, 3000)[0]]
    return data, refs, edges


def test_compatible_histograms_not_outlier(histograms):
    data, refs, edges = histograms
    result = beta_binomial(data, refs, edges)
    assert result.comparator == "beta_binomial"
    assert not result.is_outlier
    assert result.chi2 < 3
    assert abs(result.max_pull) < 5
    assert result.note is None
    assert result.ks is None
    assert result.p_value is None


def test_shifted_peak_is_outlier(rng, histograms):
    _, refs, edges = histograms
    shifted, _ = gaussian_counts(rng, 5000, centre=1.0)
    result = beta_binomial(shifted, refs, edges)
    assert result.is_outlier
    assert result.chi2 > 10


def test_result_fields_and_types(histograms):
    data, refs, edges = histograms
    result = beta_binomial(data, refs, edges)
    assert type(result.chi2) is float
    assert type(result.max_pull) is float
    assert type(result.n_used) is int
    assert result.thresholds == {"chi2_cut": 10.0, "pull_cut": 10.0, "min_entries": 1, "pull_cap": 10.0}
    assert result.pulls.shape == result.data_used.shape == result.reference.shape
    assert result.entries_data == data.sum()
    assert result.entries_refs == [refs[0].sum(), refs[1].sum()]
    assert result.refs_used == [0, 1]


def test_chi2_is_mean_squared_pull(histograms):
    data, refs, edges = histograms
    result = beta_binomial(data, refs, edges)
    assert result.chi2 == pytest.approx(np.sum(result.pulls**2) / result.n_used, rel=1e-12)


def test_single_reference_weighted_shape_is_scaled_reference(histograms):
    data, refs, edges = histograms
    result = beta_binomial(data, refs[:1], edges)
    lo, hi = result.bin_range
    expected = refs[0][lo : hi + 1] * data.sum() / refs[0].sum()
    assert result.reference == pytest.approx(expected, rel=1e-12)


def test_negative_contents_clamped(histograms):
    data, refs, edges = histograms
    with_negatives = data.copy()
    with_negatives[[3, 17]] = [-5.0, -120.0]
    clamped = data.copy()
    clamped[[3, 17]] = 0.0
    assert beta_binomial(with_negatives, refs, edges).chi2 == beta_binomial(clamped, refs, edges).chi2


def test_nan_and_infinite_contents_count_as_empty(histograms):
    data, refs, edges = histograms
    broken = data.copy()
    broken[[5, 20]] = [np.nan, np.inf]
    ref_broken = refs[0].copy()
    ref_broken[30] = np.nan
    emptied = data.copy()
    emptied[[5, 20]] = 0.0
    ref_emptied = refs[0].copy()
    ref_emptied[30] = 0.0
    result = beta_binomial(broken, [ref_broken, refs[1]], edges)
    assert result.chi2 == beta_binomial(emptied, [ref_emptied, refs[1]], edges).chi2
    assert np.isfinite(result.pulls).all()


def test_contents_rounded_to_whole_entries(histograms):
    data, refs, edges = histograms
    assert beta_binomial(data + 0.3, refs, edges).chi2 == beta_binomial(data, refs, edges).chi2


def test_all_references_empty_not_comparable(histograms):
    data, _, edges = histograms
    empty = np.zeros_like(data)
    assert beta_binomial(data, [empty, empty], edges) is None
    outcome = evaluate("beta_binomial", data, [empty, empty], edges)
    assert outcome.result is None
    assert outcome.reason == "all references are empty"


def test_no_reference_not_comparable(histograms):
    data, _, edges = histograms
    assert evaluate("beta_binomial", data, [], edges).reason == "no reference histogram was given"


def test_mismatched_binning_reference_dropped(histograms, rng):
    data, refs, edges = histograms
    other_binning = rng.poisson(50, 50).astype(np.float64)
    result = beta_binomial(data, [other_binning, refs[0]], edges)
    assert result.refs_used == [1]
    assert result.chi2 == beta_binomial(data, [refs[0]], edges).chi2
    assert result.entries_refs == [other_binning.sum(), refs[0].sum()]


def test_no_reference_with_data_binning_not_comparable(histograms):
    data, _, edges = histograms
    refs = [np.ones(50), np.ones(50)]
    assert beta_binomial(data, refs, edges) is None
    reason = evaluate("beta_binomial", data, refs, edges).reason
    assert reason == "no reference has the same binning as the data (data 40 bins; references 50, 50)"


def test_only_empty_references_with_data_binning(histograms):
    data, _, edges = histograms
    reason = evaluate("beta_binomial", data, [np.ones(50), np.zeros(40)], edges).reason
    assert reason == "all references with the same binning as the data are empty"


def test_empty_data_is_outlier_with_note(histograms):
    _, refs, edges = histograms
    result = beta_binomial(np.zeros(40), refs, edges)
    assert result.is_outlier
    assert result.note == EMPTY_DATA_NOTE == "data histogram is empty while the references have entries"
    assert result.chi2 == 0.0
    assert result.max_pull == 0.0
    assert result.entries_data == 0.0


def test_empty_data_and_empty_references_not_comparable():
    outcome = evaluate("beta_binomial", np.zeros(10), [np.zeros(10)])
    assert outcome.result is None
    assert outcome.reason == "all references are empty"


def test_below_min_entries_not_outlier_with_note(rng, histograms):
    _, refs, edges = histograms
    shifted, _ = gaussian_counts(rng, 5000, centre=1.0)
    result = beta_binomial(shifted, refs, edges, min_entries=100000)
    assert not result.is_outlier
    assert result.chi2 > 10
    assert result.note == "fewer entries (5000) than min_entries (100000)"
    assert result.thresholds["min_entries"] == 100000


def test_cuts_from_options(histograms):
    data, refs, edges = histograms
    result = beta_binomial(data, refs, edges, chi2_cut=0.01, pull_cut=None, pull_cap=3)
    assert result.is_outlier
    assert result.thresholds == {"chi2_cut": 0.01, "pull_cut": 10.0, "min_entries": 1, "pull_cap": 3.0}


def test_unknown_options_ignored(histograms):
    data, refs, edges = histograms
    plain = beta_binomial(data, refs, edges)
    with_extra = beta_binomial(data, refs, edges, norm_type="row", ks_cut=0.5, plot_title="x", logy=True)
    assert with_extra.chi2 == plain.chi2


def test_invalid_cut_raises(histograms):
    data, refs, edges = histograms
    with pytest.raises(ValueError, match="chi2_cut"):
        beta_binomial(data, refs, edges, chi2_cut="high")


def test_larger_tolerance_lowers_chi2(rng):
    data, edges = gaussian_counts(rng, 2_000_000)
    ref, _ = gaussian_counts(rng, 2_000_000, width=1.02)
    strict = beta_binomial(data, [ref], edges, tol=0.001)
    loose = beta_binomial(data, [ref], edges, tol=0.05)
    assert loose.chi2 < strict.chi2


def test_relative_probability_floor_and_cap():
    p = relative_probability(np.array([0.5, 0.0, -1.0, -800.0, -np.inf]))
    assert p == pytest.approx([1.0, 1.0, np.exp(-1.0), 1e-300, 1e-300], rel=1e-15)


def test_relative_probability_zero_p_max_floored():
    # P_max = 0 shows up as an infinite or undefined log ratio; p counts as 0, then floored.
    p = relative_probability(np.array([np.inf, np.nan]))
    assert list(p) == [1e-300, 1e-300]


def test_floored_probability_gives_finite_pull():
    pulls = pulls_from_probability(np.array([0.0, 10.0]), np.array([5.0, 5.0]), np.array([1e-300, 1e-300]))
    assert pulls == pytest.approx([-37.0658, 37.0658], rel=1e-5)


def test_pull_quantile_matches_chdtri():
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(0, 1, 2000), 10 ** rng.uniform(-300, 0, 2000), [1.0, 0.5, 1e-300]])
    data, expected = np.ones_like(p), np.zeros_like(p)
    pulls = pulls_from_probability(data, expected, p)
    assert pulls == pytest.approx(np.sqrt(special.chdtri(1, p)), rel=1e-13, abs=1e-300)


def test_single_bin():
    result = beta_binomial(np.array([5.0]), [np.array([7.0])])
    assert result.n_used == 1
    assert result.chi2 == 0.0
    assert result.max_pull == 0.0
    assert result.bin_range == (0, 0)
    assert not result.is_outlier


def test_two_dimensional(rng):
    shape = np.outer(np.exp(-np.linspace(-2, 2, 12) ** 2), np.linspace(1, 2, 7)).ravel()
    shape /= shape.sum()
    data = rng.multinomial(20000, shape).reshape(12, 7).astype(np.float64)
    refs = [rng.multinomial(30000, shape).reshape(12, 7).astype(np.float64) for _ in range(3)]
    result = beta_binomial(data, refs, xmin=0.5)
    assert result.pulls.shape == (12, 7)
    assert result.reference.shape == (12, 7)
    assert result.bin_range is None
    assert result.n_used == int(np.count_nonzero(data + sum(refs)))
    assert not result.is_outlier

    hot = data.copy()
    hot[4, 3] += 3000
    assert beta_binomial(hot, refs).is_outlier


def test_two_dimensional_binning_mismatch_reason():
    reason = evaluate("beta_binomial", np.ones((4, 5)), [np.ones((4, 6))]).reason
    assert reason == "no reference has the same binning as the data (data 4x5 bins; references 4x6)"


def test_three_dimensional_not_comparable():
    reason = evaluate("beta_binomial", np.ones((2, 2, 2)), [np.ones((2, 2, 2))]).reason
    assert reason == "3D histogram: beta_binomial compares 1D and 2D histograms only"


def test_huge_counts_stay_finite_and_calm(rng):
    data, edges = gaussian_counts(rng, 2_000_000_000)
    ref, _ = gaussian_counts(rng, 3_000_000_000)
    result = beta_binomial(data, [ref], edges)
    assert np.isfinite(result.pulls).all()
    assert not result.is_outlier

    shifted, _ = gaussian_counts(rng, 2_000_000_000, centre=0.05)
    assert beta_binomial(shifted, [ref], edges).is_outlier


def _gamma_quotient(x, y):
    """Return Gamma(y)/Gamma(x) exactly, for positive whole numbers x and y."""
    if y >= x:
        return Fraction(math.prod(range(x, y)))
    return Fraction(1, math.prod(range(y, x)))


def _exact_relative_probability(data, ref, tol=0.01):
    """Return P(D)/P_max per bin with the beta-binomial pmf in exact rational arithmetic."""
    n, total = int(data.sum()), ref.sum()
    ratios = []
    for content, ref_content in zip(data.astype(int), ref):
        scale = 1 / np.sqrt(1 + (ref_content * tol**2) ** 2)
        alpha = int(np.round(ref_content * scale)) + 1
        beta = int(np.round(total * scale)) - alpha + 2
        expected = n * ref_content / total
        candidates = {min(math.ceil(expected), n), max(math.floor(expected), 0)}
        ratio = min(
            _gamma_quotient(k + alpha, content + alpha)
            * _gamma_quotient(n - k + beta, n - content + beta)
            * _gamma_quotient(content + 1, k + 1)
            * _gamma_quotient(n - content + 1, n - k + 1)
            for k in candidates
        )
        ratios.append(float(min(ratio, 1)))
    return np.array(ratios)


def test_huge_counts_match_exact_ratio():
    # Totals of about 1e9: a difference of two gammaln values would lose 1e-5.
    ref = np.array([999_500_000, 300_000, 150_000, 50_000, 7], dtype=np.float64)
    data = np.array([1_199_399_200, 360_500, 179_000, 60_400, 20], dtype=np.float64)
    p = relative_probabilities(data, ref[np.newaxis, :], tol=0.01)[0]
    exact = _exact_relative_probability(data, ref)
    assert exact.min() > 1e-250
    assert p == pytest.approx(exact, rel=1e-9)


def test_large_bin_count_is_vectorised(rng):
    data, edges = gaussian_counts(rng, 10_000_000, bins=5000)
    refs = [gaussian_counts(rng, 10_000_000, bins=5000)[0] for _ in range(4)]
    result = beta_binomial(data, refs, edges)
    assert result.pulls.shape == result.data_used.shape
    assert not result.is_outlier


def test_xmin_xmax_cut_bins(rng):
    data, edges = gaussian_counts(rng, 4000, bins=16)
    ref, _ = gaussian_counts(rng, 4000, bins=16)
    # Edges are -4, -3.5, ..., 4: low edges >= -1.2 start at bin 6 (-1.0), <= 2.1 end at bin 12 (2.0).
    result = beta_binomial(data, [ref], edges, xmin=-1.2, xmax=2.1)
    assert result.bin_range == (6, 12)
    assert result.data_used == pytest.approx(data[6:13])
    assert result.entries_data == data[6:13].sum()
    assert result.entries_refs == [ref[6:13].sum()]


def test_xmin_beyond_last_bin_ignored(rng):
    data, edges = gaussian_counts(rng, 4000, bins=16)
    ref, _ = gaussian_counts(rng, 4000, bins=16)
    assert beta_binomial(data, [ref], edges, xmin=3.6).bin_range == (0, 15)
    assert beta_binomial(data, [ref], edges, xmax=-3.6).bin_range == (0, 15)


def test_range_emptying_data_ignored():
    edges = np.arange(11.0)
    data = np.array([5, 9, 4, 0, 0, 0, 0, 0, 0, 0], dtype=np.float64)
    ref = np.array([6, 8, 5, 1, 1, 0, 0, 0, 0, 0], dtype=np.float64)
    result = beta_binomial(data, [ref], edges, xmin=4.0)
    assert result.bin_range == (0, 9)
    assert result.n_used == 5


def test_range_emptying_references_ignored():
    edges = np.arange(11.0)
    data = np.array([5, 9, 4, 0, 0, 0, 0, 0, 0, 3], dtype=np.float64)
    ref = np.array([6, 8, 5, 1, 1, 0, 0, 0, 0, 0], dtype=np.float64)
    assert beta_binomial(data, [ref], edges, xmin=5.0).bin_range == (0, 9)


def test_range_cut_drops_reference_left_empty():
    edges = np.arange(11.0)
    data = np.array([5, 9, 4, 0, 0, 0, 2, 3, 1, 0], dtype=np.float64)
    inside = np.array([6, 8, 5, 1, 1, 0, 3, 2, 2, 0], dtype=np.float64)
    outside = np.array([6, 8, 5, 0, 0, 0, 0, 0, 0, 0], dtype=np.float64)
    result = beta_binomial(data, [outside, inside], edges, xmin=5.0)
    assert result.bin_range == (5, 9)
    assert result.refs_used == [1]
    assert result.entries_refs == [outside.sum(), inside[5:].sum()]


def test_range_needs_edges():
    with pytest.raises(ValueError, match="bin edges"):
        beta_binomial(np.ones(10), [np.ones(10)], xmin=2.0)


def test_three_bins_ignore_range():
    result = beta_binomial(np.array([3.0, 4.0, 5.0]), [np.array([3.0, 5.0, 4.0])], [0, 1, 2, 3], xmin=1.5)
    assert result.bin_range == (0, 2)


def test_edges_of_wrong_length_raise():
    with pytest.raises(ValueError, match="expected 11"):
        beta_binomial(np.ones(10), [np.ones(10)], np.arange(12.0))


def test_crop_margin_of_one_bin():
    counts = np.zeros(50)
    counts[30:36] = 1.0
    # hi = max(min(35 + 1, 50), 20) = 36, lo = min(max(30 - 1, 0), 36 - 20) = 16.
    assert crop_to_filled(counts) == (16, 37)


def test_crop_keeps_at_least_20_bins():
    counts = np.zeros(50)
    counts[10:16] = 1.0
    assert crop_to_filled(counts) == (0, 21)


def test_crop_at_histogram_end():
    counts = np.zeros(50)
    counts[45:] = 1.0
    assert crop_to_filled(counts) == (30, 50)


def test_crop_skipped_below_20_bins():
    counts = np.zeros(19)
    counts[8] = 1.0
    assert crop_to_filled(counts) == (0, 19)


def test_crop_reported_in_bin_range(rng):
    data = np.zeros(100)
    ref = np.zeros(100)
    data[40:60] = rng.poisson(100, 20)
    ref[40:60] = rng.poisson(100, 20)
    result = beta_binomial(data, [ref], np.linspace(0, 1, 101))
    assert result.bin_range == (39, 60)
    assert len(result.data_used) == 22


def test_concatenated_skips_range_and_crop(rng):
    data = np.zeros(100)
    ref = np.zeros(100)
    data[40:60] = rng.poisson(100, 20)
    ref[40:60] = rng.poisson(100, 20)
    edges = np.linspace(0, 1, 101)
    result = beta_binomial(data, [ref], edges, xmin=0.45, concatenated=True)
    assert result.bin_range == (0, 99)
    assert len(result.data_used) == 100
    assert result.n_used == 20
    cropped = beta_binomial(data, [ref], edges, xmin=0.45)
    assert cropped.bin_range[0] == 45


def test_display_pulls_clip_and_blank(rng):
    data = np.array([0, 0, 500, 10, 12, 11], dtype=np.float64)
    ref = np.array([0, 5, 10, 10, 12, 11], dtype=np.float64)
    result = beta_binomial(data, [ref])
    drawn = result.display_pulls()
    assert np.isnan(drawn[0])
    assert drawn[2] == 10.0
    assert np.nanmax(np.abs(drawn)) <= 10.0
    assert result.pulls[2] > 10.0
