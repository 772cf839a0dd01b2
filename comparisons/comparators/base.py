"""Result types and input preparation shared by every comparator.

A comparator takes the bin contents of the data histogram and of its reference
histograms as numpy arrays, without underflow or overflow bins, and returns a
`ComparatorResult`, or None when the histogram cannot be compared. The
`Evaluation` wrapper carries the reason in that case, in words a shifter can act on.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np


class NotComparable(Exception):
    """Raised inside a comparator when the histogram cannot be compared.

    The message is the reason shown to the shifter.
    """


@dataclass
class ComparatorResult:
    """Figures one comparator computed for one histogram.

    Scalar fields are plain Python floats, or None when the comparator does not
    compute them or they are undefined (NaN is never stored). `pulls`,
    `reference` and `data_used` have the same shape: the bins that were
    compared, after clamping, rounding and range cuts. `bin_range` gives the
    first and last compared bin as indices into the original 1D array, so a
    plot can crop its x axis. `entries_data` is the data total over the
    compared bins, the figure `min_entries` is checked against.
    `entries_refs` has one total per reference passed in, in that order. For
    the references listed in `refs_used` it is the total over the compared
    bins. The others were left out for their binning, for being empty, or for
    being empty inside xmin/xmax, and get their total over all bins.
    """

    comparator: str
    chi2: float | None = None
    max_pull: float | None = None
    ks: float | None = None
    p_value: float | None = None
    is_outlier: bool = False
    thresholds: dict = field(default_factory=dict)
    pulls: np.ndarray | None = None
    reference: np.ndarray | None = None
    data_used: np.ndarray | None = None
    bin_range: tuple[int, int] | None = None
    n_used: int | None = None
    entries_data: float = 0.0
    entries_refs: list[float] = field(default_factory=list)
    note: str | None = None
    refs_used: list[int] = field(default_factory=list)

    def display_pulls(self) -> np.ndarray | None:
        """Return the pulls as a plot draws them.

        Pulls are clipped to plus or minus the `pull_cap` threshold, and bins
        that are empty in both the data and the reference are NaN, so a
        colour map leaves them blank.
        """
        if self.pulls is None:
            return None
        drawn = np.array(self.pulls, dtype=np.float64)
        cap = self.thresholds.get("pull_cap")
        if cap is not None:
            drawn = np.clip(drawn, -cap, cap)
        if self.data_used is not None and self.reference is not None:
            drawn[(self.data_used == 0) & (self.reference == 0)] = np.nan
        return drawn


@dataclass
class Evaluation:
    """Outcome of running one comparator: a result, or the reason there is none."""

    result: ComparatorResult | None
    reason: str | None = None

    @property
    def comparable(self) -> bool:
        return self.result is not None


def comparator_entry_point(core):
    """Turn a comparator core that raises NotComparable into the public function.

    The public function returns None where the core raises. Its `evaluate`
    attribute runs the same core and returns an `Evaluation` with the reason,
    which the registry uses.
    """

    def evaluate(data, refs, edges=None, **options) -> Evaluation:
        try:
            return Evaluation(core(data, refs, edges, **options))
        except NotComparable as exc:
            return Evaluation(None, str(exc))

    @functools.wraps(core)
    def public(data, refs, edges=None, **options):
        return evaluate(data, refs, edges, **options).result

    public.evaluate = evaluate
    return public


def clean_contents(values) -> np.ndarray:
    """Return bin contents as float64 with non-finite contents set to 0 and negatives to 0.

    DQM files contain negative bins from subtraction, and NaN from empty
    efficiency or profile bins. Both count as empty. Infinite contents are
    treated the same way, because a single one would make every total infinite.
    """
    contents = np.array(values, dtype=np.float64)
    contents[~np.isfinite(contents)] = 0.0
    return np.maximum(contents, 0.0)


def dimension_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def check_dimensions(name: str, data: np.ndarray, dims: tuple[int, ...]) -> None:
    """Raise NotComparable unless the data has one of the dimensions in `dims`."""
    if data.ndim in dims:
        return
    accepted = " and ".join(f"{d}D" for d in sorted(dims))
    raise NotComparable(f"{data.ndim}D histogram: {name} compares {accepted} histograms only")


def check_edges(data: np.ndarray, edges) -> np.ndarray | None:
    """Return the x bin edges as float64, or raise ValueError when they do not fit the data."""
    if edges is None:
        return None
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) != data.shape[0] + 1:
        msg = f"bin edges have {edges.size} values but the data has {data.shape[0]} x bins; expected {data.shape[0] + 1}"
        raise ValueError(msg)
    return edges


def select_references(data: np.ndarray, refs) -> tuple[list[np.ndarray], list[int]]:
    """Return the references with the data's binning and at least one entry, and their indices.

    Raises NotComparable when none is left, saying whether the binning or the
    emptiness ruled them out.
    """
    if refs is None or len(refs) == 0:
        raise NotComparable("no reference histogram was given")

    same_binning = [(i, ref) for i, ref in enumerate(refs) if ref.shape == data.shape]
    if not same_binning:
        shapes = ", ".join(dimension_text(ref.shape) for ref in refs)
        raise NotComparable(
            f"no reference has the same binning as the data "
            f"(data {dimension_text(data.shape)} bins; references {shapes})"
        )

    filled = [(i, ref) for i, ref in same_binning if ref.sum() > 0]
    if not filled:
        if len(same_binning) == len(refs):
            raise NotComparable("all references are empty")
        raise NotComparable("all references with the same binning as the data are empty")
    return [ref for _, ref in filled], [i for i, _ in filled]


def reference_entries(all_refs, used_indices, used_totals) -> list[float]:
    """Return one total per reference: the compared total for those used, the full total for the others."""
    totals = [float(ref.sum()) for ref in all_refs]
    for index, total in zip(used_indices, used_totals):
        totals[index] = float(total)
    return totals


def as_float(value) -> float | None:
    """Return a plain Python float, or None for None and NaN."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def format_count(value: float) -> str:
    """Format a number of entries: whole numbers without decimals, others with 4 significant digits."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


EMPTY_DATA_NOTE = "data histogram is empty while the references have entries"


def entries_note(entries: float, min_entries: int) -> str | None:
    """Return the note for a data histogram with too few entries to be flagged."""
    if entries == 0:
        return EMPTY_DATA_NOTE
    if entries < min_entries:
        return f"fewer entries ({format_count(entries)}) than min_entries ({format_count(min_entries)})"
    return None
