"""The beta-binomial comparator, AutoDQM's main test, for 1D and 2D histograms.

Method (the beta-binomial comparator of AutoDQM, the CMS DQM tool): given one
reference bin holding R of N_R entries, the chance that a data entry falls
into the bin has a Beta(R+1, N_R-R+1) posterior, which makes the data content
beta-binomial with n = N_D. A bin's probability relative to the most likely
content, averaged over the references, becomes a pull through the chi-square
distribution with one degree of freedom.

The ratio P(D)/P_max is evaluated in log space for all bins and references
at once, as differences of log-gamma values (`log_gamma_ratio`). The binomial
coefficient's n! and the beta function of the prior cancel in the ratio, and
the ratio stays finite where the probabilities themselves underflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .base import (
    ComparatorResult,
    NotComparable,
    as_float,
    check_dimensions,
    check_edges,
    clean_contents,
    comparator_entry_point,
    entries_note,
    reference_entries,
    select_references,
)
from .log_gamma import log_gamma_ratio
from .options import resolve_thresholds

NAME = "beta_binomial"
P_FLOOR = 1e-300  # probabilities are floored here, so every pull stays finite (|pull| <= 37.1)
PULL_LIMIT = 37.0  # beyond about 37 the chi-square tail probability underflows double precision
MIN_CROP_BINS = 20
BLOCK_VALUES = 4096


@dataclass
class Prepared:
    """Data and references ready for scoring, with where the kept bins lie in the input."""

    data: np.ndarray
    refs: np.ndarray  # shape (number of references, *data.shape)
    ref_indices: list[int]
    bin_range: tuple[int, int] | None
    all_refs: list[np.ndarray]  # every reference passed in, cleaned and rounded

    def entries_refs(self) -> list[float]:
        used_totals = self.refs.reshape(len(self.refs), -1).sum(axis=1)
        return reference_entries(self.all_refs, self.ref_indices, used_totals)


def prepare(data, refs, edges=None, *, xmin=None, xmax=None, concatenated=False) -> Prepared:
    """Clean, round, select references and cut the range of a histogram.

    Raises NotComparable with the reason when no reference can be used, and
    ValueError when `xmin` or `xmax` is given for a 1D histogram without edges.
    """
    data = np.round(clean_contents(data))
    check_dimensions(NAME, data, (1, 2))
    all_refs = [np.round(clean_contents(ref)) for ref in refs or ()]
    edges = check_edges(data, edges)
    refs, ref_indices = select_references(data, all_refs)
    refs = np.stack(refs)

    if data.ndim == 2 or concatenated:
        bin_range = None if data.ndim == 2 else (0, len(data) - 1)
        return Prepared(data, refs, ref_indices, bin_range, all_refs)

    start, stop, refs, ref_indices = cut_range(data, refs, ref_indices, edges, xmin, xmax)
    data, refs = data[start:stop], refs[:, start:stop]
    lo, hi = crop_to_filled(data + refs.sum(axis=0))
    return Prepared(data[lo:hi], refs[:, lo:hi], ref_indices, (start + lo, start + hi - 1), all_refs)


def cut_range(data, refs, ref_indices, edges, xmin, xmax):
    """Return the slice of bins inside [xmin, xmax] and the references left with entries.

    Bins whose low edge is below `xmin` or above `xmax` are dropped. The full
    range is kept when the histogram has 3 bins or fewer, and when the cut
    would leave the data or every reference empty.
    """
    full = (0, len(data), refs, ref_indices)
    if (xmin is None and xmax is None) or len(data) <= 3:
        return full
    if edges is None:
        msg = "xmin and xmax need the bin edges of the histogram"
        raise ValueError(msg)

    low_edges = edges[:-1]
    keep = np.ones(len(data), dtype=bool)
    if xmin is not None and xmin < low_edges[-1]:
        keep &= low_edges >= xmin
    if xmax is not None and xmax > edges[1]:
        keep &= low_edges <= xmax
    inside = np.flatnonzero(keep)
    if inside.size == 0:
        return full

    start, stop = int(inside[0]), int(inside[-1]) + 1
    ref_totals = refs[:, start:stop].sum(axis=1)
    if data[start:stop].sum() == 0 or not ref_totals.any():
        return full
    filled = ref_totals > 0
    return start, stop, refs[filled], [i for i, f in zip(ref_indices, filled) if f]


def crop_to_filled(filled_counts: np.ndarray) -> tuple[int, int]:
    """Return the slice keeping the filled bins, one empty bin either side and at least 20 bins."""
    nb = len(filled_counts)
    if nb < MIN_CROP_BINS:
        return 0, nb
    filled = np.flatnonzero(filled_counts > 0)
    first, last = int(filled[0]), int(filled[-1])
    hi = max(min(last + 1, nb), MIN_CROP_BINS)
    lo = min(max(first - 1, 0), hi - MIN_CROP_BINS)
    return lo, min(hi, nb - 1) + 1


def relative_probabilities(data: np.ndarray, refs: np.ndarray, tol: float) -> np.ndarray:
    """Return P(D)/P_max per reference and bin, shape (number of references, bins).

    `data` has shape (bins,) and `refs` (references, bins), every reference
    with entries. The bins are processed in blocks of about 4096 values, so
    that the temporary arrays stay in the processor cache.
    """
    n = data.sum()
    totals = refs.sum(axis=1, keepdims=True)
    width = max(1, BLOCK_VALUES // len(refs))
    p = np.empty(refs.shape)
    for start in range(0, data.size, width):
        bins = slice(start, start + width)
        p[:, bins] = _relative_probabilities_block(data[bins], refs[:, bins], n, totals, tol)
    return p


def _relative_probabilities_block(data, refs, n, totals, tol):
    # The tolerance scaling shrinks large reference contents, so a reference
    # with millions of entries does not demand a per-mille match.
    scale = 1.0 / np.sqrt(1.0 + (refs * tol**2) ** 2)
    ref_scaled = np.round(refs * scale)
    alpha = ref_scaled + 1.0
    beta = np.round(totals * scale) - ref_scaled + 1.0

    # The most likely data content lies next to the reference scaled to the
    # data: k_up is k_down or k_down + 1, so P_max is P(k_down) times the
    # neighbour ratio P(k_up)/P(k_down) when that exceeds 1.
    expected = n * refs / totals
    k_up = np.minimum(np.ceil(expected), n)
    k_down = np.maximum(np.floor(expected), 0.0)
    log_step = np.where(k_up > k_down, _log_next_ratio(k_down, n, alpha, beta), 0.0)

    log_ratio = log_pmf_ratio(data, k_down, n, alpha, beta) - np.maximum(log_step, 0.0)
    return relative_probability(log_ratio)


def log_pmf_ratio(k, k_other, n, alpha, beta):
    """Return log(P(k)/P(k_other)) of the beta-binomial pmf with parameters n, alpha, beta.

    The log pmf is log C(n, k) + betaln(k + alpha, n - k + beta) - betaln(alpha, beta).
    In the ratio, the terms that do not depend on k cancel, and the rest is
    four log-gamma differences with the same shift, computed without
    cancellation by `log_gamma_ratio`.
    """
    shift = k - k_other
    rest = n - k_other
    return (
        log_gamma_ratio(k_other + alpha, shift)
        + log_gamma_ratio(rest + beta, -shift)
        - log_gamma_ratio(k_other + 1.0, shift)
        - log_gamma_ratio(rest + 1.0, -shift)
    )


def _log_next_ratio(k, n, alpha, beta):
    """Return log(P(k + 1)/P(k)) of the beta-binomial pmf, for 0 <= k < n.

    P(k + 1)/P(k) = (n - k)/(k + 1) * (k + alpha)/(n - k - 1 + beta).
    Where k = n the value is meaningless and the caller discards it.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log((n - k) * (k + alpha)) - np.log((k + 1.0) * (n - k - 1.0 + beta))


def relative_probability(log_ratio):
    """Return P(D)/P_max from its logarithm, capped at 1 and floored at 1e-300.

    A ratio that is not a number or infinitely large can only come from
    P_max = 0, and counts as 0 there, so it is floored too.
    """
    log_ratio = np.asarray(log_ratio, dtype=np.float64)
    undefined = np.isnan(log_ratio) | (log_ratio == np.inf)
    ratio = np.exp(np.where(undefined, -np.inf, log_ratio))
    return np.maximum(np.minimum(ratio, 1.0), P_FLOOR)


def combine_references(data, refs, p):
    """Return the mean probability per bin and the probability-weighted reference W."""
    n = data.sum()
    shapes = refs / refs.sum(axis=1, keepdims=True)
    weights = p / p.sum(axis=0)
    return p.mean(axis=0), n * (shapes * weights).sum(axis=0)


def pulls_from_probability(data, expected, p_mean):
    """Return sign(D - W) * sqrt(chi2.isf(p, 1 degree of freedom)) per bin.

    For one degree of freedom sqrt(chi2.isf(p)) equals the normal quantile
    -ndtri(p/2). `special.ndtri` agrees with `special.chdtri(1, p)` to about
    1e-14 relative (a test checks this from p = 1e-300 to 1) and is far faster
    on large arrays, because chdtri inverts the incomplete gamma function
    iteratively.
    """
    return np.sign(data - expected) * np.abs(special.ndtri(p_mean / 2.0))


def corrected_pull(pull: float, n_used: int) -> float:
    """Correct an extreme pull for the number of bins looked at.

    With q the chi-square tail probability of the pull, the chance that any of
    `n_used` bins is as extreme is 1 - (1 - q)**n_used, or n_used*q when that
    is small (where the power loses precision).
    """
    q = special.chdtrc(1, min(abs(pull), PULL_LIMIT) ** 2)
    if n_used * q < 0.01:
        q_any = n_used * q
    else:
        q_any = 1.0 - (1.0 - q) ** n_used
    return float(np.sign(pull) * np.sqrt(special.chdtri(1, max(q_any, P_FLOOR))))


def max_corrected_pull(pulls: np.ndarray, n_used: int) -> float:
    """Return whichever of the corrected largest and smallest pull is larger in magnitude."""
    high = corrected_pull(float(pulls.max()), n_used)
    low = corrected_pull(float(pulls.min()), n_used)
    return low if abs(low) > abs(high) else high


def score(prepared: Prepared, tol: float) -> dict:
    """Compute pulls, W, chi2, max_pull and n_used for prepared histograms."""
    shape = prepared.data.shape
    data = prepared.data.ravel()
    refs = prepared.refs.reshape(len(prepared.refs), -1)

    n_used = int(np.count_nonzero(data + refs.sum(axis=0) > 0))
    p = relative_probabilities(data, refs, tol)
    p_mean, expected = combine_references(data, refs, p)
    pulls = pulls_from_probability(data, expected, p_mean)
    return {
        "pulls": pulls.reshape(shape),
        "reference": expected.reshape(shape),
        "chi2": float(np.sum(pulls**2) / n_used),
        "max_pull": max_corrected_pull(pulls, n_used),
        "n_used": n_used,
    }


@comparator_entry_point
def beta_binomial(data, refs, edges=None, **options) -> ComparatorResult | None:
    """Compare a 1D or 2D histogram with one or more reference histograms, bin by bin.

    Inputs: `data` holds the bin contents (shape (nx,) or (nx, ny), no flow
    bins), `refs` a list of arrays of reference contents, `edges` the x bin
    edges (needed only for `xmin`/`xmax`). Contents are clamped at zero (NaN
    counts as empty) and rounded to whole entries. References with another
    binning or without entries are left out.

    Options:
      `xmin`, `xmax`: 1D range. Bins whose low edge lies outside are dropped,
        unless that empties the data or every reference.
      `concatenated`: the caller appended sibling histograms, so neither the
        range cut nor the crop to the filled bins applies.
      `tol`: tolerance of the reference scaling (default 0.01).
      Thresholds: `chi2_cut` (default 10), `pull_cut` (10), `min_entries`
        (1) and `pull_cap` (10, the clip of drawn pulls).
    Other keywords are ignored.

    Method: per bin and reference, the beta-binomial probability of the data
    content relative to the most likely content (AutoDQM's beta-binomial
    comparator). The mean over references gives a pull through the chi-square
    distribution with one degree of freedom. `chi2` is the sum of squared
    pulls over the `n_used` filled bins, and `max_pull` the extreme pull after
    a look-elsewhere correction for `n_used` bins.

    Returns a ComparatorResult with `chi2`, `max_pull`, `n_used`, per-bin
    `pulls` and `reference` (the probability-weighted reference scaled to the
    data), or None when no reference can be compared. It is an outlier when
    the data has at least `min_entries` entries and `chi2 > chi2_cut` or
    `|max_pull| > pull_cut`, and also when the data is empty while the
    references have entries.
    """
    prepared = prepare(
        data, refs, edges,
        xmin=options.get("xmin"), xmax=options.get("xmax"), concatenated=bool(options.get("concatenated")),
    )
    cuts = resolve_thresholds(NAME, options)
    tol = cuts.pop("tol")
    figures = score(prepared, tol)

    entries = float(prepared.data.sum())
    significant = figures["chi2"] > cuts["chi2_cut"] or abs(figures["max_pull"]) > cuts["pull_cut"]
    # An empty data histogram next to filled references means the detector
    # or its readout stopped, so it is flagged regardless of min_entries.
    is_outlier = entries == 0 or (entries >= cuts["min_entries"] and significant)
    return ComparatorResult(
        comparator=NAME,
        chi2=as_float(figures["chi2"]),
        max_pull=as_float(figures["max_pull"]),
        is_outlier=bool(is_outlier),
        thresholds=cuts,
        pulls=figures["pulls"],
        reference=figures["reference"],
        data_used=prepared.data,
        bin_range=prepared.bin_range,
        n_used=figures["n_used"],
        entries_data=entries,
        entries_refs=prepared.entries_refs(),
        note=entries_note(entries, cuts["min_entries"]),
        refs_used=prepared.ref_indices,
    )
