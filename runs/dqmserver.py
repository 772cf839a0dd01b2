"""Client for the CMS DQM file server: HTML folder listings and DQM file downloads over HTTPS.

The server publishes a tree of HTML listings under a base URL. Each listing is
a table whose rows hold a link (name and href), a size in bytes ("-" for a
folder) and a date. DQM files sit at::

    OfflineData/<series>/<primary dataset>/<run folder>/DQM_V0001_R000<run>__<primary>__<era>-<processing>__DQMIO.root
    OnlineData/original/<000NNxxxx>/<run folder>/DQM_V0001_<folder>_R000<run>.root

where a run folder contains 100 runs (``0003552xx`` contains runs 355200-355299)
and ``00035xxxx`` contains 10000. Clients authenticate with a grid certificate and
key; the proxy file written by ``voms-proxy-init`` holds both.

Listings are cached with an expiry, in memory and as JSON files under the
state folder so that web and worker processes share them. Downloads go to a
hidden ``.part`` file that is renamed only once the announced size has
arrived; a per-file lock keeps two processes from fetching the same file, and
lock-file slots bound how many downloads run at once across processes.

This module imports no Django; ``runs.sources`` builds its ServerConfig from
the site settings.
"""

import fcntl
import hashlib
import json
import logging
import os
import re
import ssl
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from runs.naming import DqmName, parse_dqm_filename

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://cmsweb.cern.ch/dqm/offline/data/browse/ROOT/"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
CHUNK_SIZE = 1 << 20
PROGRESS_INTERVAL = 0.25  # seconds between two progress callbacks of one download
SLOT_POLL_INTERVAL = 0.2  # seconds between two looks for a free download slot
CERTIFICATE_HOWTO = (
    "run 'voms-proxy-init --voms cms --rfc' (it writes /tmp/x509up_u<uid>, the default), "
    "or set ADQM_SSLCERT and ADQM_SSLKEY to your grid certificate and key"
)
# A name the site may use as a path component of a downloaded file.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"-v(\d+)$")

ProgressCallback = Callable[[int, int], None]


class DqmServerError(Exception):
    """A listing or download that failed; the message names the URL or file and what to do."""


class CertificateError(DqmServerError):
    """The grid certificate or key is missing, unreadable or unusable."""


class CertificateRejected(DqmServerError):
    """The server rejected the grid certificate (HTTP 401 or 403, or a TLS alert)."""


class NotFound(DqmServerError):
    """The server has no such series, dataset, run or file."""


class ServerUnreachable(DqmServerError):
    """No usable response after every retry: connection failure, time-out or HTTP 5xx."""


class TlsError(DqmServerError):
    """The TLS connection to the server failed for a reason other than the client certificate."""


class TlsVerificationError(TlsError):
    """The server's certificate could not be verified against the CA bundle (ADQM_CACERT)."""


class IncompleteDownload(DqmServerError):
    """Every attempt at a transfer ended before the announced size arrived."""


@dataclass(frozen=True)
class Entry:
    """One row of a listing: a folder or a file, its absolute URL, size in bytes and date."""

    name: str
    url: str
    size: Optional[int]
    date: str
    is_folder: bool


@dataclass(frozen=True)
class RemoteFile:
    """A DQM file on the server, with the run and dataset parsed from its name."""

    entry: Entry
    parsed: DqmName

    @property
    def run(self):
        return self.parsed.run

    @property
    def era_processing(self):
        parsed = self.parsed
        return f"{parsed.era}-{parsed.processing}" if parsed.processing else parsed.era


@dataclass(frozen=True)
class DownloadResult:
    """Outcome of a download: the file, its size, and whether bytes were transferred or a whole copy was kept."""

    path: Path
    size: int
    downloaded: bool


@dataclass(frozen=True)
class ServerConfig:
    """How to reach the server; times are in seconds.

    `state_dir` holds the listing cache and the lock files. `retries` counts
    the attempts after the first; the wait before retry n is
    `backoff * 2 ** (n - 1)`.
    """

    base_url: str
    cert: str
    key: str
    cacert: str = ""
    state_dir: Optional[Path] = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    listing_ttl: float = 600.0
    max_downloads: int = 2
    listing_workers: int = 8


# -- paths on the server ------------------------------------------------------


def run_folder_name(run):
    """Name of the folder of 100 runs holding `run`: 355200 -> '0003552xx'."""
    return f"{run // 100:07d}xx"


def online_block_name(run):
    """Name of the online folder of 10000 runs holding `run`: 355200 -> '00035xxxx'."""
    return f"{run // 10000:05d}xxxx"


def offline_folder_path(series, primary_dataset, run):
    return f"OfflineData/{series}/{primary_dataset}/{run_folder_name(run)}/"


def online_folder_path(run):
    return f"OnlineData/original/{online_block_name(run)}/{run_folder_name(run)}/"


def check_name(kind, name):
    """Raise NotFound unless `name` is safe as a URL and path component (no '/', no leading dot)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise NotFound(f"invalid {kind} name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


# -- listing parser -----------------------------------------------------------


class _TableParser(HTMLParser):
    """Collect each table row as (cell texts, href of the first link in a cell)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows = []
        self._cells = None
        self._href = None
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._finish_row()  # listings may leave </tr> out
            self._cells, self._href = [], None
        elif tag == "td" and self._cells is not None:
            self._cells.append("")
            self._in_cell = True
        elif tag == "a" and self._in_cell and self._href is None:
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False
        elif tag in ("tr", "table"):
            self._finish_row()

    def handle_data(self, data):
        if self._in_cell and self._cells:
            self._cells[-1] += data

    def close(self):
        super().close()
        self._finish_row()

    def _finish_row(self):
        if self._cells and self._href:
            self.rows.append((self._cells, self._href))
        self._cells, self._href, self._in_cell = None, None, False


def _row_entry(cells, href, page_url):
    url = urljoin(page_url, href.strip())
    child = url[len(page_url):] if url.startswith(page_url) else ""
    name = unquote(child.rstrip("/"))
    if not name or "/" in name or "?" in child or "#" in child:
        return None  # the parent folder, a sort link or a link elsewhere
    size_text = cells[1].strip() if len(cells) > 1 else "-"
    date = cells[2].strip() if len(cells) > 2 else ""
    if size_text == "-" or child.endswith("/"):
        folder_url = url if url.endswith("/") else url + "/"
        return Entry(name=name, url=folder_url, size=None, date=date, is_folder=True)
    digits = size_text.replace(",", "")
    size = int(digits) if digits.isdigit() else None
    if size is None:
        logger.warning("listing %s: size %r of %s is not a number of bytes", page_url, size_text, name)
    return Entry(name=name, url=url, size=size, date=date, is_folder=False)


def parse_listing(html, page_url):
    """Parse one listing page into Entries, skipping header rows and links outside the folder.

    `page_url` is the absolute URL of the page, ending with '/'; hrefs may be
    absolute, absolute paths on the same host, or relative.
    """
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    entries = [_row_entry(cells, href, page_url) for cells, href in parser.rows]
    return [entry for entry in entries if entry is not None]


# -- choosing among processings -----------------------------------------------


def _preference(remote):
    """Sort key: PromptReco first, then the highest -vN, then the newest date, then the name."""
    version = _VERSION.search(remote.parsed.processing or "")
    return (
        remote.parsed.processing.startswith("PromptReco"),
        int(version.group(1)) if version else 0,
        remote.entry.date,
        remote.entry.name,
    )


def _matches(remote, wanted):
    parsed = remote.parsed
    return wanted in (remote.era_processing, parsed.era, parsed.processing) or (
        parsed.processing.startswith(wanted + "-")
    )


def choose_file(files, era_processing=""):
    """Pick one file of a run among its processings.

    With `era_processing`, an exact '<era>-<processing>' match wins; otherwise
    it may name the era alone ('Run2022C'), the processing ('PromptReco-v1') or
    the processing without its version ('10Dec2022'). Among several
    candidates PromptReco is preferred, then the highest version. NotFound
    lists what the server has when nothing matches.
    """
    if not files:
        raise NotFound("no DQM file to choose from")
    candidates = list(files)
    if era_processing:
        exact = [remote for remote in files if remote.era_processing == era_processing]
        candidates = exact or [remote for remote in files if _matches(remote, era_processing)]
    if not candidates:
        available = ", ".join(sorted(remote.era_processing for remote in files))
        raise NotFound(f"run {files[0].run} has no processing {era_processing!r}; available: {available}")
    return max(candidates, key=_preference)


# -- client certificate -------------------------------------------------------


class _EncryptedKey(Exception):
    pass


def _reject_password_prompt():
    raise _EncryptedKey


def _check_readable(label, path):
    if not path:
        raise CertificateError(f"no grid {label} is configured; {CERTIFICATE_HOWTO}")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise CertificateError(f"grid {label} {path} not found; {CERTIFICATE_HOWTO}") from None
    except PermissionError:
        raise CertificateError(
            f"grid {label} {path} cannot be read by user id {os.getuid()}; make it readable by the "
            "user that runs the site (chmod 600 after copying it to that user)"
        ) from None
    except OSError as error:
        raise CertificateError(f"grid {label} {path} cannot be read: {error.strerror or error}") from None


def check_client_certificate(cert, key):
    """Raise CertificateError unless `cert` and `key` are readable PEM files that belong together.

    An encrypted key is rejected here because OpenSSL would otherwise stop to
    ask for its passphrase on the terminal.
    """
    _check_readable("certificate", cert)
    _check_readable("key", key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(cert, key, password=_reject_password_prompt)
    except _EncryptedKey:
        raise CertificateError(
            f"grid key {key} is protected by a passphrase, which the site cannot type; make a proxy with "
            "'voms-proxy-init --voms cms --rfc' or write an unencrypted copy readable only by you "
            "('openssl pkey -in userkey.pem -out userkey.nopass.pem', then chmod 600)"
        ) from None
    except ssl.SSLError as error:
        reason = _ssl_reason(str(error))
        raise CertificateError(
            f"grid certificate {cert} with key {key} cannot be used ({reason}); both must be PEM files "
            "and the key must belong to the certificate"
        ) from None


# -- listing cache ------------------------------------------------------------


class ListingCache:
    """Parsed listings with an expiry, kept in memory and, given a folder, as JSON files."""

    def __init__(self, folder, ttl):
        self.folder = Path(folder) if folder else None
        self.ttl = ttl
        self._memory = {}
        self._lock = threading.Lock()

    def _file(self, url):
        return self.folder / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def get(self, url):
        """Return the cached entries of `url`, or None when absent or expired."""
        with self._lock:
            stored = self._memory.get(url)
        if stored is None and self.folder is not None:
            stored = self._read(url)
        if stored is None or time.time() - stored[0] > self.ttl:
            return None
        return stored[1]

    def put(self, url, entries):
        stored = (time.time(), list(entries))
        with self._lock:
            self._memory[url] = stored
        if self.folder is not None:
            self._write(url, stored)

    def _read(self, url):
        try:
            document = json.loads(self._file(url).read_text())
            if document.get("url") != url:
                return None
            return document["fetched_at"], [Entry(**item) for item in document["entries"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or written by another version: fetch again

    def _write(self, url, stored):
        document = {"url": url, "fetched_at": stored[0], "entries": [asdict(entry) for entry in stored[1]]}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.folder, suffix=".tmp", delete=False) as handle:
                json.dump(document, handle)
            os.replace(handle.name, self._file(url))
        except OSError as error:
            logger.warning("could not write the listing cache for %s in %s: %s", url, self.folder, error)


# -- retries ------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth another attempt; `kind` is timeout, connection, status or truncated."""

    def __init__(self, kind, detail, status=None):
        super().__init__(detail)
        self.kind, self.detail, self.status = kind, detail, status


def _final_error(failure, url, attempts, config):
    tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    host = urlsplit(url).netloc
    if failure.kind == "timeout":
        return ServerUnreachable(
            f"the DQM file server at {host} timed out on {url} ({failure.detail}; {tries}, "
            f"time-outs {config.connect_timeout:g} s to connect, {config.read_timeout:g} s to read); "
            "it may be overloaded: try again later or raise ADQM_DQM_READ_TIMEOUT"
        )
    if failure.kind == "status":
        return ServerUnreachable(
            f"the DQM file server returned HTTP {failure.status} for {url} on each of {tries}; try again later"
        )
    if failure.kind == "truncated":
        return IncompleteDownload(f"download of {url} failed: {failure.detail} ({tries}); nothing was kept")
    hint = "check ADQM_DQM_URL and the network"
    if "EOF" in failure.detail or "reset" in failure.detail.lower():
        hint = "the server may have rejected the grid certificate: check ADQM_SSLCERT and renew the proxy"
    return ServerUnreachable(f"cannot reach the DQM file server at {host} ({failure.detail}; {tries}); {hint}")


def _tls_failure(url, error):
    text = str(error)
    host = urlsplit(url).netloc
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return TlsVerificationError(
            f"the certificate of the DQM file server at {host} could not be verified ({_ssl_reason(text)}); "
            "set ADQM_CACERT to the CA bundle that signed it (at CERN: the CERN Root and Grid CA certificates)"
        )
    upper = text.upper()
    if "ALERT" in upper and any(word in upper for word in ("CERTIFICATE", "UNKNOWN_CA", "ACCESS_DENIED")):
        return CertificateRejected(
            f"the DQM file server at {host} rejected the grid certificate during the TLS handshake "
            f"({_ssl_reason(text)}); renew it with 'voms-proxy-init --voms cms --rfc' or check that "
            "ADQM_SSLCERT names a certificate the server accepts"
        )
    if "EOF" in upper or "RESET" in upper:
        # Under TLS 1.3 a server checks the client certificate after the
        # client has sent its request. Its alert can then be lost to a
        # connection reset, so the client sees only this EOF.
        return _Transient("connection", f"the server closed the TLS connection: {_ssl_reason(text)}")
    return TlsError(f"TLS connection to the DQM file server at {host} failed: {_ssl_reason(text)}")


def _ssl_reason(text):
    """Return the OpenSSL reason ('tlsv1 alert unknown ca') from a wrapped requests message."""
    found = re.findall(r"\[(?:SSL|X509)[^\]]*\] ([^(]+)\(", text)
    return found[-1].strip() if found else text


def _check_status(url, response):
    status = response.status_code
    if status in (401, 403):
        raise CertificateRejected(
            f"the DQM file server rejected the grid certificate (HTTP {status}) for {url}; it may have "
            "expired (renew it with 'voms-proxy-init --voms cms --rfc') or not be registered for CMS "
            "(register it with the CMS VO)"
        )
    if status == 404:
        raise NotFound(f"not found on the DQM file server: {url}")
    if status >= 400:
        raise DqmServerError(f"the DQM file server returned HTTP {status} ({response.reason}) for {url}")


class _ProgressThrottle:
    """Pass (done, total) to a callback at most every PROGRESS_INTERVAL seconds, and once at the end."""

    def __init__(self, callback, total):
        self.callback, self.total, self.last = callback, total or 0, 0.0

    def __call__(self, done):
        now = time.monotonic()
        if self.callback is not None and now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            self.callback(done, self.total)

    def finish(self, done):
        if self.callback is not None:
            self.callback(done, self.total or done)


# -- the client ---------------------------------------------------------------


class DqmServer:
    """List and download DQM files from the DQM file server; use as a context manager."""

    def __init__(self, config):
        base = config.base_url if config.base_url.endswith("/") else config.base_url + "/"
        self.config = config
        self.base_url = base
        self.state_dir = Path(config.state_dir or Path(tempfile.gettempdir()) / f"autodqm-dqmserver-{os.getuid()}")
        self.cache = ListingCache(self.state_dir / "listings", config.listing_ttl)
        self._local = threading.local()
        self._sessions = []
        self._sessions_lock = threading.Lock()
        self._certificate_checked = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # -- HTTP

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = "autodqm-site"
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _get(self, url, stream=False, headers=None):
        options = dict(
            timeout=(self.config.connect_timeout, self.config.read_timeout),
            cert=(self.config.cert, self.config.key or self.config.cert),
            # Given on each request: a session-level `verify` loses to
            # REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE from the environment.
            verify=self.config.cacert or True,
            stream=stream,
            headers=headers,
        )
        try:
            response = self._session().get(url, **options)
        except requests.exceptions.SSLError as error:
            raise _tls_failure(url, error) from error
        except requests.Timeout as error:
            raise _Transient("timeout", _short_reason(error)) from error
        except requests.ConnectionError as error:
            raise _Transient("connection", _short_reason(error)) from error
        if response.status_code in RETRY_STATUSES:
            response.close()
            raise _Transient("status", f"HTTP {response.status_code}", status=response.status_code)
        try:
            _check_status(url, response)
        except DqmServerError:
            response.close()
            raise
        return response

    def _with_retries(self, url, action):
        """Call `action()` until it succeeds, retrying transient failures with exponential back-off."""
        if not self._certificate_checked:
            check_client_certificate(self.config.cert, self.config.key or self.config.cert)
            self._certificate_checked = True
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return action()
            except _Transient as failure:
                last = failure
                if attempt == attempts:
                    break
                delay = self.config.backoff * 2 ** (attempt - 1)
                logger.warning("%s failed (%s); attempt %d of %d in %.1f s", url, failure, attempt + 1, attempts, delay)
                time.sleep(delay)
        error = _final_error(last, url, attempts, self.config)
        logger.error("%s", error)
        raise error

    # -- listings

    def url_of(self, relative_path):
        """Absolute URL of a folder below the base URL; `relative_path` ends with '/'."""
        return urljoin(self.base_url, quote(relative_path, safe="/"))

    def listing(self, relative_path="", refresh=False):
        """Return the entries of one folder below the base URL, from the cache unless `refresh`."""
        url = self.url_of(relative_path)
        if not refresh:
            cached = self.cache.get(url)
            if cached is not None:
                return cached
        entries = self._with_retries(url, lambda: self._fetch_listing(url))
        self.cache.put(url, entries)
        return entries

    def _fetch_listing(self, url):
        with self._get(url) as response:
            return parse_listing(response.text, url)

    def _listing_or_empty(self, relative_path, refresh=False):
        try:
            return self.listing(relative_path, refresh)
        except NotFound:
            return []

    def list_series(self, refresh=False):
        """Series under OfflineData, e.g. Run2022 or Commissioning2018."""
        return sorted(entry.name for entry in self.listing("OfflineData/", refresh) if entry.is_folder)

    def list_datasets(self, series, refresh=False):
        """Primary datasets of one series; NotFound names the series the server has."""
        check_name("series", series)
        try:
            entries = self.listing(f"OfflineData/{series}/", refresh)
        except NotFound:
            known = ", ".join(self.list_series()) or "none"
            raise NotFound(f"series {series} not found on the DQM file server; available: {known}") from None
        return sorted(entry.name for entry in entries if entry.is_folder)

    def require_dataset(self, series, primary_dataset, refresh=False):
        """Raise NotFound, naming the datasets the series has, unless it contains `primary_dataset`."""
        check_name("dataset", primary_dataset)
        datasets = self.list_datasets(series, refresh)
        if primary_dataset not in datasets:
            shown = ", ".join(datasets[:30]) + (", ..." if len(datasets) > 30 else "")
            raise NotFound(f"dataset {primary_dataset} not found in series {series}; available: {shown or 'none'}")

    def offline_files(self, series, primary_dataset, run, refresh=False):
        """DQM files of one run of one dataset, one per processing; [] when the server has none."""
        check_name("series", series)
        check_name("dataset", primary_dataset)
        entries = self._listing_or_empty(offline_folder_path(series, primary_dataset, run), refresh)
        return [remote for remote in _dqm_files(entries) if remote.run == run and remote.parsed.kind == "offline"]

    def offline_runs(self, series, primary_dataset, refresh=False):
        """List every run of one dataset as {run number: [RemoteFile, ...]}, reading run folders in parallel."""
        self.require_dataset(series, primary_dataset, refresh)
        folders = [
            entry for entry in self.listing(f"OfflineData/{series}/{primary_dataset}/", refresh) if entry.is_folder
        ]
        paths = [f"OfflineData/{series}/{primary_dataset}/{entry.name}/" for entry in folders]
        return _group_by_run(self._list_many(paths, refresh))

    def online_files(self, run, refresh=False):
        """Online DQM files of one run, one per detector folder; [] when the server has none."""
        entries = self._listing_or_empty(online_folder_path(run), refresh)
        return [remote for remote in _dqm_files(entries) if remote.run == run and remote.parsed.kind == "online"]

    def online_runs(self, block, refresh=False):
        """List every online run of one 10000-run block ('00035xxxx') as {run number: [RemoteFile, ...]}."""
        check_name("folder", block)
        folders = [entry for entry in self.listing(f"OnlineData/original/{block}/", refresh) if entry.is_folder]
        paths = [f"OnlineData/original/{block}/{entry.name}/" for entry in folders]
        return _group_by_run(self._list_many(paths, refresh))

    def _list_many(self, paths, refresh):
        workers = max(1, min(self.config.listing_workers, len(paths)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dqm-listing") as pool:
            listings = list(pool.map(lambda path: self._listing_or_empty(path, refresh), paths))
        return [entry for entries in listings for entry in entries]

    # -- downloads

    def download(self, entry, destination, progress=None):
        """Download `entry` to `destination` unless a whole copy is there already.

        `progress(bytes_done, bytes_total)` is called during the transfer. The
        bytes go to a hidden '.part' file, renamed to `destination` only when
        the announced size has arrived, so an interrupted download never leaves
        a file that looks whole.
        """
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with _locked(destination.with_name(f".{destination.name}.lock")):
            if _is_whole(destination, entry.size):
                logger.info("%s is already downloaded (%d bytes)", destination, entry.size)
                if progress is not None:
                    progress(entry.size, entry.size)
                return DownloadResult(destination, entry.size, downloaded=False)
            with self._download_slot():
                partial = destination.with_name(f".{destination.name}.part")
                logger.info("downloading %s to %s", entry.url, destination)
                try:
                    size = self._with_retries(entry.url, lambda: self._transfer(entry, partial, progress))
                except BaseException:
                    partial.unlink(missing_ok=True)
                    raise
                os.replace(partial, destination)
        logger.info("downloaded %s (%d bytes)", destination, size)
        return DownloadResult(destination, size, downloaded=True)

    def _transfer(self, entry, partial, progress):
        with self._get(entry.url, stream=True, headers={"Accept-Encoding": "identity"}) as response:
            expected = _expected_size(entry, response)
            throttle = _ProgressThrottle(progress, expected)
            received = 0
            try:
                with open(partial, "wb") as out:
                    for chunk in response.iter_content(CHUNK_SIZE):
                        out.write(chunk)
                        received += len(chunk)
                        throttle(received)
                    out.flush()
                    os.fsync(out.fileno())
            except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as error:
                raise _Transient("truncated", _truncation(received, expected, _short_reason(error))) from error
        if expected is not None and received != expected:
            raise _Transient("truncated", _truncation(received, expected, "connection closed early"))
        throttle.finish(received)
        return received

    @contextmanager
    def _download_slot(self):
        """Hold one of `max_downloads` slot lock files, shared by every process using this state folder."""
        folder = self.state_dir / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        waiting_logged = False
        while True:
            for index in range(max(1, self.config.max_downloads)):
                handle = open(folder / f"download-slot-{index}.lock", "a+")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                    handle.close()
                return
            if not waiting_logged:
                logger.info("waiting for a free download slot (at most %d at once)", self.config.max_downloads)
                waiting_logged = True
            time.sleep(SLOT_POLL_INTERVAL)


def _dqm_files(entries):
    files = []
    for entry in entries:
        parsed = None if entry.is_folder else parse_dqm_filename(entry.name)
        if parsed is not None:
            files.append(RemoteFile(entry=entry, parsed=parsed))
    return files


def _group_by_run(entries):
    runs = {}
    for remote in _dqm_files(entries):
        runs.setdefault(remote.run, []).append(remote)
    return dict(sorted(runs.items(), reverse=True))


def _is_whole(path, size):
    try:
        return size is not None and path.stat().st_size == size
    except FileNotFoundError:
        return False


def _expected_size(entry, response):
    header = response.headers.get("Content-Length", "")
    announced = int(header) if header.isdigit() else None
    if announced is not None and entry.size is not None and announced != entry.size:
        logger.warning(
            "%s: the listing gives %d bytes but the server sends %d; the listing may be out of date",
            entry.url, entry.size, announced,
        )
    return announced if announced is not None else entry.size


def _truncation(received, expected, reason):
    total = "an unknown size" if expected is None else f"{expected} bytes"
    return f"the transfer stopped at {received} of {total} ({reason})"


def _short_reason(error):
    """Return the innermost cause of a requests error: 'Read timed out.' rather than the pool's preamble."""
    text = str(error)
    match = re.search(r"\(Caused by \w+\((.*)\)\)$", text)
    return match.group(1) if match else text


@contextmanager
def _locked(path):
    """Hold an exclusive lock on `path`, waiting for another process or thread that holds it."""
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
