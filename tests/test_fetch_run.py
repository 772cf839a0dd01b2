"""The fetch_run and list_remote commands against the local DQM file server."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from runs.models import Run, RunFile
from tests.dqmserver_fixture import dqm_pki, dqm_server, offline_name, online_name, remote_site  # noqa: F401

pytestmark = pytest.mark.django_db

SERIES, PRIMARY, RUN = "Run2022", "ZeroBias", 355200
PROMPT = "Run2022C-PromptReco-v1"
RERECO = "Run2022C-10Dec2022-v1"


@pytest.fixture
def published(dqm_server):
    paths = {
        "prompt": dqm_server.add_offline(SERIES, PRIMARY, PROMPT, RUN, seed=1),
        "rereco": dqm_server.add_offline(SERIES, PRIMARY, RERECO, RUN, seed=2),
        "online": dqm_server.add_online("CSC", RUN, seed=3),
    }
    dqm_server.add_offline(SERIES, PRIMARY, PROMPT, RUN + 7, seed=4)
    return paths


def fetch(*args):
    out, err = StringIO(), StringIO()
    call_command("fetch_run", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_offline_run_prefers_prompt_reco(remote_site, published, dqm_server):
    out, _ = fetch("--source", "offline", "--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN))
    destination = remote_site.ADQM_DB / "offline" / SERIES / PRIMARY / offline_name(RUN, PRIMARY, PROMPT)
    assert out.startswith(f"downloaded run {RUN} {PRIMARY}/{PROMPT} (")
    assert str(destination) in out
    assert destination.read_bytes() == dqm_server.files[published["prompt"]]
    run_file = RunFile.objects.get()
    assert run_file.path == str(destination)
    assert run_file.kind == RunFile.OFFLINE
    assert run_file.size == destination.stat().st_size
    assert (run_file.run.number, run_file.run.dataset) == (RUN, f"{PRIMARY}/{PROMPT}")


def test_offline_run_other_processing(remote_site, published):
    fetch("--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN), "--processing", RERECO)
    run = Run.objects.get()
    assert run.dataset == f"{PRIMARY}/{RERECO}"
    assert run.files.get().path.endswith(offline_name(RUN, PRIMARY, RERECO))


def test_series_from_dataset_era(remote_site, published):
    out, _ = fetch("--dataset", f"{PRIMARY}/{RERECO}", "--run", str(RUN))
    assert f"{PRIMARY}/{RERECO}" in out
    assert Run.objects.get().processing == "10Dec2022-v1"


def test_second_fetch_is_not_downloaded(remote_site, published, dqm_server):
    args = ("--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN))
    fetch(*args)
    out, _ = fetch(*args)
    assert out.startswith(f"already downloaded run {RUN}")
    assert dqm_server.count(published["prompt"]) == 1
    assert RunFile.objects.count() == 1


def test_online_run_by_subsystem(remote_site, published, dqm_server):
    out, _ = fetch("--source", "online", "--run", str(RUN), "--subsystem", "CSC")
    destination = remote_site.ADQM_DB / "online" / "0003552xx" / online_name("CSC", RUN)
    assert str(destination) in out
    run_file = RunFile.objects.get()
    assert (run_file.kind, run_file.online_folder) == (RunFile.ONLINE, "CSC")
    assert run_file.run.dataset == ""


def test_online_run_needs_folder(remote_site, published):
    with pytest.raises(CommandError, match="give --subsystem or --folder"):
        fetch("--source", "online", "--run", str(RUN))


def test_online_run_unknown_folder(remote_site, published):
    with pytest.raises(CommandError, match=f"online run {RUN} has no L1T file .*it has: CSC"):
        fetch("--source", "online", "--run", str(RUN), "--folder", "L1T")


def test_unknown_run(remote_site, published):
    with pytest.raises(CommandError, match=f"run 355201 of dataset {PRIMARY} not found .*series {SERIES}"):
        fetch("--series", SERIES, "--dataset", PRIMARY, "--run", "355201")
    assert not Run.objects.exists()


def test_unknown_dataset(remote_site, published):
    with pytest.raises(CommandError, match=f"dataset Muon not found in series {SERIES}; available: {PRIMARY}"):
        fetch("--series", SERIES, "--dataset", "Muon", "--run", str(RUN))


def test_unknown_processing(remote_site, published):
    with pytest.raises(CommandError, match=f"no processing 'Run2022D-PromptReco-v1'; available: {RERECO}, {PROMPT}"):
        fetch("--dataset", PRIMARY, "--series", SERIES, "--run", str(RUN), "--processing", "Run2022D-PromptReco-v1")


def test_missing_certificate(remote_site, published, tmp_path):
    remote_site.ADQM_SSLCERT = remote_site.ADQM_SSLKEY = str(tmp_path / "x509up_u1000")
    with pytest.raises(CommandError, match="x509up_u1000 not found; run 'voms-proxy-init"):
        fetch("--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN))


def test_refused_certificate(remote_site, published, dqm_pki):
    remote_site.ADQM_SSLCERT = remote_site.ADQM_SSLKEY = str(dqm_pki.stranger_proxy)
    with pytest.raises(CommandError, match="rejected the grid certificate \\(HTTP 403\\)"):
        fetch("--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN))


def test_truncated_download_fails_cleanly(remote_site, published, dqm_server):
    dqm_server.set_behaviour(published["prompt"], truncate=True)
    with pytest.raises(CommandError, match="transfer stopped at .* nothing was kept"):
        fetch("--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN))
    folder = remote_site.ADQM_DB / "offline" / SERIES / PRIMARY
    assert [path.name for path in folder.iterdir() if not path.name.endswith(".lock")] == []
    assert not RunFile.objects.exists()


def test_not_configured(site_dirs):
    site_dirs.ADQM_DQM_URL = ""
    with pytest.raises(CommandError, match="no DQM file server is configured: set ADQM_DQM_URL"):
        fetch("--series", SERIES, "--dataset", PRIMARY, "--run", str(RUN))


def test_list_remote_levels(remote_site, published):
    def listed(*args):
        out, err = StringIO(), StringIO()
        call_command("list_remote", *args, stdout=out, stderr=err)
        return out.getvalue().splitlines(), err.getvalue()

    series, err = listed()
    assert series == [SERIES]
    assert "1 series (server)" in err
    assert listed("--series", SERIES)[0] == [PRIMARY]
    runs, _ = listed("--series", SERIES, "--dataset", PRIMARY)
    assert runs == [f"{RUN + 7} {PRIMARY}/{PROMPT}", f"{RUN} {PRIMARY}/{PROMPT} {PRIMARY}/{RERECO}"]
    assert listed("--source", "online")[0] == ["00035xxxx"]
    assert listed("--source", "online", "--series", "00035xxxx")[0] == [str(RUN)]
