"""Tests of the demo DQM files: layout, contents, faults and bad inputs."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import uproot

from comparisons import rules
from comparisons.comparators import beta_binomial
from runs import demo, rootio

CSC_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "configs" / "CSC.json"
OFFLINE_NAME = "DQM_V0001_R000{run}__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root"


@pytest.fixture(scope="module")
def description():
    return demo.load_description()


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory, description):
    folder = tmp_path_factory.mktemp("demo")
    paths = demo.write_demo_files(folder)
    return {int(path.name.split("__")[0].rsplit("_R", 1)[1]): path for path in paths}


@pytest.fixture(scope="module")
def contents(demo_files):
    """Bin contents read back from every demo file, as {run: {path: values}}."""
    result = {}
    for run, path in demo_files.items():
        folder = demo.MONITOR_FOLDER.format(run=run)
        with uproot.open(path) as root_file:
            result[run] = {
                spec.path: root_file[f"{folder}/{spec.path}"].values()
                for spec in demo.histogram_specs()
            }
    return result


def _runs(description, kind):
    return [entry["run"] for entry in description[kind]]


def _score(contents, run, refs, path, **options):
    """Score one histogram of ``run`` against the reference runs with beta_binomial."""
    result = beta_binomial(contents[run][path], [contents[ref][path] for ref in refs], **options)
    assert result is not None, (run, path)
    return result


def test_description_names_dataset_and_runs(description):
    assert description["subsystem"] == "CSC"
    assert (description["primary_dataset"], description["era"]) == ("ZeroBias", "Run2022C")
    assert description["processing"] == "PromptReco-v1"
    assert _runs(description, "reference_runs") == [355100, 355101, 355102]
    assert _runs(description, "data_runs") == [355200, 355201, 355202]
    assert isinstance(description["seed"], int)


def test_description_lists_three_fault_kinds(description):
    faults = description["data_runs"][0]["faults"]
    assert sorted(fault["kind"] for fault in faults) == ["dead_region", "hot_cell", "shifted_peak"]
    assert description["data_runs"][1]["faults"] == []
    assert description["data_runs"][2]["faults"] == []


def test_write_demo_files_names(demo_files, description):
    runs = _runs(description, "reference_runs") + _runs(description, "data_runs")
    assert sorted(demo_files) == runs
    for run, path in demo_files.items():
        assert path.name == OFFLINE_NAME.format(run=run)
        assert path.is_file()


def test_files_hold_every_histogram_as_th1f_or_th2f(demo_files):
    for run, path in demo_files.items():
        folder = demo.MONITOR_FOLDER.format(run=run)
        with uproot.open(path) as root_file:
            for spec in demo.histogram_specs():
                histogram = root_file[f"{folder}/{spec.path}"]
                assert histogram.classname == ("TH2F" if spec.is_2d else "TH1F")
                assert histogram.title == spec.title


def test_binning_follows_csc_offline_monitor(demo_files):
    with uproot.open(demo_files[355100]) as root_file:
        folder = root_file[demo.MONITOR_FOLDER.format(run=355100)]
        wires = folder["Occupancy/hOWires"]
        assert wires.values().shape == (36, 20)
        assert wires.axis(0).edges()[[0, -1]].tolist() == [0.5, 36.5]
        assert wires.axis(1).labels()[0] == "ME -4/2"
        assert wires.axis(1).labels()[-1] == "ME +4/2"
        assert folder["recHits/hRHGlobalm3"].values().shape == (100, 100)
        assert folder["recHits/hRHGlobalm3"].axis(0).edges()[[0, -1]].tolist() == [-800, 800]
        assert folder["Digis/hWireTBin_p21"].values().shape == (17,)
        assert folder["Segments/hSTimeCombined"].values().shape == (200,)
        assert folder["Segments/hSTimeCombinedSerial"].values().shape == (601, 200)
        assert folder["Segments/hSChiSq"].member("fXaxis").member("fTitle") == "Chi2/ndof"


def test_partial_bin_labels_keep_bin_numbers(demo_files):
    with uproot.open(demo_files[355100]) as root_file:
        folder = root_file[demo.MONITOR_FOLDER.format(run=355100)]
        labels = folder["Occupancy/hCSCOccupancy"].member("fXaxis").member("fLabels")
        assert [label.member("@fUniqueID") for label in labels] == [2, 4, 6, 8, 10, 12]
        assert str(labels[0]) == "Total Events"


def test_integer_monitor_element_key(demo_files):
    with uproot.open(demo_files[355201]) as root_file:
        event_info = root_file[demo.EVENT_INFO_FOLDER.format(run=355201)]
        assert [(name, obj.classname) for name, obj in event_info.items()] == [
            ("<iRun>i=355201</iRun>;1", "TObjString")
        ]


def test_every_csc_rule_matches(demo_files):
    config = json.loads(CSC_CONFIG.read_text())
    for run, path in demo_files.items():
        with rootio.open_root(path) as root:
            folder = rootio.resolve_folder(root, config["main_gdir"], run)
            matches, unmatched = rules.match_rules(folder, config["hists"])
        matched_paths = {match.path for match in matches}
        assert unmatched == []
        expanded = {"recHits/hRHGlobalp1", "recHits/hRHGlobalm4", "Digis/hWireTBin_p11b"}
        assert expanded <= matched_paths
        assert matched_paths.isdisjoint(demo.unmatched_histogram_paths())
        unmatched_count = len(demo.unmatched_histogram_paths())
        assert len(matched_paths) == len(demo.histogram_specs()) - unmatched_count


def test_good_runs_have_1e5_to_1e6_entries(contents, description):
    low = {
        (entry["run"], item["histogram"])
        for entry in description["data_runs"]
        for item in entry["low_statistics"]
    }
    for run, histograms in contents.items():
        for path, values in histograms.items():
            if (run, path) not in low:
                assert 1e5 <= values.sum() <= 1e6, (run, path)


def test_low_statistics_entries_match_description(contents, description):
    entry = description["data_runs"][2]
    assert len(entry["low_statistics"]) >= 3
    for item in entry["low_statistics"]:
        assert item["entries"] < 50
        assert contents[entry["run"]][item["histogram"]].sum() == item["entries"]


def test_dead_region_is_empty(contents, description):
    fault = next(f for f in description["data_runs"][0]["faults"] if f["kind"] == "dead_region")
    (x_first, x_last), (y_first, y_last) = fault["x_bins"], fault["y_bins"]
    region = (slice(x_first - 1, x_last), slice(y_first - 1, y_last))
    assert contents[355200][fault["histogram"]][region].sum() == 0
    assert contents[355100][fault["histogram"]][region].min() > 500


def test_hot_cell_stands_out(contents, description):
    fault = next(f for f in description["data_runs"][0]["faults"] if f["kind"] == "hot_cell")
    cell = (fault["x_bin"] - 1, fault["y_bin"] - 1)
    path = fault["histogram"]
    assert contents[355200][path][cell] > 20 * contents[355100][path][cell]


def test_shifted_peak_moves_mean(contents, description):
    fault = next(f for f in description["data_runs"][0]["faults"] if f["kind"] == "shifted_peak")
    centres = next(s for s in demo.histogram_specs() if s.path == fault["histogram"]).x.centres()

    def peak_mean(values):
        window = np.abs(centres) < 20
        return (values[window] * centres[window]).sum() / values[window].sum()

    path = fault["histogram"]
    shift = peak_mean(contents[355200][path]) - peak_mean(contents[355100][path])
    assert shift == pytest.approx(fault["shift"], abs=0.3)


def test_every_fault_is_flagged(contents, description):
    refs = _runs(description, "reference_runs")
    for entry in description["data_runs"]:
        for fault in entry["faults"]:
            result = _score(contents, entry["run"], refs, fault["histogram"])
            assert result.is_outlier, (entry["run"], fault, result.chi2, result.max_pull)
            assert result.chi2 > 10 or abs(result.max_pull) > 10


def test_good_histograms_are_not_flagged(contents, description):
    refs = _runs(description, "reference_runs")
    for entry in description["data_runs"]:
        skipped = {item["histogram"] for item in entry["faults"] + entry["low_statistics"]}
        for path in contents[entry["run"]]:
            if path in skipped:
                continue
            result = _score(contents, entry["run"], refs, path)
            assert not result.is_outlier, (entry["run"], path, result.chi2, result.max_pull)


def test_low_statistics_skipped_by_min_entries(contents, description):
    refs = _runs(description, "reference_runs")
    entry = description["data_runs"][2]
    for item in entry["low_statistics"]:
        result = _score(contents, entry["run"], refs, item["histogram"], min_entries=50)
        assert not result.is_outlier, (item, result.chi2, result.max_pull)


def test_references_agree_with_each_other(contents, description):
    refs = _runs(description, "reference_runs")
    for run in refs:
        others = [other for other in refs if other != run]
        for path in ("Occupancy/hOWires", "recHits/hRHGlobalp2", "Segments/hSTimeCombined"):
            result = _score(contents, run, others, path)
            assert result.chi2 < 2, (run, path, result.chi2)
            assert abs(result.max_pull) < 5, (run, path, result.max_pull)


def test_draw_run_is_deterministic(description):
    entry = description["data_runs"][0]
    first = demo.draw_run(entry, description["seed"])
    second = demo.draw_run(entry, description["seed"])
    for path, drawn in first.items():
        np.testing.assert_array_equal(drawn.counts, second[path].counts)
        assert drawn.overflow == second[path].overflow


def test_rewritten_files_have_same_contents(tmp_path, contents):
    path = demo.write_demo_files(tmp_path)[0]
    with uproot.open(path) as root_file:
        values = root_file[demo.MONITOR_FOLDER.format(run=355100) + "/Occupancy/hOStrips"].values()
    np.testing.assert_array_equal(values, contents[355100]["Occupancy/hOStrips"])


def test_demo_files_leave_out_corrupt_examples(demo_files, description):
    corrupt = description["corrupt_examples"]
    assert corrupt["truncated_run"] not in demo_files
    assert corrupt["not_root_run"] not in demo_files


def test_corrupt_examples_are_unreadable(tmp_path):
    truncated, text = demo.write_corrupt_examples(tmp_path)
    assert truncated.name == OFFLINE_NAME.format(run=355203)
    assert text.name == OFFLINE_NAME.format(run=355204)
    readable, reason = rootio.is_readable_root(truncated)
    assert not readable
    assert "truncated" in reason
    readable, reason = rootio.is_readable_root(text)
    assert not readable
    assert "not a ROOT file" in reason


def test_invalid_fault_names_run(description):
    broken = copy.deepcopy(description)
    broken["data_runs"][0]["faults"][0]["histogram"] = "Occupancy/hONothing"
    with pytest.raises(ValueError, match="run 355200.*Occupancy/hONothing"):
        demo.validate_description(broken)


def test_unknown_fault_kind_is_rejected(description):
    broken = copy.deepcopy(description)
    broken["data_runs"][0]["faults"][0]["kind"] = "flipped"
    with pytest.raises(ValueError, match="unknown fault kind 'flipped'"):
        demo.validate_description(broken)


def test_missing_key_is_rejected(description):
    broken = {key: value for key, value in description.items() if key != "seed"}
    with pytest.raises(ValueError, match="missing keys seed"):
        demo.validate_description(broken)


def test_invalid_json_names_file(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON in demo description .*demo.json"):
        demo.load_description(path)


def test_fault_bins_outside_axis_rejected(description):
    broken = copy.deepcopy(description)
    dead_region = next(f for f in broken["data_runs"][0]["faults"] if f["kind"] == "dead_region")
    dead_region["x_bins"] = [30, 37]
    with pytest.raises(ValueError, match=r"invalid x_bins \[30, 37\]; bins count from 1 to 36"):
        demo.validate_description(broken)
