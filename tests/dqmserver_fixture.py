"""A local stand-in for the DQM file server: HTTPS on 127.0.0.1 with client-certificate checks.

`make_pki` writes a test CA, a server certificate for 127.0.0.1 and client
certificates with the openssl command line. `LocalDqmServer` serves HTML
listings in the DQM file server's format and DQM ROOT files written with
uproot, and can misbehave on request: return HTTP 5xx, cut a transfer short,
stall, or reject a client certificate.

TLS accepts clients of the trusted CA and of the "stranger" CA, and the
server answers HTTP 403 to strangers (as the real server does for a valid
grid certificate it does not authorize). A client of the "untrusted" CA fails
the TLS handshake itself.
"""

import html
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import uproot

BASE_PATH = "/dqm/offline/data/browse/ROOT/"
LISTING_DATE = "2022-07-20 10:15:02"
AUTHORIZED_CA = "AutoDQM Test CA"


@dataclass(frozen=True)
class Pki:
    """Paths of the test certificates and keys (PEM)."""

    folder: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    proxy: Path  # client certificate and key in one file, as voms-proxy-init writes them
    stranger_proxy: Path  # signed by a CA that TLS accepts but the server does not authorize
    untrusted_proxy: Path  # signed by a CA that TLS rejects
    encrypted_key: Path  # the client key protected by a passphrase
    trusted_cas: Path  # the bundle the server verifies clients against


def _openssl(folder, *args):
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def _make_ca(folder, name, common_name):
    _openssl(
        folder, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={common_name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )


def _make_leaf(folder, name, ca, usage, extra="", serial=1):
    extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        f"extendedKeyUsage={usage}",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid",
    ]
    if extra:
        extensions.append(extra)
    (folder / f"{name}.ext").write_text("\n".join(extensions) + "\n")
    _openssl(
        folder, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
    )
    _openssl(
        folder, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-set_serial", str(serial), "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
    )


def _combine(folder, name, *parts):
    path = folder / name
    path.write_bytes(b"".join((folder / part).read_bytes() for part in parts))
    path.chmod(0o600)
    return path


def make_pki(folder):
    """Write the test CAs and certificates into `folder` and return their paths."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make the test certificates")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _make_ca(folder, "ca", AUTHORIZED_CA)
    _make_ca(folder, "stranger-ca", "Stranger Test CA")
    _make_ca(folder, "untrusted-ca", "Untrusted Test CA")
    _make_leaf(folder, "server", "ca", "serverAuth", "subjectAltName=IP:127.0.0.1", serial=1)
    _make_leaf(folder, "shifter", "ca", "clientAuth", serial=2)
    _make_leaf(folder, "stranger", "stranger-ca", "clientAuth", serial=3)
    _make_leaf(folder, "untrusted", "untrusted-ca", "clientAuth", serial=4)
    _openssl(folder, "pkey", "-in", "shifter.key", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key")
    return Pki(
        folder=folder,
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        client_cert=folder / "shifter.pem",
        client_key=folder / "shifter.key",
        proxy=_combine(folder, "x509up_test", "shifter.pem", "shifter.key"),
        stranger_proxy=_combine(folder, "x509up_stranger", "stranger.pem", "stranger.key"),
        untrusted_proxy=_combine(folder, "x509up_untrusted", "untrusted.pem", "untrusted.key"),
        encrypted_key=folder / "encrypted.key",
        trusted_cas=_combine(folder, "client-cas.pem", "ca.pem", "stranger-ca.pem"),
    )


def write_dqm_file(path, run, subsystem="CSC", folder="CSCOfflineMonitor", scale=1.0, seed=0, shift=0.0):
    """Write a small DQM file: two 1D histograms and one 2D histogram of one subsystem.

    `scale` multiplies the entries of recHits/hRHTiming and `shift` moves its
    peak (in x units), which makes it an outlier against unshifted runs.
    """
    rng = np.random.default_rng(seed)
    base = f"DQMData/Run {run}/{subsystem}/Run summary/{folder}"
    edges = np.linspace(0.0, 10.0, 21)
    centres = edges[:-1] + 0.25
    shape = np.exp(-0.5 * ((centres - 5.0) / 1.5) ** 2)
    timing = np.exp(-0.5 * ((centres - 5.0 - shift) / 1.5) ** 2)
    with uproot.recreate(path) as out:
        out[f"{base}/recHits/hRHGlobal"] = (rng.poisson(2000 * shape).astype(float), edges)
        out[f"{base}/recHits/hRHTiming"] = (rng.poisson(1500 * timing * scale).astype(float), edges)
        out[f"{base}/Digis/hOccupancy"] = (
            rng.poisson(50, size=(4, 6)).astype(float), np.arange(5.0), np.arange(7.0),
        )
        out[f"{base}/nEvents"] = f"<nEvents>i={int(1000 * scale)}</nEvents>"
    return Path(path)


def offline_name(run, primary, era_processing):
    return f"DQM_V0001_R{run:09d}__{primary}__{era_processing}__DQMIO.root"


def online_name(folder, run):
    return f"DQM_V0001_{folder}_R{run:09d}.root"


@dataclass
class Behaviour:
    """How the server misbehaves for one path: statuses to return first, truncation, delay in seconds."""

    statuses: list = field(default_factory=list)
    truncate: bool = False
    delay: float = 0.0


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "LocalDqmServer/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the name is fixed by BaseHTTPRequestHandler
        pass

    def do_GET(self):  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        dqm = self.server.dqm
        path = self.path.split("?", 1)[0]
        dqm.record(path)
        if not dqm.authorized(self.connection.getpeercert()):
            self._answer(403, b"<html><body>Forbidden: certificate not authorized</body></html>")
            return
        with dqm.transfer_counter(path):
            self._respond(dqm, path)

    def _respond(self, dqm, path):
        behaviour = dqm.behaviour_for(path)
        if behaviour.delay:
            dqm.stopping.wait(behaviour.delay)
        if behaviour.statuses:
            self._answer(behaviour.statuses.pop(0), b"<html><body>temporarily unavailable</body></html>")
            return
        self._serve(dqm, path, behaviour)

    def _serve(self, dqm, path, behaviour):
        if not path.startswith(BASE_PATH):
            self._answer(404, b"not found")
            return
        relative = path[len(BASE_PATH):]
        if relative in dqm.files:
            self._send_file(dqm.files[relative], behaviour.truncate)
            return
        listing = dqm.listing_html(relative)
        if listing is None:
            self._answer(404, b"<html><body>Not Found</body></html>")
        else:
            self._answer(200, listing.encode(), "text/html; charset=utf-8")

    def _answer(self, status, body, content_type="text/html"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_file(self, data, truncate):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if truncate else data)
        self.wfile.flush()
        if truncate:
            self.close_connection = True


class _TlsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Handshakes that the tests make fail on purpose land here; keep them
        # for the tests to read instead of printing tracebacks.
        import sys

        self.dqm.errors.append(str(sys.exc_info()[1]))


class LocalDqmServer:
    """A DQM file server on 127.0.0.1 with an ephemeral port; start() and stop() it."""

    def __init__(self, pki, work_dir):
        self.pki = pki
        self.work_dir = Path(work_dir)
        self.files = {}  # path below the base URL -> bytes
        self.behaviours = {}  # path below the base URL -> Behaviour
        self.requests = []
        self.errors = []
        self.active_transfers = 0
        self.max_transfers = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    # -- content

    def add_offline(self, series, primary, era_processing, run, **content):
        """Publish an offline DQM file and return its path below the base URL.

        `content` goes to write_dqm_file (subsystem, scale, seed, shift).
        """
        name = offline_name(run, primary, era_processing)
        relative = f"OfflineData/{series}/{primary}/{run // 100:07d}xx/{name}"
        return self._add(relative, name, run, content)

    def add_online(self, folder, run, **content):
        name = online_name(folder, run)
        relative = f"OnlineData/original/{run // 10000:05d}xxxx/{run // 100:07d}xx/{name}"
        return self._add(relative, name, run, content)

    def _add(self, relative, name, run, content):
        path = self.work_dir / "generated" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_dqm_file(path, run, **content)
        self.files[relative] = path.read_bytes()
        return relative

    def behaviour_for(self, url_path):
        relative = url_path[len(BASE_PATH):] if url_path.startswith(BASE_PATH) else url_path
        return self.behaviours.get(relative) or self.behaviours.get("*") or Behaviour()

    def set_behaviour(self, relative, **options):
        """Make the server misbehave for one path below the base URL ('*' for every path)."""
        self.behaviours[relative] = Behaviour(**options)

    def listing_html(self, folder):
        """Render the listing of `folder` ('' or ending with '/'), or None when it contains nothing."""
        children = {}
        for relative, data in self.files.items():
            if not relative.startswith(folder):
                continue
            head, slash, _ = relative[len(folder):].partition("/")
            children[head + slash] = None if slash else len(data)
        if not children:
            return None
        rows = ["<tr><th>Name</th><th>Size</th><th>Date</th></tr>"]
        for name, size in sorted(children.items()):
            href = html.escape(BASE_PATH + folder + name, quote=True)
            size_text = "-" if size is None else str(size)
            link = f"<a href='{href}'>{html.escape(name)}</a>"
            rows.append(f"<tr><td>{link}</td><td>{size_text}</td><td>{LISTING_DATE}</td></tr>")
        return (
            f"<html><head><title>Index of {html.escape(BASE_PATH + folder)}</title></head><body>"
            f"<h1>{html.escape(BASE_PATH + folder)}</h1><table>\n" + "\n".join(rows) + "\n</table></body></html>"
        )

    # -- bookkeeping

    def record(self, path):
        with self._lock:
            self.requests.append(path)

    def count(self, relative):
        with self._lock:
            return self.requests.count(BASE_PATH + relative)

    @contextmanager
    def transfer_counter(self, url_path):
        """Count file requests in progress at once; `max_transfers` keeps the highest count."""
        is_file = url_path.startswith(BASE_PATH) and url_path[len(BASE_PATH):] in self.files
        with self._lock:
            self.active_transfers += is_file
            self.max_transfers = max(self.max_transfers, self.active_transfers)
        try:
            yield
        finally:
            with self._lock:
                self.active_transfers -= is_file

    @staticmethod
    def authorized(peer_cert):
        issuer = dict(item[0] for item in (peer_cert or {}).get("issuer", ()))
        return issuer.get("commonName") == AUTHORIZED_CA

    # -- lifecycle

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self._httpd.server_address[1]}{BASE_PATH}"

    def start(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        context.load_verify_locations(self.pki.trusted_cas)
        context.verify_mode = ssl.CERT_REQUIRED
        httpd = _TlsServer(("127.0.0.1", 0), _Handler)
        httpd.dqm = self
        # The handshake runs in the request thread, so a stalled or failed
        # handshake never blocks the accepting loop.
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)
            self._httpd = None


def free_port():
    """Return a port on 127.0.0.1 that nothing listens on (for connection-refused tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- pytest fixtures: import them into a test module to use them ---------------

@pytest.fixture(scope="session")
def dqm_pki(tmp_path_factory):
    """Test CAs, a server certificate for 127.0.0.1 and client certificates, made once per session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dqm_server(dqm_pki, tmp_path):
    """A running LocalDqmServer, stopped at teardown."""
    server = LocalDqmServer(dqm_pki, tmp_path / "server").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def remote_site(dqm_server, dqm_pki, site_dirs):
    """Site settings pointing at the local DQM file server, with short time-outs and back-off."""
    site_dirs.ADQM_DQM_URL = dqm_server.base_url
    site_dirs.ADQM_SSLCERT = str(dqm_pki.proxy)
    site_dirs.ADQM_SSLKEY = str(dqm_pki.proxy)
    site_dirs.ADQM_CACERT = str(dqm_pki.ca)
    site_dirs.ADQM_DQM_CONNECT_TIMEOUT = 2.0
    site_dirs.ADQM_DQM_READ_TIMEOUT = 2.0
    site_dirs.ADQM_DQM_RETRIES = 1
    site_dirs.ADQM_DQM_BACKOFF = 0.01
    return site_dirs
