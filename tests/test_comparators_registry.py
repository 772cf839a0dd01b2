"""Tests of the comparator registry and evaluate()."""

import numpy as np
import pytest

from comparisons.comparators import (
    ComparatorResult,
    UnavailableComparator,
    available_comparators,
    beta_binomial,
    evaluate,
    get_comparator,
    ks_test,
    pull_values,
    register,
)
from comparisons.comparators import registry

PCA_REASON = "pca needs a trained model per histogram (jar_dir), which this site does not provide yet"


@pytest.fixture
def clean_registry():
    saved = dict(registry._registry)
    yield
    registry._registry.clear()
    registry._registry.update(saved)


def test_builtin_comparators_registered():
    assert available_comparators() == ["beta_binomial", "ks_test", "pull_values"]
    assert available_comparators(include_unavailable=True) == ["beta_binomial", "ks_test", "pca", "pull_values"]
    assert get_comparator("beta_binomial") is beta_binomial
    assert get_comparator("pull_values") is pull_values
    assert get_comparator("ks_test") is ks_test


def test_pca_unavailable_with_reason():
    placeholder = get_comparator("pca")
    assert isinstance(placeholder, UnavailableComparator)
    assert placeholder.reason == PCA_REASON
    assert placeholder(np.ones(5), [np.ones(5)]) is None
    outcome = evaluate("pca", np.ones(5), [np.ones(5)])
    assert outcome.result is None
    assert outcome.reason == PCA_REASON


def test_unknown_name_lists_known_names():
    with pytest.raises(KeyError, match="known comparators: beta_binomial, ks_test, pca, pull_values"):
        get_comparator("chi2_test")
    with pytest.raises(KeyError, match="chi2_test"):
        evaluate("chi2_test", np.ones(5), [np.ones(5)])


def test_evaluate_dimension_reason():
    outcome = evaluate("ks_test", [[1.0, 2.0], [3.0, 4.0]], [np.ones((2, 2))])
    assert outcome.result is None
    assert not outcome.comparable
    assert outcome.reason == "2D histogram: ks_test compares 1D histograms only"


def test_evaluate_returns_result_without_reason():
    outcome = evaluate("beta_binomial", np.array([5.0, 8.0, 3.0]), [np.array([6.0, 7.0, 3.0])])
    assert outcome.comparable
    assert outcome.reason is None
    assert isinstance(outcome.result, ComparatorResult)


def test_register_as_decorator(clean_registry):
    @register("total_ratio", dims=(1,), description="Ratio of totals")
    def total_ratio(data, refs, edges=None, **options):
        if refs[0].sum() == 0:
            return None
        return ComparatorResult(comparator="total_ratio", chi2=float(data.sum() / refs[0].sum()))

    assert get_comparator("total_ratio") is total_ratio
    assert registry.comparator_info("total_ratio").description == "Ratio of totals"
    assert evaluate("total_ratio", np.ones(4), [np.ones(4) * 2]).result.chi2 == 0.5
    outcome = evaluate("total_ratio", np.ones(4), [np.zeros(4)])
    assert outcome.result is None
    assert outcome.reason == "total_ratio found the histogram not comparable"
    assert evaluate("total_ratio", np.ones((2, 2)), [np.ones((2, 2))]).reason == (
        "2D histogram: total_ratio compares 1D histograms only"
    )


def test_register_plain_call_uses_docstring(clean_registry):
    def always_none(data, refs, edges=None, **options):
        """Never compares anything."""

    register("always_none", always_none)
    assert "always_none" in available_comparators()
    assert registry.comparator_info("always_none").description == "Never compares anything."


def test_register_rejects_bad_dims(clean_registry):
    with pytest.raises(ValueError, match="dims"):
        register("three_d", lambda data, refs, edges=None, **options: None, dims=(3,))


def test_evaluate_rejects_bad_edges():
    with pytest.raises(ValueError, match="bin edges"):
        evaluate("beta_binomial", np.ones(4), [np.ones(4)], np.arange(4.0))
