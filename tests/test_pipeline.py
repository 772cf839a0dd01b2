from comparisons.pipeline import comparator_options, rule_options

DT_CONFIG = {
    "main_gdir": "DQMData/Run {0}/DT/Run summary/",
    "thresholds_fit": [{"name": "TimeBox", "param_MaxPull": [5.1, 0.6], "param_Chi2": [5.1, 0.6]}],
    "hists": [],
}


def test_fitted_cuts_reach_beta_binomial_only():
    options, _ = rule_options(DT_CONFIG, {"path": "x"}, "Wheel1/TimeBox_St1", n_refs=3)
    beta = comparator_options(options, "beta_binomial")
    pulls = comparator_options(options, "pull_values")
    assert beta["pull_cut"] == 5.1 / 3 + 0.6**2
    assert beta["chi2_cut"] == 0.8 * (5.1 / 3 + 0.6**2)
    assert "pull_cut" not in pulls
    assert "chi2_cut" not in pulls
    assert "fitted_cuts" not in pulls


def test_rule_opts_win_over_fitted_cuts():
    rule = {"path": "x", "opts": ["pull_cut=7"]}
    options, _ = rule_options(DT_CONFIG, rule, "TimeBox_St1", n_refs=1)
    beta = comparator_options(options, "beta_binomial")
    assert beta["pull_cut"] == 7
    assert beta["chi2_cut"] == 0.8 * (5.1 + 0.6**2)
    assert comparator_options(options, "pull_values")["pull_cut"] == 7


def test_no_matching_fit_leaves_defaults():
    options, _ = rule_options(DT_CONFIG, {"path": "x"}, "Occupancy", n_refs=2)
    assert "pull_cut" not in comparator_options(options, "beta_binomial")
