"""Comparators by name, as subsystem configurations list them ("beta_binomial", "pca", ...)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .base import Evaluation, NotComparable, check_dimensions
from .beta_binomial import beta_binomial
from .ks_test import ks_test
from .pull_values import pull_values

logger = logging.getLogger(__name__)

PCA_REASON = "pca needs a trained model per histogram (jar_dir), which this site does not provide yet"


@dataclass(frozen=True)
class ComparatorInfo:
    """A registered comparator: its function, the histogram dimensions it takes, and a description."""

    name: str
    function: object
    dims: tuple[int, ...]
    description: str


class UnavailableComparator:
    """A comparator that configurations may name but this site cannot run.

    Calling it returns None, as for a histogram that is not comparable.
    `reason` explains why it cannot run.
    """

    def __init__(self, name: str, reason: str, *, dims=(1, 2), description: str = ""):
        self.name = name
        self.reason = reason
        self.dims = tuple(dims)
        self.description = description

    def __call__(self, data, refs, edges=None, **options):
        return None

    def __repr__(self) -> str:
        return f"UnavailableComparator({self.name!r}, reason={self.reason!r})"


_registry: dict[str, ComparatorInfo] = {}


def register(name: str, fn=None, *, dims=(1, 2), description: str = ""):
    """Register `fn` as the comparator called `name`; usable as a decorator when `fn` is omitted.

    `fn(data, refs, edges=None, **options)` returns a ComparatorResult or None.
    `dims` lists the histogram dimensions it accepts. Registering a name again
    replaces the earlier comparator.
    """
    dims = tuple(dims)
    if not dims or not set(dims) <= {1, 2}:
        msg = f"invalid dims {dims!r} for comparator {name!r}; expected a selection of 1 and 2"
        raise ValueError(msg)

    def add(function):
        if name in _registry:
            logger.info("Comparator %s replaced by %r", name, function)
        text = description or _first_docstring_line(function)
        _registry[name] = ComparatorInfo(name, function, dims, text)
        return function

    return add if fn is None else add(fn)


def register_unavailable(name: str, reason: str, *, dims=(1, 2), description: str = "") -> None:
    """Register a name that configurations may use but this site cannot run, with the reason."""
    placeholder = UnavailableComparator(name, reason, dims=dims, description=description)
    _registry[name] = ComparatorInfo(name, placeholder, tuple(dims), description)


def _first_docstring_line(function) -> str:
    doc = (getattr(function, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def comparator_info(name: str) -> ComparatorInfo:
    """Return the registration of `name`, or raise KeyError listing the known names."""
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry))
        msg = f"unknown comparator {name!r}; known comparators: {known}"
        raise KeyError(msg) from None


def get_comparator(name: str):
    """Return the comparator function called `name`, or its UnavailableComparator.

    Raises KeyError listing the known names for an unknown name.
    """
    return comparator_info(name).function


def available_comparators(*, include_unavailable: bool = False) -> list[str]:
    """Return the sorted names of the comparators this site can run.

    With `include_unavailable`, names registered as unavailable (such as
    "pca") are listed too: every name a configuration may use.
    """
    return sorted(
        name
        for name, info in _registry.items()
        if include_unavailable or not isinstance(info.function, UnavailableComparator)
    )


def evaluate(name: str, data, refs, edges=None, **options) -> Evaluation:
    """Run the comparator called `name` and return its result, or the reason there is none.

    Raises KeyError for an unknown name, and ValueError for invalid options
    or bin edges that do not fit the data.
    """
    info = comparator_info(name)
    if isinstance(info.function, UnavailableComparator):
        return Evaluation(None, info.function.reason)

    data = np.asarray(data, dtype=np.float64)
    try:
        check_dimensions(name, data, info.dims)
    except NotComparable as exc:
        return Evaluation(None, str(exc))

    evaluate_with_reason = getattr(info.function, "evaluate", None)
    if evaluate_with_reason is not None:
        return evaluate_with_reason(data, refs, edges, **options)
    result = info.function(data, refs, edges, **options)
    reason = None if result is not None else f"{name} found the histogram not comparable"
    return Evaluation(result, reason)


register("beta_binomial", beta_binomial, dims=(1, 2))
register("pull_values", pull_values, dims=(2,))
register("ks_test", ks_test, dims=(1,))
register_unavailable("pca", PCA_REASON, description="Principal component analysis against a trained model")
