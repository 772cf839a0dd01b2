"""runs.sources: finding, fetching and listing runs on the DQM file server or in ADQM_DB."""

import pytest

from runs import sources
from runs.dqmserver import CertificateRejected, DqmServerError
from runs.models import Run, RunFile
from runs.registry import register_file
from tests.dqmserver_fixture import dqm_pki, dqm_server, offline_name, remote_site, write_dqm_file  # noqa: F401

pytestmark = pytest.mark.django_db

SERIES, PRIMARY, RUN = "Run2022", "ZeroBias", 355200
PROMPT = "Run2022C-PromptReco-v1"
RERECO = "Run2022C-10Dec2022-v1"


@pytest.fixture
def published(dqm_server):
    dqm_server.add_offline(SERIES, PRIMARY, RERECO, RUN, seed=1)
    dqm_server.add_offline(SERIES, PRIMARY, PROMPT, RUN, seed=2)
    dqm_server.add_offline("Commissioning2022", "Cosmics", "Commissioning2022-PromptReco-v1", 349000, seed=3)
    dqm_server.add_online("CSC", RUN, seed=4)
    return dqm_server


def test_remote_configured(settings):
    settings.ADQM_DQM_URL = ""
    assert not sources.remote_configured()
    settings.ADQM_DQM_URL = "https://127.0.0.1:8443/dqm/"
    assert sources.remote_configured()


@pytest.mark.parametrize(
    ("era", "series"),
    [("Run2022C", "Run2022"), ("Commissioning2018", "Commissioning2018"), ("HIRun2023A", "HIRun2023"), ("", "")],
)
def test_guess_series(era, series):
    assert sources.guess_series(era) == series


def test_server_config_from_settings(remote_site, dqm_pki):
    remote_site.ADQM_SSLKEY = ""
    config = sources.server_config()
    assert config.base_url == remote_site.ADQM_DQM_URL
    assert config.cert == config.key == str(dqm_pki.proxy)
    assert config.state_dir == remote_site.ADQM_DB / ".dqmserver"
    assert config.retries == 1
    assert config.read_timeout == pytest.approx(2.0)


def test_find_remote_run_prefers_prompt_reco(remote_site, published):
    run = sources.find_remote_run(RUN, PRIMARY)
    assert run.dataset == f"{PRIMARY}/{PROMPT}"
    assert not run.files.exists()


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        (f"{PRIMARY}/{RERECO}", RERECO),
        (f"{PRIMARY}/Run2022C", PROMPT),
        (f"/{PRIMARY}/{RERECO}/DQMIO", RERECO),
    ],
)
def test_find_remote_run_dataset_forms(remote_site, published, dataset, expected):
    assert sources.find_remote_run(RUN, dataset).dataset == f"{PRIMARY}/{expected}"


def test_find_remote_run_searches_series_without_era(remote_site, published):
    run = sources.find_remote_run(349000, "Cosmics")
    assert run.dataset == "Cosmics/Commissioning2022-PromptReco-v1"


def test_find_remote_run_unknown_gives_none(remote_site, published):
    assert sources.find_remote_run(355201, PRIMARY) is None
    assert sources.find_remote_run(RUN, "Muon/Run2022C-PromptReco-v1") is None
    assert not Run.objects.exists()


def test_find_remote_run_without_dataset_is_online(remote_site, published):
    run = sources.find_remote_run(RUN, subsystem="CSC")
    assert (run.number, run.dataset) == (RUN, "")
    assert sources.find_remote_run(RUN, subsystem="EMTF") is None  # EMTF files are in the L1T folder


def test_find_remote_run_not_configured(site_dirs):
    site_dirs.ADQM_DQM_URL = ""
    assert sources.find_remote_run(RUN, PRIMARY) is None


def test_find_remote_run_refused_certificate_raises(remote_site, published, dqm_pki):
    remote_site.ADQM_SSLCERT = remote_site.ADQM_SSLKEY = str(dqm_pki.stranger_proxy)
    with pytest.raises(CertificateRejected):
        sources.find_remote_run(RUN, PRIMARY)


def test_fetch_run_file_offline(remote_site, published):
    run = sources.find_remote_run(RUN, f"{PRIMARY}/{RERECO}")
    calls = []
    run_file = sources.fetch_run_file(run, "CSC", progress=lambda done, total: calls.append((done, total)))
    assert run_file.run == run
    assert run_file.path.endswith(f"offline/{SERIES}/{PRIMARY}/{offline_name(RUN, PRIMARY, RERECO)}")
    assert calls[-1] == (run_file.size, run_file.size)


def test_fetch_run_file_online(remote_site, published):
    run = Run.objects.create(number=RUN)
    run_file = sources.fetch_run_file(run, "CSC")
    assert (run_file.run, run_file.kind, run_file.online_folder) == (run, RunFile.ONLINE, "CSC")


def test_fetch_run_file_unreadable_is_removed(remote_site, published, dqm_server):
    relative = next(path for path in dqm_server.files if PROMPT in path)
    dqm_server.files[relative] = b"this is not a ROOT file"
    run = sources.find_remote_run(RUN, PRIMARY)
    with pytest.raises(DqmServerError, match="is not a readable ROOT file"):
        sources.fetch_run_file(run, "CSC")
    assert not list((remote_site.ADQM_DB / "offline").rglob("*.root"))


def test_list_choices_from_server(remote_site, published):
    series = sources.list_choices()
    assert (series.origin, series.level, series.items) == ("server", "series", ["Commissioning2022", SERIES])
    assert sources.list_choices(SERIES).items == [PRIMARY]
    runs = sources.list_choices(SERIES, PRIMARY)
    assert runs.level == "runs"
    assert runs.items == [sources.RunChoice(RUN, (f"{PRIMARY}/{PROMPT}", f"{PRIMARY}/{RERECO}"))]
    assert sources.list_choices(source="online").items == ["00035xxxx"]
    assert sources.list_choices("00035xxxx", source="online").items == [sources.RunChoice(RUN)]


def _register_local(site, run, primary, era_processing):
    path = site.ADQM_DB / offline_name(run, primary, era_processing)
    write_dqm_file(path, run)
    era, _, processing = era_processing.partition("-")
    register_file(path, run, primary, era, processing)


def test_list_choices_local(site_dirs):
    site_dirs.ADQM_DQM_URL = ""
    _register_local(site_dirs, RUN, PRIMARY, RERECO)
    _register_local(site_dirs, RUN, PRIMARY, PROMPT)
    _register_local(site_dirs, 349000, "Cosmics", "Commissioning2022-PromptReco-v1")
    series = sources.list_choices()
    assert (series.origin, series.items, series.error) == ("local", ["Commissioning2022", SERIES], "")
    assert sources.list_choices(SERIES).items == [PRIMARY]
    runs = sources.list_choices(SERIES, PRIMARY).items
    assert runs == [sources.RunChoice(RUN, (f"{PRIMARY}/{PROMPT}", f"{PRIMARY}/{RERECO}"))]


def test_list_choices_falls_back_when_server_fails(remote_site, published, dqm_server):
    _register_local(remote_site, RUN, PRIMARY, PROMPT)
    dqm_server.set_behaviour("OfflineData/", statuses=[503] * 4)
    choices = sources.list_choices()
    assert choices.origin == "local"
    assert choices.items == [SERIES]
    assert "HTTP 503" in choices.error
