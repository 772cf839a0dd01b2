"""Tests of parse_opts and fitted_thresholds."""

import json

import pytest

from comparisons.comparators import fitted_thresholds, parse_opts
from tests.conftest import SHARED_DATA, need_shared_data


def test_parse_numbers_flags_and_titles():
    parsed = parse_opts([
        "pull_cap=25", "chi2_cut=500", "min_entries=100", "ks_cut=0.2", "pull_cut=10",
        "logx", "logy", "plot_title=Occupancy, ME+1/1", "xaxis_title=x = 2", "yaxis_title=",
    ])
    assert parsed == {
        "pull_cap": 25.0, "chi2_cut": 500.0, "min_entries": 100, "ks_cut": 0.2, "pull_cut": 10.0,
        "logx": True, "logy": True, "plot_title": "Occupancy, ME+1/1", "xaxis_title": "x = 2", "yaxis_title": "",
    }
    assert type(parsed["pull_cap"]) is float
    assert type(parsed["min_entries"]) is int


def test_parse_empty_and_none():
    assert parse_opts([]) == {}
    assert parse_opts(None) == {}


def test_parse_spaces_and_exponent():
    assert parse_opts([" chi2_cut = 1e3 ", "min_entries=1e4"]) == {"chi2_cut": 1000.0, "min_entries": 10000}


@pytest.mark.parametrize("text", [
    "pull_cap=abc", "pull_cap=", "pull_cap", "min_entries=2.5", "min_entries=-1",
    "logx=1", "plot_title", "colour=red", "chi2_cut=nan",
])
def test_parse_invalid_names_string(text):
    with pytest.raises(ValueError, match=repr(text).replace("+", r"\+")):
        parse_opts([text])


def test_parse_rejects_non_string():
    with pytest.raises(ValueError, match="strings"):
        parse_opts([5])


def test_parse_every_real_config_opts():
    need_shared_data()
    for path in sorted((SHARED_DATA / "autodqm-configs").glob("*.json")):
        config = json.loads(path.read_text())
        for rule in config.get("hists", []):
            parse_opts(rule.get("opts", []))


DT_FIT = [
    {"name": "TimeBox", "param_MaxPull": [5.1, 0.6], "param_Chi2": [5.1, 0.6]},
    {"name": "Occupancy", "param_MaxPull": [14, 4], "param_Chi2": [4, 1]},
    {"name": "Occ", "param_MaxPull": [1, 1], "param_Chi2": [1, 1]},
    {"name": "Huge", "param_MaxPull": [100, 7, 0.2], "param_Chi2": [100, 7]},
    {"name": "PullOnly", "param_MaxPull": [2, 3]},
]


def test_fitted_thresholds_formula():
    cuts = fitted_thresholds(DT_FIT, "Wheel1/OccupancyAllHits_perCh_W1_St1", 4)
    assert cuts["pull_cut"] == pytest.approx(14 / 4 + 4**2)
    assert cuts["chi2_cut"] == pytest.approx(0.8 * (4 / 4 + 1**2))


def test_fitted_thresholds_first_matching_entry_wins():
    cuts = fitted_thresholds(DT_FIT, "OccupancyNoise", 1)
    assert cuts["pull_cut"] == pytest.approx(14 + 16)


def test_fitted_pull_cut_capped_at_36():
    cuts = fitted_thresholds(DT_FIT, "HugeResiduals", 2)
    assert cuts["pull_cut"] == 36.0
    assert cuts["chi2_cut"] == pytest.approx(0.8 * (50 + 49))


def test_fitted_thresholds_without_chi2_params():
    assert fitted_thresholds(DT_FIT, "PullOnly_W0", 3) == {"pull_cut": pytest.approx(2 / 3 + 9)}


def test_fitted_thresholds_no_match():
    assert fitted_thresholds(DT_FIT, "Segments_W2", 3) == {}
    assert fitted_thresholds([], "Occupancy", 3) == {}
    assert fitted_thresholds(None, "Occupancy", 3) == {}


def test_fitted_thresholds_need_references():
    with pytest.raises(ValueError, match="at least one reference"):
        fitted_thresholds(DT_FIT, "TimeBox", 0)


def test_fitted_thresholds_short_params():
    with pytest.raises(ValueError, match="param_Chi2"):
        fitted_thresholds([{"name": "A", "param_MaxPull": [1, 2], "param_Chi2": [3]}], "A", 1)
