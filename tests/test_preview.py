"""The input preview: files, rules, matched histograms and what is missing, without Django."""

import numpy as np
import pytest
import uproot

from comparisons.preview import RunSource, build_preview, format_bins
from runs.demo import write_demo_files
from tests.conftest import CONFIGS

FOLDER = "DQMData/Run {run}/Sub/Run summary"
CONFIG = {
    "main_gdir": "DQMData/Run {0}/Sub/Run summary/",
    "comparators": ["beta_binomial"],
    "hists": [
        {"path": "h_*"},
        {"path": "h_one", "comparators": ["ks_test"]},
        {"path": "absent_*"},
        {"path": "twod"},
    ],
    "excluded_hists": [{"path": "h_skip"}],
}


def write_run(path, run, names):
    rng = np.random.default_rng(run)
    with uproot.recreate(path) as root:
        for name in names:
            if name == "twod":
                values = rng.poisson(5, size=(4, 3)).astype(float)
                root[f"{FOLDER.format(run=run)}/{name}"] = (values, np.arange(5.0), np.arange(4.0))
            else:
                root[f"{FOLDER.format(run=run)}/{name}"] = np.histogram(rng.normal(size=200), bins=10)
    return str(path)


@pytest.fixture
def files(tmp_path):
    data = write_run(tmp_path / "data.root", 10, ["h_one", "h_two", "h_skip", "twod"])
    full = write_run(tmp_path / "ref_full.root", 8, ["h_one", "h_two", "h_skip", "twod"])
    partial = write_run(tmp_path / "ref_partial.root", 9, ["h_one", "twod"])
    return data, full, partial


def sources(files):
    data, full, partial = files
    return (
        RunSource("data", 10, "P/E-v1", data),
        [RunSource("reference", 8, "P/E-v1", full), RunSource("reference", 9, "P/E-v1", partial)],
    )


def test_rules_list_their_histograms(files):
    data, references = sources(files)
    preview = build_preview(CONFIG, data, references)
    assert [rule.path for rule in preview.rules] == ["h_*", "h_one", "absent_*", "twod"]
    assert [hist.path for hist in preview.rules[0].histograms] == ["h_one", "h_two"]
    assert preview.histogram_count == 3
    assert preview.problems == []
    assert preview.data_opened
    assert preview.references_opened == 2


def test_entries_type_and_bins(files):
    data, references = sources(files)
    preview = build_preview(CONFIG, data, references)
    one = preview.rules[0].histograms[0]
    assert one.hist_type.startswith("TH1")
    assert one.bins == "10"
    assert one.entries_data == pytest.approx(200)
    assert one.entries_refs == [pytest.approx(200), pytest.approx(200)]
    twod = preview.rules[3].histograms[0]
    assert twod.bins == "4 × 3"
    assert twod.hist_type.startswith("TH2")


def test_missing_in_reference_named(files):
    data, references = sources(files)
    preview = build_preview(CONFIG, data, references)
    two = preview.rules[0].histograms[1]
    assert two.path == "h_two"
    assert two.entries_refs[0] == pytest.approx(200)
    assert two.entries_refs[1] is None
    assert two.missing_in_references == [1]
    assert "not found" in two.ref_problems[1]
    assert preview.histograms_missing_in_references == [two]
    assert preview.rules[0].has_problem


def test_rule_matching_nothing_is_missing_in_data(files):
    data, references = sources(files)
    preview = build_preview(CONFIG, data, references)
    absent = preview.rules[2]
    assert absent.missing_in_data
    assert preview.rules_missing_in_data == [absent]


def test_excluded_and_earlier_rules_reported(files):
    data, references = sources(files)
    preview = build_preview(CONFIG, data, references)
    assert preview.rules[0].excluded == ["h_skip"]
    later = preview.rules[1]
    assert later.histograms == []
    assert later.claimed_earlier == ["h_one"]
    assert not later.missing_in_data
    assert later.comparators == ["ks_test"]
    assert preview.rules[0].comparators == ["beta_binomial"]


def test_unreadable_reference_is_a_problem(files, tmp_path):
    data, references = sources(files)
    broken = tmp_path / "broken.root"
    broken.write_text("<html>not a ROOT file</html>")
    references[1] = RunSource("reference", 9, "P/E-v1", str(broken))
    preview = build_preview(CONFIG, data, references)
    assert preview.references_opened == 1
    assert any("reference run 9" in problem and "not a ROOT file" in problem for problem in preview.problems)
    assert preview.rules[0].histograms[0].entries_refs[1] is None
    assert not preview.would_fail


def test_data_without_file_would_fail(files):
    _data, references = sources(files)
    data = RunSource("data", 10, "P/E-v1", problem="run 10 has no DQM file")
    preview = build_preview(CONFIG, data, references)
    assert preview.would_fail
    assert preview.rules == []
    assert preview.problems == ["data run 10 P/E-v1: run 10 has no DQM file"]


def test_wrong_folder_names_the_run(files):
    data, references = sources(files)
    config = dict(CONFIG, main_gdir="DQMData/Run {0}/Other/Run summary/")
    preview = build_preview(config, data, references)
    assert preview.would_fail
    assert any(problem.startswith("data run 10 P/E-v1:") and "Other" in problem for problem in preview.problems)
    assert "no reference run can be opened, so the comparison would fail" in preview.problems


def test_demo_csc_files(tmp_path):
    import json

    paths = write_demo_files(tmp_path)
    config = json.loads((CONFIGS / "CSC.json").read_text())
    by_run = {int(path.name.split("_R000")[1][:6]): str(path) for path in paths}
    preview = build_preview(
        config,
        RunSource("data", 355200, path=by_run[355200]),
        [RunSource("reference", 355100, path=by_run[355100])],
    )
    assert preview.problems == []
    assert preview.histogram_count == 44
    wires = next(rule for rule in preview.rules if rule.path == "Occupancy/hOWires").histograms[0]
    assert wires.bins == "36 × 20"
    assert wires.entries_data > 0


def test_format_bins():
    assert format_bins((50,)) == "50"
    assert format_bins((36, 20)) == "36 × 20"
