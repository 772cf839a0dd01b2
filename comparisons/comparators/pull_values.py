"""The pull-values comparator for 2D histograms, against the first reference."""

from __future__ import annotations

import numpy as np
from scipy import stats

from .base import (
    ComparatorResult,
    as_float,
    check_dimensions,
    clean_contents,
    comparator_entry_point,
    entries_note,
    select_references,
)
from .options import resolve_norm_type, resolve_thresholds

NAME = "pull_values"
# Coverage of a one-sigma interval, as the historical AutoDQM pull-values test used.
ONE_SIGMA = 0.6827


def normalise(data: np.ndarray, ref: np.ndarray, norm_type: str) -> np.ndarray:
    """Scale the data to the reference: as a whole ("all"), per y bin ("row") or per x bin ("col").

    "row" scales each slice data[:, y] so that its sum over x equals that of
    ref[:, y], and "col" each slice data[x, :] over y. A slice (or a whole
    histogram) without data entries is left unscaled.
    """
    axis = {"all": None, "row": 0, "col": 1}[norm_type]
    data_sums = data.sum(axis=axis, keepdims=True)
    ref_sums = ref.sum(axis=axis, keepdims=True)
    factors = np.ones_like(data_sums)
    np.divide(ref_sums, data_sums, out=factors, where=data_sums > 0)
    return data * factors


def poisson_errors(contents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the errors below and above each content from the 68.27 % chi-square interval.

    With lo, hi = chi2(2c).interval(0.6827)/2 for a content c, the errors are
    |lo - 1 - c| and |hi - 1 - c|, as the historical AutoDQM pull-values test
    computed them. Empty bins have no interval (NaN) and get 0.
    """
    positive = contents > 0
    lo = np.full(contents.shape, np.nan)
    hi = np.full(contents.shape, np.nan)
    lo[positive], hi[positive] = stats.chi2.interval(ONE_SIGMA, 2 * contents[positive])
    below = np.nan_to_num(np.abs(lo / 2 - 1 - contents))
    above = np.nan_to_num(np.abs(hi / 2 - 1 - contents))
    return below, above


def compute_pulls(data: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Return (D - R)/sqrt(err_D**2 + err_R**2) per bin, 0 where both errors are 0.

    Each histogram takes its error on the side facing the other: the data its
    error below where it exceeds the reference, the reference its error above.
    """
    data_below, data_above = poisson_errors(data)
    ref_below, ref_above = poisson_errors(ref)
    data_higher = data > ref
    data_err = np.where(data_higher, data_below, data_above)
    ref_err = np.where(data_higher, ref_above, ref_below)
    combined = np.sqrt(data_err**2 + ref_err**2)

    pulls = np.zeros(data.shape)
    np.divide(data - ref, combined, out=pulls, where=combined > 0)
    return pulls


@comparator_entry_point
def pull_values(data, refs, edges=None, **options) -> ComparatorResult | None:
    """Compare a 2D histogram with its first reference by per-bin pulls.

    Inputs: `data` holds the bin contents, shape (nx, ny), and `refs` a list
    of arrays of reference contents. Negative and NaN contents count as 0.
    The first reference with the data's binning and at least one entry is
    used. `edges` is accepted for a uniform signature and not used.

    Options:
      `norm_type`: "all" (default), "row" or "col", as `normalise` describes.
      Thresholds: `chi2_cut` (default 500), `pull_cut` (20), `min_entries`
        (10000) and `pull_cap` (25, the clip of drawn pulls).
    Other keywords are ignored.

    Method (the pull-values test of the historical AutoDQM): the data is
    scaled to the reference, each bin gets asymmetric Poisson errors from the
    68.27 % chi-square interval, and the pull is the difference over the
    combined error. `max_pull` is the largest |pull| and `chi2` the mean
    squared pull over all bins.

    Returns a ComparatorResult with `chi2`, `max_pull`, `pulls`, the scaled
    data as `data_used` and the reference as `reference`, or None for a 1D
    histogram or when no reference can be compared. It is an outlier when the
    data has at least `min_entries` entries and `chi2 > chi2_cut` or
    `max_pull > pull_cut`, and also when the data is empty while the
    reference has entries.
    """
    data = clean_contents(data)
    check_dimensions(NAME, data, (2,))
    all_refs = [clean_contents(ref) for ref in refs or ()]
    refs, ref_indices = select_references(data, all_refs)
    ref = refs[0]
    norm_type = resolve_norm_type(options)
    cuts = resolve_thresholds(NAME, options)

    scaled = normalise(data, ref, norm_type)
    pulls = compute_pulls(scaled, ref)
    max_pull = float(np.max(np.abs(pulls)))
    chi2 = float(np.sum(pulls**2) / pulls.size)

    entries = float(data.sum())
    significant = chi2 > cuts["chi2_cut"] or max_pull > cuts["pull_cut"]
    return ComparatorResult(
        comparator=NAME,
        chi2=as_float(chi2),
        max_pull=as_float(max_pull),
        is_outlier=bool(entries == 0 or (entries >= cuts["min_entries"] and significant)),
        thresholds=cuts,
        pulls=pulls,
        reference=ref,
        data_used=scaled,
        entries_data=entries,
        entries_refs=[float(each.sum()) for each in all_refs],
        note=entries_note(entries, cuts["min_entries"]),
        refs_used=ref_indices[:1],
    )
