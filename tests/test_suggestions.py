"""Reference suggestions and the run pickers' lists."""

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from comparisons.models import RunQuality, Subsystem
from comparisons.suggestions import (
    Candidate,
    enough_entries,
    list_datasets,
    list_runs,
    probe_rule_paths,
    rank_references,
    suggest_references,
)
from runs.models import Run
from tests.ui_site import DATASET, csc_configs, demo_folder, online_folder, online_runs, ui_site  # noqa: F401 - fixtures


def test_enough_entries_absolute_and_relative():
    assert enough_entries(1000, 2000)
    assert enough_entries(500, 2000)
    assert not enough_entries(499, 2000)
    assert not enough_entries(99, None)
    assert enough_entries(100, None)
    assert not enough_entries(None, 2000)


def test_rank_prefers_good_then_recent():
    candidates = [
        Candidate(10, verdict=""),
        Candidate(9, verdict="good", verdict_note="good by ann"),
        Candidate(8, verdict=""),
        Candidate(7, verdict="good", verdict_note="good by bob"),
    ]
    result = rank_references(candidates, 1000, lambda candidate: 1000, count=3)
    assert [item.number for item in result.suggestions] == [9, 7, 10]
    assert result.suggestions[0].good
    assert result.suggestions[0].note == "marked good: good by ann"
    assert result.suggestions[2].note == "recent run"


def test_rank_skips_bad_and_thin_runs():
    entries = {10: 1000, 9: 10, 8: 1000, 7: None}
    candidates = [Candidate(10, verdict="bad", verdict_note="bad by ann"), Candidate(9), Candidate(8), Candidate(7)]
    result = rank_references(candidates, 1000, lambda candidate: entries[candidate.number], count=3)
    assert [item.number for item in result.suggestions] == [8]
    reasons = dict(result.skipped)
    assert reasons[10] == "marked bad: bad by ann"
    assert reasons[9] == "only 10 entries (at least 100 needed)"
    assert reasons[7].startswith("entries unknown")


def test_rank_reads_entries_only_as_needed():
    asked = []

    def entries_of(candidate):
        asked.append(candidate.number)
        return 1000

    rank_references([Candidate(number) for number in range(20)], 1000, entries_of, count=2)
    assert asked == [19, 18]


def test_relative_cut_reason():
    result = rank_references([Candidate(5)], 10000, lambda candidate: 1000)
    assert result.skipped == [(5, "1000 entries, under 25% of the data run's 10000")]


def test_probe_prefers_always_show():
    config = {"hists": [{"path": "a"}, {"path": "b", "always_show": True}, {"path": "c"}]}
    assert probe_rule_paths(config) == ["b", "a", "c"]


@pytest.mark.django_db
def test_demo_suggestions(ui_site):
    subsystem = Subsystem.objects.get(name="CSC")
    data = Run.objects.get(number=355200)
    result = suggest_references(subsystem, data)
    assert [item.number for item in result.suggestions] == [355102, 355101, 355100]
    assert result.probe == "recHits/hRHnrechits"
    assert result.data_entries > 0
    assert all(item.dataset == DATASET for item in result.suggestions)


@pytest.mark.django_db
def test_demo_suggestions_follow_verdicts(ui_site):
    subsystem = Subsystem.objects.get(name="CSC")
    author = get_user_model().objects.create_user("shifter")
    RunQuality.record(Run.objects.get(number=355100), subsystem, "good", "stable beams", author)
    RunQuality.record(Run.objects.get(number=355201), subsystem, "bad", "HV trip", author)
    result = suggest_references(subsystem, Run.objects.get(number=355202), count=3)
    assert [item.number for item in result.suggestions] == [355100, 355200, 355102]
    assert result.suggestions[0].good
    assert (355201, f"marked bad: bad by shifter on {RunQuality.objects.first().created_at:%Y-%m-%d} (HV trip)") in (
        result.skipped
    )


@pytest.mark.django_db
def test_superseded_good_verdict_ignored(ui_site):
    subsystem = Subsystem.objects.get(name="CSC")
    run = Run.objects.get(number=355100)
    RunQuality.record(run, subsystem, "good", "", None)
    RunQuality.record(run, subsystem, "bad", "noisy after all", None)
    result = suggest_references(subsystem, Run.objects.get(number=355200))
    assert [item.number for item in result.suggestions] == [355102, 355101]


@pytest.mark.django_db
def test_list_runs_searches_digits(ui_site):
    numbers = [item["number"] for item in list_runs("offline", DATASET, "3551")]
    assert numbers == [355102, 355101, 355100]
    assert [item["number"] for item in list_runs("offline", "", "5520")] == [355202, 355201, 355200]
    assert list_runs("online", "", "") == []
    assert list_datasets("offline") == [DATASET]
    assert list_datasets("online") == []


@pytest.mark.django_db
def test_list_runs_prefix_matches_first(ui_site):
    numbers = [item["number"] for item in list_runs("offline", DATASET, "55")]
    assert numbers[:3] == [355202, 355201, 355200]
    assert [item["number"] for item in list_runs("offline", DATASET, "3552")] == [355202, 355201, 355200]


@pytest.mark.django_db
def test_list_runs_shows_verdicts(ui_site):
    subsystem = Subsystem.objects.get(name="CSC")
    RunQuality.record(Run.objects.get(number=355101), subsystem, "good", "", None)
    items = {item["number"]: item for item in list_runs("offline", DATASET, "", subsystem=subsystem)}
    assert items[355101]["verdict"] == "good"
    assert items[355101]["verdict_note"].startswith("good by someone on ")
    assert items[355100]["verdict"] == ""


@pytest.mark.django_db
def test_list_runs_merges_file_server(ui_site, monkeypatch):
    from runs import sources

    ui_site.ADQM_DQM_URL = "https://dqm.example.invalid/"
    calls = []

    def fake_list_choices(series="", dataset="", source="offline"):
        calls.append((series, dataset, source))
        items = [SimpleNamespace(number=355300, datasets=(DATASET,)), SimpleNamespace(number=355100, datasets=(DATASET,))]
        return SimpleNamespace(origin="server", level="runs", items=items, error="")

    monkeypatch.setattr(sources, "list_choices", fake_list_choices)
    items = list_runs("offline", DATASET, "3553")
    assert calls == [("Run2022", "ZeroBias", "offline")]
    assert items == [{"number": 355300, "dataset": DATASET, "origin": "server", "verdict": "", "verdict_note": ""}]


@pytest.mark.django_db
def test_online_runs_listed_and_suggested(online_runs):
    subsystem = Subsystem.objects.get(name="CSC")
    assert [item["number"] for item in list_runs("online", "", "", subsystem=subsystem)] == [355301, 355300]
    assert list_datasets("online") == [""]
    data = Run.objects.get(number=355301)
    result = suggest_references(subsystem, data, source="online")
    assert [item.number for item in result.suggestions] == [355300], result
    assert result.suggestions[0].dataset == ""


@pytest.mark.django_db
def test_release_validation_shares_run_number(ui_site, tmp_path):
    import shutil

    from django.core.management import call_command

    from runs.registry import ScanReport, scan_path
    from tests.conftest import CONFIGS, FIXTURES

    shutil.copy(CONFIGS / "HcalRecHits.json", tmp_path / "HcalRecHits.json")
    call_command("load_configs", str(tmp_path), verbosity=0)
    report = ScanReport()
    scan_path(FIXTURES / "real" / "HcalRecHitsValidationHB__2007-08-24.root", report, 1, "RelValHcal/CMSSW_1_6_0_pre10")
    scan_path(FIXTURES / "real" / "HcalRecHitsValidationHB__2007-11-16.root", report, 1, "RelValHcal/CMSSW_1_7_0_pre12")
    subsystem = Subsystem.objects.get(name="HcalRecHits")
    data = Run.objects.in_dataset("RelValHcal/CMSSW_1_7_0_pre12").get(number=1)
    assert suggest_references(subsystem, data, source="local").suggestions == []
    result = suggest_references(subsystem, data, source="local", dataset="RelValHcal/CMSSW_1_6_0_pre10")
    assert [(item.number, item.dataset) for item in result.suggestions] == [(1, "RelValHcal/CMSSW_1_6_0_pre10")]
