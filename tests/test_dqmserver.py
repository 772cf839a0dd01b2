"""The DQM file server client against a local HTTPS server with client-certificate checks."""

import os
import threading
import time
from pathlib import Path

import pytest

from runs import dqmserver
from runs.dqmserver import (
    CertificateError,
    CertificateRejected,
    DqmServer,
    Entry,
    IncompleteDownload,
    NotFound,
    RemoteFile,
    ServerConfig,
    ServerUnreachable,
    TlsVerificationError,
    check_client_certificate,
    choose_file,
    parse_listing,
)
from runs.naming import parse_dqm_filename
from tests.dqmserver_fixture import BASE_PATH, dqm_pki, dqm_server, free_port, offline_name  # noqa: F401

SERIES, PRIMARY, RUN = "Run2022", "ZeroBias", 355200
PROMPT = "Run2022C-PromptReco-v1"
RERECO = "Run2022C-10Dec2022-v1"


def make_client(server, pki, tmp_path, **overrides):
    options = dict(
        base_url=server.base_url,
        cert=str(pki.proxy),
        key=str(pki.proxy),
        cacert=str(pki.ca),
        state_dir=tmp_path / "state",
        connect_timeout=2.0,
        read_timeout=2.0,
        retries=1,
        backoff=0.01,
    )
    options.update(overrides)
    return DqmServer(ServerConfig(**options))


@pytest.fixture
def published(dqm_server):
    """A server with one run in two processings and a neighbour run in the same run folder."""
    prompt = dqm_server.add_offline(SERIES, PRIMARY, PROMPT, RUN, seed=1)
    rereco = dqm_server.add_offline(SERIES, PRIMARY, RERECO, RUN, seed=2)
    dqm_server.add_offline(SERIES, PRIMARY, PROMPT, RUN + 1, seed=3)
    dqm_server.add_offline(SERIES, "JetMET", PROMPT, RUN, seed=4)
    dqm_server.add_offline("Commissioning2018", "Cosmics", "Commissioning2018-PromptReco-v1", 310000, seed=5)
    return {"prompt": prompt, "rereco": rereco}


def remote_file(name, date="2022-07-20 10:00:00", size=10):
    entry = Entry(name=name, url=f"https://127.0.0.1/{name}", size=size, date=date, is_folder=False)
    return RemoteFile(entry=entry, parsed=parse_dqm_filename(name))


# -- pure helpers ---------------------------------------------------------------


def test_folder_names_group_runs():
    assert dqmserver.run_folder_name(355200) == "0003552xx"
    assert dqmserver.run_folder_name(355299) == "0003552xx"
    assert dqmserver.online_block_name(355200) == "00035xxxx"
    assert dqmserver.offline_folder_path("Run2022", "ZeroBias", 355201) == "OfflineData/Run2022/ZeroBias/0003552xx/"
    assert dqmserver.online_folder_path(355200) == "OnlineData/original/00035xxxx/0003552xx/"


def test_parse_listing_rows_and_links():
    page = "https://server.test/dqm/ROOT/OfflineData/Run2022/ZeroBias/0003552xx/"
    name = offline_name(RUN, PRIMARY, PROMPT)
    html = (
        "<html><body><table>"
        "<tr><th>Name</th><th>Size</th><th>Date</th></tr>"
        "<tr><td><a href='/dqm/ROOT/OfflineData/Run2022/ZeroBias/'>Parent Directory</a></td><td>-</td><td></td></tr>"
        f"<tr><td><a href='/dqm/ROOT/OfflineData/Run2022/ZeroBias/0003552xx/{name}'>{name}</a></td>"
        "<td>123456</td><td>2022-07-20 10:15:02</td></tr>"
        "<tr><td><a href='sub/'>sub/</a></td><td>-</td><td>2022-07-21</td>"  # no </tr>
        "<tr><td><a href='?sort=size'>Size</a></td><td>-</td><td></td></tr>"
        "<tr><td><a href='https://elsewhere.test/x.root'>x.root</a></td><td>1</td><td></td></tr>"
        "</table></body></html>"
    )
    entries = parse_listing(html, page)
    assert [entry.name for entry in entries] == [name, "sub"]
    file_entry, folder = entries
    assert file_entry.url == page + name
    assert file_entry.size == 123456
    assert file_entry.date == "2022-07-20 10:15:02"
    assert not file_entry.is_folder
    assert folder.is_folder
    assert folder.size is None
    assert folder.url == page + "sub/"


def test_choose_file_prefers_prompt_reco():
    files = [
        remote_file(offline_name(RUN, PRIMARY, RERECO), date="2023-01-01"),
        remote_file(offline_name(RUN, PRIMARY, "Run2022C-PromptReco-v1")),
        remote_file(offline_name(RUN, PRIMARY, "Run2022C-PromptReco-v2")),
    ]
    assert choose_file(files).era_processing == "Run2022C-PromptReco-v2"
    assert choose_file(files, RERECO).era_processing == RERECO
    assert choose_file(files, "10Dec2022").era_processing == RERECO
    assert choose_file(files, "Run2022C").era_processing == "Run2022C-PromptReco-v2"
    assert choose_file(files, "PromptReco-v1").era_processing == "Run2022C-PromptReco-v1"


def test_choose_file_unknown_processing_lists_available():
    files = [remote_file(offline_name(RUN, PRIMARY, PROMPT))]
    with pytest.raises(NotFound, match=f"no processing 'Run2022D-PromptReco-v1'; available: {PROMPT}"):
        choose_file(files, "Run2022D-PromptReco-v1")


def test_check_name_rejects_path_tricks():
    for name in ("..", "a/b", ".hidden", ""):
        with pytest.raises(NotFound, match="invalid dataset name"):
            dqmserver.check_name("dataset", name)


# -- certificate checks ---------------------------------------------------------


def test_certificate_missing(tmp_path):
    missing = tmp_path / "x509up_u1000"
    with pytest.raises(CertificateError, match=f"grid certificate {missing} not found; run 'voms-proxy-init"):
        check_client_certificate(str(missing), str(missing))


def test_certificate_not_configured():
    with pytest.raises(CertificateError, match="no grid certificate is configured"):
        check_client_certificate("", "")


def test_certificate_unreadable(tmp_path):
    with pytest.raises(CertificateError, match="cannot be read"):
        check_client_certificate(str(tmp_path), str(tmp_path))  # a folder, not a file


@pytest.mark.skipif(os.getuid() == 0, reason="root reads files whatever their mode")
def test_certificate_without_read_permission(dqm_pki, tmp_path):
    locked = tmp_path / "proxy"
    locked.write_bytes(dqm_pki.proxy.read_bytes())
    locked.chmod(0)
    with pytest.raises(CertificateError, match="cannot be read by user id"):
        check_client_certificate(str(locked), str(locked))


def test_certificate_encrypted_key_is_rejected(dqm_pki):
    with pytest.raises(CertificateError, match="protected by a passphrase"):
        check_client_certificate(str(dqm_pki.client_cert), str(dqm_pki.encrypted_key))


def test_certificate_key_mismatch(dqm_pki):
    stranger_key = dqm_pki.folder / "stranger.key"
    with pytest.raises(CertificateError, match="key values mismatch"):
        check_client_certificate(str(dqm_pki.client_cert), str(stranger_key))


def test_certificate_and_key_files_accepted(dqm_pki):
    check_client_certificate(str(dqm_pki.client_cert), str(dqm_pki.client_key))
    check_client_certificate(str(dqm_pki.proxy), str(dqm_pki.proxy))


# -- listings -------------------------------------------------------------------


def test_lists_series_datasets_and_files(dqm_server, dqm_pki, published, tmp_path):
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        assert client.list_series() == ["Commissioning2018", "Run2022"]
        assert client.list_datasets(SERIES) == ["JetMET", "ZeroBias"]
        files = client.offline_files(SERIES, PRIMARY, RUN)
        runs = client.offline_runs(SERIES, PRIMARY)
    assert sorted(remote.era_processing for remote in files) == [RERECO, PROMPT]
    assert list(runs) == [RUN + 1, RUN]
    assert len(runs[RUN]) == 2


def test_unknown_series_lists_known(dqm_server, dqm_pki, published, tmp_path):
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        with pytest.raises(NotFound, match="series Run2030 not found .*available: Commissioning2018, Run2022"):
            client.list_datasets("Run2030")
        with pytest.raises(NotFound, match="dataset Muon not found in series Run2022; available: JetMET, ZeroBias"):
            client.require_dataset(SERIES, "Muon")


def test_missing_run_folder_gives_no_files(dqm_server, dqm_pki, published, tmp_path):
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        assert client.offline_files(SERIES, PRIMARY, 999999) == []


def test_listing_cache_expires(dqm_server, dqm_pki, published, tmp_path):
    path = "OfflineData/"
    with make_client(dqm_server, dqm_pki, tmp_path, listing_ttl=60) as client:
        client.list_series()
        client.list_series()
    assert dqm_server.count(path) == 1
    with make_client(dqm_server, dqm_pki, tmp_path, listing_ttl=60) as other_process:
        other_process.list_series()  # read from the cache files of the state folder
    assert dqm_server.count(path) == 1
    with make_client(dqm_server, dqm_pki, tmp_path, listing_ttl=0) as expired:
        expired.list_series()
    assert dqm_server.count(path) == 2


# -- downloads ------------------------------------------------------------------


def test_good_download(dqm_server, dqm_pki, published, tmp_path):
    destination = tmp_path / "db" / offline_name(RUN, PRIMARY, PROMPT)
    calls = []
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        remote = choose_file(client.offline_files(SERIES, PRIMARY, RUN))
        result = client.download(remote.entry, destination, progress=lambda done, total: calls.append((done, total)))
    expected = dqm_server.files[published["prompt"]]
    assert result.downloaded
    assert result.path == destination
    assert destination.read_bytes() == expected
    assert result.size == len(expected)
    assert calls[-1] == (len(expected), len(expected))
    assert sorted(path.name for path in destination.parent.iterdir()) == [f".{destination.name}.lock", destination.name]


def test_whole_file_not_downloaded_again(dqm_server, dqm_pki, published, tmp_path):
    destination = tmp_path / "db" / offline_name(RUN, PRIMARY, PROMPT)
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        remote = choose_file(client.offline_files(SERIES, PRIMARY, RUN))
        client.download(remote.entry, destination)
        again = client.download(remote.entry, destination)
    assert not again.downloaded
    assert dqm_server.count(published["prompt"]) == 1


def test_partial_file_is_downloaded_again(dqm_server, dqm_pki, published, tmp_path):
    destination = tmp_path / "db" / offline_name(RUN, PRIMARY, PROMPT)
    destination.parent.mkdir()
    destination.write_bytes(b"root" + b"\0" * 10)
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        remote = choose_file(client.offline_files(SERIES, PRIMARY, RUN))
        result = client.download(remote.entry, destination)
    assert result.downloaded
    assert destination.read_bytes() == dqm_server.files[published["prompt"]]


def test_truncated_transfer_leaves_nothing(dqm_server, dqm_pki, published, tmp_path):
    dqm_server.set_behaviour(published["prompt"], truncate=True)
    destination = tmp_path / "db" / offline_name(RUN, PRIMARY, PROMPT)
    with make_client(dqm_server, dqm_pki, tmp_path, retries=2) as client:
        remote = choose_file(client.offline_files(SERIES, PRIMARY, RUN))
        message = r"transfer stopped at \d+ of \d+ bytes .*3 attempts.*nothing was kept"
        with pytest.raises(IncompleteDownload, match=message):
            client.download(remote.entry, destination)
    assert dqm_server.count(published["prompt"]) == 3
    assert not destination.exists()
    assert not destination.with_name(f".{destination.name}.part").exists()


def test_server_error_retried_then_succeeds(dqm_server, dqm_pki, published, tmp_path):
    dqm_server.set_behaviour(published["prompt"], statuses=[503, 502])
    destination = tmp_path / "db" / offline_name(RUN, PRIMARY, PROMPT)
    with make_client(dqm_server, dqm_pki, tmp_path, retries=2) as client:
        remote = choose_file(client.offline_files(SERIES, PRIMARY, RUN))
        result = client.download(remote.entry, destination)
    assert result.downloaded
    assert dqm_server.count(published["prompt"]) == 3


def test_server_error_gives_up_after_retries(dqm_server, dqm_pki, published, tmp_path):
    dqm_server.set_behaviour("OfflineData/", statuses=[503] * 5)
    with make_client(dqm_server, dqm_pki, tmp_path, retries=2) as client:
        with pytest.raises(ServerUnreachable, match="returned HTTP 503 .* on each of 3 attempts"):
            client.list_series()
    assert dqm_server.count("OfflineData/") == 3


def test_rejected_certificate_gives_403(dqm_server, dqm_pki, published, tmp_path):
    proxy = str(dqm_pki.stranger_proxy)
    with make_client(dqm_server, dqm_pki, tmp_path, cert=proxy, key=proxy) as client:
        with pytest.raises(CertificateRejected, match="rejected the grid certificate \\(HTTP 403\\)"):
            client.list_series()
    assert dqm_server.count("OfflineData/") == 1  # a refusal is not retried


def test_untrusted_certificate_fails_handshake(dqm_server, dqm_pki, published, tmp_path):
    proxy = str(dqm_pki.untrusted_proxy)
    with make_client(dqm_server, dqm_pki, tmp_path, cert=proxy, key=proxy) as client:
        # Under TLS 1.3 the server's alert may be lost to a connection reset,
        # so either error can come; both must point at the certificate.
        with pytest.raises((CertificateRejected, ServerUnreachable), match="rejected the grid certificate"):
            client.list_series()


def test_server_certificate_not_verified(dqm_server, dqm_pki, published, tmp_path):
    other_ca = str(dqm_pki.folder / "untrusted-ca.pem")
    with make_client(dqm_server, dqm_pki, tmp_path, cacert=other_ca) as client:
        with pytest.raises(TlsVerificationError, match="could not be verified .*set ADQM_CACERT"):
            client.list_series()


def test_missing_file_gives_404(dqm_server, dqm_pki, published, tmp_path):
    url = dqm_server.base_url + "OfflineData/Run2022/ZeroBias/0003552xx/gone.root"
    entry = Entry(name="gone.root", url=url, size=10, date="", is_folder=False)
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        with pytest.raises(NotFound, match=f"not found on the DQM file server: {url}"):
            client.download(entry, tmp_path / "db" / "gone.root")
    assert dqm_server.count("OfflineData/Run2022/ZeroBias/0003552xx/gone.root") == 1
    assert not (tmp_path / "db" / "gone.root").exists()


def test_slow_server_times_out(dqm_server, dqm_pki, published, tmp_path):
    dqm_server.set_behaviour("OfflineData/", delay=5.0)
    started = time.monotonic()
    with make_client(dqm_server, dqm_pki, tmp_path, read_timeout=0.3, retries=1) as client:
        with pytest.raises(ServerUnreachable, match="timed out on .*2 attempts.*ADQM_DQM_READ_TIMEOUT"):
            client.list_series()
    assert time.monotonic() - started < 3.0
    assert dqm_server.count("OfflineData/") == 2


def test_connection_refused(dqm_pki, tmp_path):
    url = f"https://127.0.0.1:{free_port()}{BASE_PATH}"
    client = DqmServer(ServerConfig(
        base_url=url, cert=str(dqm_pki.proxy), key=str(dqm_pki.proxy), cacert=str(dqm_pki.ca),
        state_dir=tmp_path / "state", retries=1, backoff=0.01, connect_timeout=1.0,
    ))
    with client, pytest.raises(ServerUnreachable, match="cannot reach the DQM file server at 127.0.0.1:.*2 attempts"):
        client.list_series()


def test_parallel_downloads_are_limited(dqm_server, dqm_pki, tmp_path):
    paths = [dqm_server.add_offline(SERIES, PRIMARY, PROMPT, RUN + index, seed=index) for index in range(3)]
    for path in paths:
        dqm_server.set_behaviour(path, delay=0.3)
    with make_client(dqm_server, dqm_pki, tmp_path, max_downloads=1) as client:
        entries = [choose_file(client.offline_files(SERIES, PRIMARY, RUN + index)).entry for index in range(3)]
        threads = [
            threading.Thread(target=client.download, args=(entry, tmp_path / "db" / entry.name)) for entry in entries
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert dqm_server.max_transfers == 1
    assert all((tmp_path / "db" / entry.name).exists() for entry in entries)


def test_same_file_downloaded_once_by_two_threads(dqm_server, dqm_pki, published, tmp_path):
    dqm_server.set_behaviour(published["prompt"], delay=0.3)
    destination = tmp_path / "db" / offline_name(RUN, PRIMARY, PROMPT)
    results = []
    with make_client(dqm_server, dqm_pki, tmp_path, max_downloads=2) as client:
        entry = choose_file(client.offline_files(SERIES, PRIMARY, RUN)).entry

        def fetch():
            results.append(client.download(entry, destination))

        threads = [threading.Thread(target=fetch) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert dqm_server.count(published["prompt"]) == 1
    assert sorted(result.downloaded for result in results) == [False, True]


def test_online_files_of_a_run(dqm_server, dqm_pki, tmp_path):
    dqm_server.add_online("CSC", RUN)
    dqm_server.add_online("L1T", RUN, subsystem="L1T")
    dqm_server.add_online("CSC", RUN + 1)
    with make_client(dqm_server, dqm_pki, tmp_path) as client:
        files = client.online_files(RUN)
        runs = client.online_runs("00035xxxx")
    assert sorted(remote.parsed.folder for remote in files) == ["CSC", "L1T"]
    assert list(runs) == [RUN + 1, RUN]


def test_state_folder_defaults_to_temp(dqm_pki):
    client = DqmServer(ServerConfig(base_url="https://127.0.0.1:1/", cert="", key=""))
    assert client.state_dir == Path(dqmserver.tempfile.gettempdir()) / f"autodqm-dqmserver-{os.getuid()}"
