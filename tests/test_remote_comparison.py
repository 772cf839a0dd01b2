"""Comparisons of runs not yet downloaded: found and fetched from the local DQM file server."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from comparisons.config_io import import_config
from comparisons.models import Comparison
from runs.models import Run, RunFile
from tests.dqmserver_fixture import dqm_pki, dqm_server, remote_site  # noqa: F401

pytestmark = pytest.mark.django_db

SERIES, PRIMARY = "Run2022", "ZeroBias"
PROMPT = "Run2022C-PromptReco-v1"
RERECO = "Run2022C-10Dec2022-v1"
DATA_RUN, REF_RUNS = 355200, (355100, 355101)
DATASET = f"{PRIMARY}/{PROMPT}"
CONFIG = {
    "main_gdir": "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/",
    "comparators": ["beta_binomial"],
    "hists": [{"path": "recHits/*"}, {"path": "Digis/hOccupancy"}],
}


@pytest.fixture
def remote_runs(remote_site, dqm_server):
    """A CSC subsystem config and, on the server only, a data run whose timing peak moved and two references."""
    import_config("CSC", CONFIG)
    dqm_server.add_offline(SERIES, PRIMARY, PROMPT, DATA_RUN, seed=10, shift=2.0)
    dqm_server.add_offline(SERIES, PRIMARY, RERECO, DATA_RUN, seed=11)
    for seed, run in enumerate(REF_RUNS):
        dqm_server.add_offline(SERIES, PRIMARY, PROMPT, run, seed=seed)
    for seed, run in enumerate((DATA_RUN, *REF_RUNS)):
        dqm_server.add_online("CSC", run, seed=20 + seed, shift=2.0 if run == DATA_RUN else 0.0)
    return remote_site


def compare_json(capsys, *args):
    call_command("compare", "--subsystem", "CSC", *args, "--json")
    return json.loads(capsys.readouterr().out)


def test_compare_fetches_missing_runs(remote_runs, capsys):
    refs = ",".join(map(str, REF_RUNS))
    document = compare_json(capsys, "--data-run", str(DATA_RUN), "--ref-runs", refs, "--data-dataset", DATASET)
    assert document["status"] == "done", document["error"]
    outliers = {row["histogram"] for row in document["results"] if row["outlier"]}
    assert outliers == {"recHits/hRHTiming"}
    assert {row["histogram"] for row in document["results"]} == {
        "recHits/hRHGlobal", "recHits/hRHTiming", "Digis/hOccupancy",
    }
    files = RunFile.objects.order_by("run__number")
    assert [item.run.number for item in files] == sorted((DATA_RUN, *REF_RUNS))
    for item in files:
        assert item.path.startswith(str(remote_runs.ADQM_DB / "offline" / SERIES / PRIMARY))
        assert item.run.dataset == DATASET


def test_compare_era_only_dataset_takes_prompt_reco(remote_runs, capsys):
    document = compare_json(
        capsys, "--data-run", str(DATA_RUN), "--ref-runs", str(REF_RUNS[0]), "--data-dataset", f"{PRIMARY}/Run2022C"
    )
    assert document["status"] == "done", document["error"]
    assert Run.objects.get(number=DATA_RUN).dataset == DATASET
    assert f"/{DATASET}/{DATA_RUN}/vs/" in document["url"]


def test_compare_other_processing(remote_runs, capsys):
    document = compare_json(
        capsys, "--data-run", str(DATA_RUN), "--ref-runs", str(REF_RUNS[0]),
        "--data-dataset", f"{PRIMARY}/{RERECO}", "--ref-dataset", DATASET,
    )
    assert document["status"] == "done", document["error"]
    assert not any(row["outlier"] for row in document["results"])  # only the PromptReco file has the moved peak


def test_compare_online_runs_without_dataset(remote_runs, capsys):
    refs = ",".join(map(str, REF_RUNS))
    document = compare_json(capsys, "--data-run", str(DATA_RUN), "--ref-runs", refs)
    assert document["status"] == "done", document["error"]
    assert {row["histogram"] for row in document["results"] if row["outlier"]} == {"recHits/hRHTiming"}
    assert set(RunFile.objects.values_list("kind", "online_folder")) == {(RunFile.ONLINE, "CSC")}


def test_download_progress_shown_as_stage(remote_runs, capsys, monkeypatch):
    stages = []
    original = Comparison.set_progress

    def recording(self, done=None, total=None, stage=None):
        if stage is not None:
            stages.append(stage)
        original(self, done=done, total=total, stage=stage)

    monkeypatch.setattr(Comparison, "set_progress", recording)
    compare_json(capsys, "--data-run", str(DATA_RUN), "--ref-runs", str(REF_RUNS[0]), "--data-dataset", DATASET)
    downloads = [stage for stage in stages if stage.startswith("downloading")]
    pattern = re.compile(r"downloading run (\d+) ZeroBias/Run2022C-PromptReco-v1: \d+\.\d of \d+\.\d MB")
    assert downloads
    assert all(pattern.fullmatch(stage) for stage in downloads)
    assert {int(pattern.fullmatch(stage).group(1)) for stage in downloads} == {DATA_RUN, REF_RUNS[0]}


def test_unknown_run_on_server(remote_runs):
    with pytest.raises(CommandError, match=f"unknown data run 355299 in dataset {DATASET}"):
        call_command("compare", "--subsystem", "CSC", "--data-run", "355299", "--ref-runs", "355100",
                     "--data-dataset", DATASET)
    assert not Comparison.objects.exists()


def test_unknown_run_without_dataset_hints(remote_runs):
    with pytest.raises(CommandError, match="unknown data run 355299: .*give its dataset"):
        call_command("compare", "--subsystem", "CSC", "--data-run", "355299", "--ref-runs", "355100")


def test_refused_certificate_rejects_request(remote_runs, dqm_pki):
    remote_runs.ADQM_SSLCERT = remote_runs.ADQM_SSLKEY = str(dqm_pki.stranger_proxy)
    with pytest.raises(CommandError, match=f"data run {DATA_RUN}: .*rejected the grid certificate \\(HTTP 403\\)"):
        call_command("compare", "--subsystem", "CSC", "--data-run", str(DATA_RUN), "--ref-runs", "355100",
                     "--data-dataset", DATASET)


def test_failed_download_fails_comparison(remote_runs, dqm_server):
    data_path = next(path for path in dqm_server.files if f"R000{DATA_RUN}__{PRIMARY}__{PROMPT}" in path)
    dqm_server.set_behaviour(data_path, truncate=True)
    with pytest.raises(CommandError, match=f"run {DATA_RUN} {DATASET}: download of .* nothing was kept"):
        call_command("compare", "--subsystem", "CSC", "--data-run", str(DATA_RUN), "--ref-runs", "355100",
                     "--data-dataset", DATASET)
    comparison = Comparison.objects.get()
    assert comparison.status == Comparison.FAILED
    assert not RunFile.objects.filter(run__number=DATA_RUN).exists()


def test_missing_reference_file_left_out(remote_runs, dqm_server, capsys):
    compare_json(capsys, "--data-run", str(DATA_RUN), "--ref-runs", "355100,355101", "--data-dataset", DATASET)
    reference = RunFile.objects.get(run__number=355101)
    reference.delete()
    ref_path = next(path for path in dqm_server.files if f"R000355101__{PRIMARY}__{PROMPT}" in path)
    del dqm_server.files[ref_path]
    remote_runs.ADQM_DQM_LISTING_TTL = 0
    document = compare_json(
        capsys, "--data-run", str(DATA_RUN), "--ref-runs", "355100,355101", "--data-dataset", DATASET
    )
    assert document["status"] == "done"
    assert any("355101" in warning and "not found" in warning for warning in document["warnings"])
