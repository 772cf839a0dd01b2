import json
from pathlib import Path

import numpy as np
import pytest
import uproot

from comparisons.rules import (
    Match,
    concatenate_histograms,
    concatenated_values,
    expand_rule,
    match_rules,
    rule_path_of,
)
from runs import rootio
from runs.rootio import RootReadError

CONFIGS = Path("/work/shared/data/autodqm-configs")
HLT_RUN_1 = Path("/work/shared/data/real/cms-dqm/DQM_V0001_HLTOffline_R000000001_RelValZeeZmmMinBias.root")
HLT_GDIR = "DQMData/Run {0}/HLTOffline/Run summary/FourVectorHLTOfflinehltResults/"
CSC_GDIR = "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/"


def _line(values):
    values = np.asarray(values, dtype=float)
    return values, np.arange(values.size + 1, dtype=float)


@pytest.fixture
def csc_file(tmp_path):
    """A small file laid out like a CSC offline DQM file, with only some CSC.json histograms."""
    path = tmp_path / "DQM_V0001_R000000007__Test__Run2024A-v1__DQMIO.root"
    base = CSC_GDIR.format(7)
    with uproot.recreate(path) as out:
        for name in ("hRHGlobalp1", "hRHGlobalp2", "hRHGlobalm1", "hRHnrechits"):
            out[f"{base}recHits/{name}"] = _line([1, 2, 3])
        out[f"{base}recHits/hRHGlobalInfo"] = "<hRHGlobalInfo>i=5</hRHGlobalInfo>"
        out[f"{base}Segments/hSnhits"] = _line([4, 5])
        out[f"{base}Segments/hSnhitsm1"] = _line([6, 7])
        out[f"{base}Segments/hSnSegments"] = _line([1])
        out[f"{base}Digis/hWireTBin_m11"] = _line([1, 1])
        out[f"{base}Digis/hWireTBin_p11"] = _line([2, 2])
        out[f"{base}Digis/hwiretbin_lower"] = _line([3, 3])
        out[f"{base}Odd/h[0]"] = _line([9])
    return path


@pytest.fixture
def csc_folder(csc_file):
    with rootio.open_root(csc_file) as root:
        yield rootio.resolve_folder(root, CSC_GDIR, 7)


@pytest.fixture
def timing_file(tmp_path):
    """Bunch-crossing timing maps laid out like the L1T_shift concatenate rules."""
    path = tmp_path / "timing.root"
    folder = "L1T/timing/First_bunch"
    xedges, yedges = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0, 3.0])
    with uproot.recreate(path) as out:
        out[f"{folder}/muons_0"] = (np.arange(6.0).reshape(2, 3), xedges, yedges)
        out[f"{folder}/muons_minus1"] = (np.full((2, 3), 10.0), xedges, yedges)
        out[f"{folder}/muons_minus2"] = (np.full((2, 3), -1.0), xedges, yedges)
        out["line_0"] = _line([1, 2])
        out["line_1"] = _line([3, 4, 5])
    return path


def _listing(folders):
    return lambda subpath: folders.get(subpath, {})


def test_expand_rule_wildcard_skips_non_histograms():
    listing = _listing({"recHits": {"hA1": "TH1F", "hA2": "TH2F", "hAInfo": "TObjString", "hB": "TH1F"}})
    assert expand_rule(listing, "recHits/hA*") == ["recHits/hA1", "recHits/hA2"]


def test_expand_rule_patterns():
    listing = _listing({"": {"h1": "TH1F", "h2": "TH1F", "h10": "TH1F", "H1": "TH1F", "sub": "TDirectory"}})
    assert expand_rule(listing, "h?") == ["h1", "h2"]
    assert expand_rule(listing, "h[12]") == ["h1", "h2"]
    assert expand_rule(listing, "h1") == ["h1"]
    assert expand_rule(listing, "*") == ["H1", "h1", "h10", "h2"]
    assert expand_rule(listing, "sub") == []


def test_expand_rule_missing_folder():
    assert expand_rule(_listing({}), "Nowhere/h*") == []


def test_expand_rule_rejects_empty_path():
    with pytest.raises(ValueError, match="empty histogram rule path"):
        expand_rule(_listing({}), "/")


def _paths(matches):
    return [match.path for match in matches]


def test_match_rules_real_csc_config(csc_folder):
    config = json.loads((CONFIGS / "CSC.json").read_text())
    matches, unmatched = match_rules(csc_folder, config["hists"])

    by_rule = {}
    for match in matches:
        by_rule.setdefault(config["hists"][match.rule_index]["path"], []).append(match.path)
    assert by_rule["recHits/hRHGlobal*"] == [
        "recHits/hRHGlobalm1",
        "recHits/hRHGlobalp1",
        "recHits/hRHGlobalp2",
    ]
    assert by_rule["recHits/hRHnrechits"] == ["recHits/hRHnrechits"]
    assert by_rule["Digis/hWireTBin_*"] == ["Digis/hWireTBin_m11", "Digis/hWireTBin_p11"]
    assert "recHits/hRHGlobalInfo" not in _paths(matches)
    assert "Digis/hwiretbin_lower" not in _paths(matches)

    assert "Occupancy/hORecHits" in unmatched
    assert "Segments/hSTimeCombined*" in unmatched
    assert "recHits/hRHGlobal*" not in unmatched


def test_histogram_kept_once_for_first_rule(csc_folder):
    rules = [{"path": "Segments/hSnhits*"}, {"path": "Segments/hSnSegments"}, {"path": "Segments/hSnhits"}]
    matches, unmatched = match_rules(csc_folder, rules)
    assert matches == [
        Match(0, "Segments/hSnhits"),
        Match(0, "Segments/hSnhitsm1"),
        Match(1, "Segments/hSnSegments"),
    ]
    assert unmatched == []


def test_excluded_hists_with_wildcards(csc_folder):
    rules = [{"path": "recHits/*"}, {"path": "Digis/*"}]
    excluded = [{"path": "recHits/hRHGlobalp*"}, {"path": "Digis/hwiretbin_lower"}]
    matches, unmatched = match_rules(csc_folder, rules, excluded)
    assert _paths(matches) == [
        "recHits/hRHGlobalm1",
        "recHits/hRHnrechits",
        "Digis/hWireTBin_m11",
        "Digis/hWireTBin_p11",
    ]
    assert unmatched == []


def test_excluded_histogram_not_claimed_by_later_rule(csc_folder):
    rules = [{"path": "recHits/hRHGlobalp1"}, {"path": "recHits/hRHGlobal*"}]
    matches, _ = match_rules(csc_folder, rules, [{"path": "recHits/hRHGlobalp1"}])
    assert _paths(matches) == ["recHits/hRHGlobalm1", "recHits/hRHGlobalp2"]
    assert [match.rule_index for match in matches] == [1, 1]


def test_fully_excluded_rule_is_not_missing(csc_folder):
    matches, unmatched = match_rules(csc_folder, [{"path": "recHits/hRHnrechits"}], [{"path": "recHits/hRHnrechits"}])
    assert matches == []
    assert unmatched == []


def test_literal_bracket_name(csc_folder):
    matches, _ = match_rules(csc_folder, [{"path": "Odd/h[0]"}])
    assert _paths(matches) == ["Odd/h[0]"]


def test_rule_objects_with_path_attribute(csc_folder):
    class Rule:
        path = "Segments/hSnSegments"

    matches, _ = match_rules(csc_folder, [Rule()])
    assert _paths(matches) == ["Segments/hSnSegments"]


def test_rule_without_path():
    with pytest.raises(ValueError, match="histogram rule 3 has no valid 'path'"):
        rule_path_of({"comparators": ["ks_test"]}, 3)


def test_match_rules_real_file_wildcards():
    rules = [{"path": "HLT_Ele10_SW_L1R_eta*"}, {"path": "HLT_Ele10_SW_L1R_*"}, {"path": "HLT_NoSuchPath_*"}]
    with rootio.open_root(HLT_RUN_1) as root:
        folder = rootio.resolve_folder(root, HLT_GDIR, 1)
        matches, unmatched = match_rules(folder, rules, [{"path": "*_etaphiOff"}])
        first = rootio.read_histogram(folder, matches[0].path)
    assert [m.path for m in matches if m.rule_index == 0] == [
        "HLT_Ele10_SW_L1R_etaL1",
        "HLT_Ele10_SW_L1R_etaOff",
        "HLT_Ele10_SW_L1R_etaOn",
        "HLT_Ele10_SW_L1R_etaphiL1",
        "HLT_Ele10_SW_L1R_etaphiOn",
    ]
    assert len([m for m in matches if m.rule_index == 1]) == 7
    assert "HLT_Ele10_SW_L1R_etaphiOff" not in _paths(matches)
    assert unmatched == ["HLT_NoSuchPath_*"]
    assert first.name == "HLT_Ele10_SW_L1R_etaL1"


def test_concatenated_values_2d(timing_file):
    siblings = ["muons_minus1", "muons_minus2"]
    with rootio.open_root(timing_file) as root:
        values, edges = concatenated_values(root, "L1T/timing/First_bunch/muons_0", siblings)
    assert values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] + [10.0] * 6 + [-1.0] * 6
    assert edges.tolist() == list(range(19))


def test_concatenate_histograms_1d(timing_file):
    with rootio.open_root(timing_file) as root:
        combined = concatenate_histograms(root, "line_0", ["line_1"])
    assert combined.values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert combined.ndim == 1
    assert combined.path == "line_0"
    assert combined.entries == pytest.approx(15.0)


def test_concatenate_missing_sibling(timing_file):
    with rootio.open_root(timing_file) as root:
        with pytest.raises(RootReadError, match="histogram not found") as caught:
            concatenated_values(root, "L1T/timing/First_bunch/muons_0", ["muons_minus1", "muons_minus9"])
    assert caught.value.path == "L1T/timing/First_bunch/muons_minus9"
    assert "timing.root" in str(caught.value)
