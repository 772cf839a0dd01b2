"""Tests of every comparator against the independently computed reference vectors."""

import json

import numpy as np
import pytest

from comparisons.comparators import evaluate, get_comparator
from tests.conftest import VECTORS, need_shared_data

# Expected figure -> ComparatorResult field, per comparator.
FIGURES = {
    "beta_binomial": {"chi2": "chi2", "max_pull": "max_pull", "outlier": "is_outlier", "n_used": "n_used"},
    "pull_values": {"chi2": "chi2", "max_pull": "max_pull", "outlier": "is_outlier"},
    "ks_test": {"ks": "ks", "p_value": "p_value", "outlier": "is_outlier"},
}


def _load_vectors():
    if not VECTORS.is_file():
        return []
    return json.loads(VECTORS.read_text())["vectors"]


VECTOR_CASES = _load_vectors()


def _arguments(vector):
    data = np.array(vector["data"], dtype=np.float64)
    refs = [np.array(ref, dtype=np.float64) for ref in vector["refs"]]
    return data, refs, vector["edges"]


def test_vector_file_has_all_vectors():
    need_shared_data()
    assert len(VECTOR_CASES) == 60
    assert {vector["comparator"] for vector in VECTOR_CASES} == set(FIGURES)


@pytest.mark.parametrize(
    "vector", VECTOR_CASES, ids=[f"{i}-{v['comparator']}" for i, v in enumerate(VECTOR_CASES)]
)
def test_vector_figures(vector):
    data, refs, edges = _arguments(vector)
    outcome = evaluate(vector["comparator"], data, refs, edges, **vector["config"])
    expected = vector["expected"]
    if expected is None:
        assert outcome.result is None
        assert outcome.reason
        return

    result = outcome.result
    assert result is not None, outcome.reason
    for figure, attribute in FIGURES[vector["comparator"]].items():
        value = getattr(result, attribute)
        if isinstance(expected[figure], bool) or figure == "n_used":
            assert value == expected[figure], figure
        else:
            assert value == pytest.approx(expected[figure], rel=1e-6, abs=0), figure


@pytest.mark.parametrize(
    "vector", VECTOR_CASES, ids=[f"{i}-{v['comparator']}" for i, v in enumerate(VECTOR_CASES)]
)
def test_vector_plain_function_matches_evaluate(vector):
    data, refs, edges = _arguments(vector)
    direct = get_comparator(vector["comparator"])(data, refs, edges, **vector["config"])
    through_registry = evaluate(vector["comparator"], data, refs, edges, **vector["config"]).result
    for field in ("chi2", "max_pull", "ks", "p_value", "is_outlier", "n_used"):
        assert getattr(direct, field) == getattr(through_registry, field), field
    for field in ("chi2", "max_pull", "ks", "p_value"):
        value = getattr(direct, field)
        assert value is None or type(value) is float, field
