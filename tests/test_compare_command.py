import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import uproot
from django.core.management import CommandError, call_command

from comparisons.config_io import import_config
from comparisons.models import Comparison, HistogramResult
from runs.registry import scan_folder
from tests.conftest import demo_description, demo_reference_runs

pytestmark = pytest.mark.django_db

REFS = ",".join(str(run) for run in demo_reference_runs())


def _compare_json(capsys, *args):
    call_command("compare", *args, "--json")
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("entry", demo_description()["data_runs"], ids=lambda entry: str(entry["run"]))
def test_demo_flags_exactly_the_faults(demo_site, capsys, entry):
    document = _compare_json(capsys, "--subsystem", "CSC", "--data-run", str(entry["run"]), "--ref-runs", REFS)
    outliers = {row["histogram"] for row in document["results"] if row["outlier"]}
    low_statistics = {row["histogram"] for row in document["results"] if not row["comparable"]}
    assert outliers == {fault["histogram"] for fault in entry["faults"]}
    assert low_statistics == {item["histogram"] for item in entry["low_statistics"]}
    for row in document["results"]:
        if not row["comparable"]:
            assert row["reason"].startswith("low statistics")


def test_json_document_shape(demo_site, capsys):
    document = _compare_json(capsys, "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", REFS)
    assert document["comparison"] == Comparison.objects.get().pk
    assert document["url"].endswith("/compare/CSC/ZeroBias/Run2022C-PromptReco-v1/355200/vs/"
                                     "ZeroBias/Run2022C-PromptReco-v1/355100_355101_355102/?version=1")
    keys = {"histogram", "comparator", "chi2", "max_pull", "ks", "outlier", "comparable", "reason", "png", "pdf", "txt"}
    for row in document["results"]:
        assert keys <= set(row)
        assert row["ks"] is None
    first = document["results"][0]
    assert first["outlier"] is True
    assert first["png"].endswith(".png")
    assert first["pdf"] is None
    assert len(document["results"]) == HistogramResult.objects.count()


def test_summary_lists_outliers_first(demo_site, capsys):
    call_command("compare", "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", REFS)
    output = capsys.readouterr().out
    assert "3 outliers" in output
    assert output.index("OUTLIER") < output.index("report: http")
    assert "comparator pca skipped" in output


@pytest.mark.parametrize(
    ("data_run", "refs", "message"),
    [
        ("999999", REFS, "unknown data run 999999"),
        ("355200", "355100,999998", "unknown reference run 999998"),
        ("355200", "", "at least one reference run"),
        ("355200", "355200,355100", "is the data run itself"),
    ],
)
def test_bad_request_rejected(demo_site, data_run, refs, message):
    with pytest.raises(CommandError, match=message):
        call_command("compare", "--subsystem", "CSC", "--data-run", data_run, "--ref-runs", refs)
    assert Comparison.objects.count() == 0


def test_unknown_subsystem_rejected(demo_site):
    with pytest.raises(CommandError, match="unknown subsystem 'NOPE'"):
        call_command("compare", "--subsystem", "NOPE", "--data-run", "355200", "--ref-runs", REFS)


def test_dataset_chooses_between_same_run_numbers(demo_site, capsys):
    source = next(demo_site.ADQM_DB.glob("*R000355100*"))
    shutil.copy(source, demo_site.ADQM_DB / "DQM_V0001_R000355100__ZeroBias__Run2022C-ReReco-v2__DQMIO.root")
    scan_folder(demo_site.ADQM_DB)
    with pytest.raises(CommandError, match="several datasets"):
        call_command("compare", "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", "355100")
    document = _compare_json(
        capsys, "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", "355100",
        "--ref-dataset", "ZeroBias/Run2022C-ReReco-v2",
    )
    assert "/vs/ZeroBias/Run2022C-ReReco-v2/355100/" in document["url"]


def test_corrupt_reference_left_out(demo_site, capsys):
    corrupt = next(demo_site.ADQM_DB.glob("*R000355102*"))
    corrupt.write_bytes(corrupt.read_bytes()[:5000])
    document = _compare_json(capsys, "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", REFS)
    assert document["status"] == "done"
    assert any(corrupt.name in warning and "355102" in warning for warning in document["warnings"])
    assert {row["histogram"] for row in document["results"] if row["outlier"]} == {
        "Occupancy/hOWires", "recHits/hRHGlobalp2", "Segments/hSTimeCombined"}


def test_corrupt_data_fails_and_keeps_stored(demo_site, capsys):
    _compare_json(capsys, "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", REFS)
    stored = HistogramResult.objects.count()
    data = next(demo_site.ADQM_DB.glob("*R000355200*"))
    data.write_bytes(data.read_bytes()[:5000])
    with pytest.raises(CommandError) as error:
        call_command("compare", "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", REFS)
    assert data.name in str(error.value)
    assert "data run 355200" in str(error.value)
    assert HistogramResult.objects.count() == stored
    assert Comparison.objects.filter(status=Comparison.FAILED).count() == 1


def _write(path, run, histograms):
    with uproot.recreate(path) as handle:
        for name, value in histograms.items():
            handle[f"DQMData/Run {run}/Tiny/Run summary/{name}"] = value


@pytest.fixture
def tiny_site(site_dirs, db):
    rng = np.random.default_rng(7)
    edges = np.linspace(0, 10, 21)
    shape = np.exp(-0.5 * ((edges[:-1] - 5) / 2) ** 2)

    def sample(total):
        return rng.poisson(total * shape / shape.sum()).astype(float)

    folder = site_dirs.ADQM_DB
    data = {"same": (sample(5e4), edges), "only_data": (sample(5e4), edges), "rebinned": (sample(5e4), edges),
            "empty": (np.zeros(20), edges), "dead": (np.zeros(20), edges)}
    reference = {"same": (sample(5e4), edges), "rebinned": (sample(5e4)[:10], np.linspace(0, 10, 11)),
                 "empty": (np.zeros(20), edges), "dead": (sample(5e4), edges)}
    _write(folder / "DQM_V0001_R000000002__Tiny__Era-Proc__DQMIO.root", 2, data)
    _write(folder / "DQM_V0001_R000000001__Tiny__Era-Proc__DQMIO.root", 1, reference)
    scan_folder(folder)
    rules = [{"path": name} for name in ("same", "only_data", "rebinned", "empty", "dead", "absent")]
    import_config("Tiny", {"main_gdir": "DQMData/Run {0}/Tiny/Run summary/", "hists": rules})
    return site_dirs


def test_bad_histograms_reported_rest_completes(tiny_site, capsys):
    document = _compare_json(capsys, "--subsystem", "Tiny", "--data-run", "2", "--ref-runs", "1")
    rows = {row["histogram"]: row for row in document["results"]}
    assert document["status"] == "done"
    assert rows["same"]["comparable"] is True
    assert rows["same"]["outlier"] is False
    assert rows["only_data"]["comparable"] is False
    assert "missing from every reference file" in rows["only_data"]["reason"]
    assert "only_data" in rows["only_data"]["reason"]
    assert rows["rebinned"]["comparable"] is False
    assert "binning" in rows["rebinned"]["reason"]
    assert rows["empty"]["comparable"] is False
    assert "empty" in rows["empty"]["reason"]
    assert rows["dead"]["outlier"] is True
    assert rows["dead"]["comparable"] is False
    assert "data histogram is empty" in rows["dead"]["reason"]
    assert any("'absent' matches no histogram" in warning for warning in document["warnings"])


def test_source_chooses_online_file(demo_site, capsys):
    for run in (355200, 355100):
        source = next(demo_site.ADQM_DB.glob(f"*R000{run}__*"))
        shutil.copy(source, demo_site.ADQM_DB / f"DQM_V0001_CSC_R000{run}.root")
    scan_folder(demo_site.ADQM_DB)
    with pytest.raises(CommandError, match="several datasets"):
        call_command("compare", "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", "355100")
    document = _compare_json(
        capsys, "--subsystem", "CSC", "--data-run", "355200", "--ref-runs", "355100", "--source", "online"
    )
    comparison = Comparison.objects.get(pk=document["comparison"])
    assert comparison.source == "online"
    assert comparison.data_run.primary_dataset == ""
    assert "/compare/CSC/-/-/355200/vs/-/-/355100/" in document["url"]
    outlier = next(row for row in document["results"] if row["outlier"])
    assert "DQM_V0001_CSC_R000355200.root" in Path(outlier["txt"]).read_text()


def test_rejected_request_json(demo_site, capsys):
    with pytest.raises(CommandError):
        call_command("compare", "--subsystem", "CSC", "--data-run", "999999", "--ref-runs", REFS, "--json")
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "rejected"
    assert document["comparison"] is None
    assert "unknown data run 999999" in document["error"]
