"""The binned Kolmogorov-Smirnov comparator for 1D histograms, against the first reference."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .base import (
    ComparatorResult,
    as_float,
    check_dimensions,
    check_edges,
    clean_contents,
    comparator_entry_point,
    entries_note,
    select_references,
)
from .options import resolve_thresholds

NAME = "ks_test"


@comparator_entry_point
def ks_test(data, refs, edges=None, **options) -> ComparatorResult | None:
    """Compare the shape of a 1D histogram with its first reference by the Kolmogorov distance.

    Inputs: `data` holds the bin contents, shape (nx,), and `refs` a list of
    arrays of reference contents. Negative and NaN contents count as 0. The
    first reference with the data's binning and at least one entry is used.
    `edges`, if given, must have nx + 1 values. The whole range is compared:
    `xmin` and `xmax` apply to beta_binomial only.

    Options: the thresholds `ks_cut` (default 0.1) and `min_entries`
    (10000). Other keywords are ignored.

    Method: the binned statistic of ROOT's TH1::KolmogorovTest. `ks` is the
    largest difference between the cumulative sums of D/N_D and R/N_R, and
    `p_value` the Kolmogorov distribution's survival function
    (`scipy.special.kolmogorov`) at ks*sqrt(N_D*N_R/(N_D + N_R)). Unlike an
    unbinned two-sample test on the list of bin contents, this measures the
    difference in shape.

    Returns a ComparatorResult with `ks`, `p_value`, the data as `data_used`
    and the reference scaled to the data's entries as `reference`, or None
    for a 2D histogram or when no reference can be compared. It is an outlier
    when the data has at least `min_entries` entries and `ks > ks_cut`, and
    also when the data is empty while the reference has entries (then `ks`
    and `p_value` are None).
    """
    data = clean_contents(data)
    check_dimensions(NAME, data, (1,))
    check_edges(data, edges)
    all_refs = [clean_contents(ref) for ref in refs or ()]
    refs, ref_indices = select_references(data, all_refs)
    ref = refs[0]
    cuts = resolve_thresholds(NAME, options)

    n_data, n_ref = float(data.sum()), float(ref.sum())
    ks = p_value = None
    if n_data > 0:
        ks = float(np.max(np.abs(np.cumsum(data / n_data) - np.cumsum(ref / n_ref))))
        p_value = float(special.kolmogorov(ks * math.sqrt(n_data * n_ref / (n_data + n_ref))))

    is_outlier = n_data == 0 or (n_data >= cuts["min_entries"] and ks > cuts["ks_cut"])
    return ComparatorResult(
        comparator=NAME,
        ks=as_float(ks),
        p_value=as_float(p_value),
        is_outlier=bool(is_outlier),
        thresholds=cuts,
        reference=ref * (n_data / n_ref),
        data_used=data,
        bin_range=(0, len(data) - 1),
        entries_data=n_data,
        entries_refs=[float(each.sum()) for each in all_refs],
        note=entries_note(n_data, cuts["min_entries"]),
        refs_used=ref_indices[:1],
    )
