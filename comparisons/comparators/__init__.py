"""Statistical comparators of a data histogram against reference histograms.

Plain Python on numpy and scipy, without Django. Each comparator is called as
`fn(data, refs, edges=None, **options)` and returns a ComparatorResult, or
None when the histogram cannot be compared; `evaluate(name, ...)` also returns
the reason. Options not used by a comparator are ignored, so one option dict
can be passed to all of them.
"""

from .base import ComparatorResult, Evaluation
from .beta_binomial import beta_binomial
from .ks_test import ks_test
from .options import fitted_thresholds, parse_opts
from .pull_values import pull_values
from .registry import (
    UnavailableComparator,
    available_comparators,
    comparator_info,
    evaluate,
    get_comparator,
    register,
)

__all__ = [
    "ComparatorResult",
    "Evaluation",
    "UnavailableComparator",
    "available_comparators",
    "beta_binomial",
    "comparator_info",
    "evaluate",
    "fitted_thresholds",
    "get_comparator",
    "ks_test",
    "parse_opts",
    "pull_values",
    "register",
]
