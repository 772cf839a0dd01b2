"""Run sources: the DQM file server when ADQM_DQM_URL is set, else the files in ADQM_DB.

Downloaded files keep their server names and land in ADQM_DB under
``offline/<series>/<primary dataset>/`` and ``online/<run folder>/``, so
'scan_runs' registers them again from their names if the database is rebuilt.
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from runs.dqmserver import (
    DqmServer,
    DqmServerError,
    NotFound,
    ServerConfig,
    check_name,
    choose_file,
    online_block_name,
    run_folder_name,
)
from runs.models import Run, RunFile
from runs.naming import split_dataset
from runs.registry import register_file
from runs.rootio import is_readable_root

logger = logging.getLogger(__name__)

OFFLINE = "offline"
ONLINE = "online"
SOURCES = (OFFLINE, ONLINE)

# Defaults of the optional tuning settings; settings.py may define any of them.
TUNING_DEFAULTS = {
    "ADQM_DQM_CONNECT_TIMEOUT": 10.0,
    "ADQM_DQM_READ_TIMEOUT": 60.0,
    "ADQM_DQM_RETRIES": 3,
    "ADQM_DQM_BACKOFF": 1.0,
    "ADQM_DQM_LISTING_TTL": 600.0,
    "ADQM_DQM_MAX_DOWNLOADS": 2,
}
_YEAR_PREFIX = re.compile(r"^(\D*\d{4})")


@dataclass(frozen=True)
class FetchResult:
    """A fetched run file, the URL it came from, and whether bytes were transferred this time."""

    run_file: RunFile
    url: str
    downloaded: bool


@dataclass(frozen=True)
class RunChoice:
    """A run offered by a picker and its datasets, the preferred one first (empty for online runs)."""

    number: int
    datasets: tuple = ()


@dataclass
class PickerChoices:
    """What one level of the web pickers offers.

    `origin` is "server" (the DQM file server) or "local" (runs registered
    from ADQM_DB). `level` is "series", "datasets" or "runs". `items` contains
    strings for the first two and RunChoice objects for runs. `error` explains
    why the local list is shown although a server is configured.
    """

    origin: str
    level: str
    items: list = field(default_factory=list)
    error: str = ""


def remote_configured():
    """True when ADQM_DQM_URL names a DQM file server."""
    return bool(settings.ADQM_DQM_URL)


def _tuning(name):
    return getattr(settings, name, TUNING_DEFAULTS[name])


def server_config():
    """Build the DQM file server client settings from the site settings."""
    return ServerConfig(
        base_url=settings.ADQM_DQM_URL,
        cert=settings.ADQM_SSLCERT,
        key=settings.ADQM_SSLKEY or settings.ADQM_SSLCERT,
        cacert=settings.ADQM_CACERT,
        state_dir=Path(settings.ADQM_DB) / ".dqmserver",
        connect_timeout=float(_tuning("ADQM_DQM_CONNECT_TIMEOUT")),
        read_timeout=float(_tuning("ADQM_DQM_READ_TIMEOUT")),
        retries=int(_tuning("ADQM_DQM_RETRIES")),
        backoff=float(_tuning("ADQM_DQM_BACKOFF")),
        listing_ttl=float(_tuning("ADQM_DQM_LISTING_TTL")),
        max_downloads=int(_tuning("ADQM_DQM_MAX_DOWNLOADS")),
    )


def open_server():
    """Return a DqmServer for the configured URL; DqmServerError when ADQM_DQM_URL is not set."""
    if not remote_configured():
        raise DqmServerError(
            "no DQM file server is configured; set ADQM_DQM_URL "
            "(for CERN: https://cmsweb.cern.ch/dqm/offline/data/browse/ROOT/)"
        )
    return DqmServer(server_config())


def guess_series(era):
    """Return the series of an era: 'Run2022C' -> 'Run2022', 'Commissioning2018' -> itself; '' without a year."""
    match = _YEAR_PREFIX.match(era or "")
    return match.group(1) if match else ""


def _year_order(series):
    year = re.search(r"\d{4}", series)
    return (series.startswith("Run"), int(year.group()) if year else 0, series)


def _series_to_search(server, era, series=""):
    """Return the series to search: the one given, else the era's when listed, else all, newest first."""
    if series:
        return [check_name("series", series)]
    available = server.list_series()
    guessed = guess_series(era)
    if guessed in available:
        return [guessed]
    return sorted(available, key=_year_order, reverse=True)


def split_request(dataset):
    """Split 'ZeroBias', 'ZeroBias/Run2022C' or 'ZeroBias/Run2022C-PromptReco-v1' into (primary, era-processing)."""
    if "/" not in dataset.strip("/"):
        return check_name("dataset", dataset.strip("/")), ""
    primary, era, processing = split_dataset(dataset)
    return primary, f"{era}-{processing}" if processing else era


def locate_offline(server, run_number, primary, era_processing="", series=""):
    """Find the offline file of a run on the server; return (series, RemoteFile) or raise NotFound."""
    era = era_processing.partition("-")[0]
    searched = _series_to_search(server, era, series)
    for name in searched:
        if series:
            server.require_dataset(name, primary)
        elif primary not in server.list_datasets(name):
            continue
        files = server.offline_files(name, primary, run_number)
        if files:
            return name, choose_file(files, era_processing)
    where = f"series {searched[0]}" if len(searched) == 1 else f"series {', '.join(searched) or '(none listed)'}"
    raise NotFound(f"run {run_number} of dataset {primary} not found on the DQM file server (looked in {where})")


def locate_online(server, run_number, folder):
    """Find the online file of one detector folder of a run; NotFound names the folders the run has."""
    files = server.online_files(run_number)
    for remote in files:
        if remote.parsed.folder == folder:
            return remote
    if not files:
        raise NotFound(f"online run {run_number} not found on the DQM file server")
    known = ", ".join(sorted(remote.parsed.folder for remote in files))
    raise NotFound(f"online run {run_number} has no {folder} file on the DQM file server; it has: {known}")


def online_folder_of(subsystem_name):
    """Return the online DQM folder of a subsystem (main.json's OnlineDataMap)."""
    from comparisons.inputs import online_folder_for  # comparisons imports runs, not the other way at load time

    return online_folder_for(subsystem_name)


def _find_online_run(server, number, subsystem):
    files = server.online_files(number)
    if subsystem:
        folder = online_folder_of(subsystem)
        files = [remote for remote in files if remote.parsed.folder == folder]
    if not files:
        return None
    run, _ = Run.objects.get_or_create(number=number, primary_dataset="", era="", processing="")
    return run


def find_remote_run(number, dataset="", source=OFFLINE, subsystem=None):
    """Create and return the Run row of a run the DQM file server lists, without downloading it.

    `dataset` may be 'PRIMARY', 'PRIMARY/ERA' or 'PRIMARY/ERA-PROCESSING';
    when it names no processing, PromptReco is chosen. Without a dataset the
    online files are searched (for the folder of `subsystem` when given),
    because finding an offline run would mean listing every dataset. Returns
    None when the server does not list the run; other server failures raise
    DqmServerError.
    """
    if not remote_configured():
        return None
    with open_server() as server:
        try:
            if source == ONLINE or not dataset:
                return _find_online_run(server, number, subsystem)
            primary, era_processing = split_request(dataset)
            _, remote = locate_offline(server, number, primary, era_processing)
        except NotFound as error:
            logger.info("run %s (%s) is not on the DQM file server: %s", number, dataset or source, error)
            return None
    parsed = remote.parsed
    run, _ = Run.objects.get_or_create(
        number=number, primary_dataset=parsed.primary_dataset, era=parsed.era, processing=parsed.processing
    )
    return run


def _destination(relative_folder, filename):
    return Path(settings.ADQM_DB) / relative_folder / check_name("file", filename)


def _register(result, run, kind, folder=""):
    readable, reason = is_readable_root(result.path)
    if not readable:
        result.path.unlink(missing_ok=True)
        raise DqmServerError(
            f"{result.path} from the DQM file server is not a readable ROOT file ({reason}); removed it"
        )
    run_file, _ = register_file(
        result.path, run.number, run.primary_dataset, run.era, run.processing, kind=kind, folder=folder
    )
    return run_file


def fetch_offline(run_number, primary, series="", era_processing="", progress=None, refresh=False, run=None):
    """Download (unless whole already) and register the offline file of a run; return a FetchResult.

    `progress(bytes_done, bytes_total)` follows the transfer. `refresh`
    re-reads the listings instead of using the cache. The file is registered
    under `run` when given, else under the Run of the file's dataset.
    """
    with open_server() as server:
        if refresh:
            server.cache.ttl = 0
        series, remote = locate_offline(server, run_number, primary, era_processing, series)
        destination = _destination(Path(OFFLINE) / series / primary, remote.entry.name)
        result = server.download(remote.entry, destination, progress)
    if run is None:
        parsed = remote.parsed
        run, _ = Run.objects.get_or_create(
            number=run_number, primary_dataset=parsed.primary_dataset, era=parsed.era, processing=parsed.processing
        )
    return FetchResult(_register(result, run, RunFile.OFFLINE), remote.entry.url, result.downloaded)


def fetch_online(run_number, folder, progress=None, refresh=False, run=None):
    """Download (unless whole already) and register the online file of one detector folder of a run."""
    with open_server() as server:
        if refresh:
            server.cache.ttl = 0
        remote = locate_online(server, run_number, check_name("folder", folder))
        destination = _destination(Path(ONLINE) / run_folder_name(run_number), remote.entry.name)
        result = server.download(remote.entry, destination, progress)
    if run is None:
        run, _ = Run.objects.get_or_create(number=run_number, primary_dataset="", era="", processing="")
    return FetchResult(_register(result, run, RunFile.ONLINE, folder), remote.entry.url, result.downloaded)


def fetch_run_file(run, subsystem_name, progress=None):
    """Download the DQM file `run` needs for a subsystem into ADQM_DB, register it and return its RunFile.

    A run with a dataset gets its offline file, which contains every
    subsystem. A run without one gets the online file of the subsystem's
    detector folder.
    """
    if not run.primary_dataset:
        return fetch_online(run.number, online_folder_of(subsystem_name), progress, run=run).run_file
    era_processing = f"{run.era}-{run.processing}" if run.processing else run.era
    result = fetch_offline(run.number, run.primary_dataset, era_processing=era_processing, progress=progress, run=run)
    return result.run_file


# -- pickers ------------------------------------------------------------------


def list_choices(series="", dataset="", source=OFFLINE):
    """List what the next web picker offers.

    Offline: no series gives the series, a series gives its primary datasets,
    a series and a dataset give the runs. Online: no series gives the
    10000-run blocks ('00035xxxx'), a block gives its runs. The DQM file
    server is listed when ADQM_DQM_URL is set. Otherwise, or when the server
    fails (then `error` is set), the runs registered from ADQM_DB are listed.
    """
    error = ""
    if remote_configured():
        try:
            return _server_choices(series, dataset, source)
        except (DqmServerError, ValueError) as failure:
            logger.warning("listing %s %s %s on the DQM file server failed: %s", source, series, dataset, failure)
            error = str(failure)
    choices = _local_choices(series, dataset, source)
    choices.error = error
    return choices


def _run_choices(runs):
    items = []
    for number, files in runs.items():
        preferred = choose_file(files)
        others = sorted({remote.parsed.dataset for remote in files} - {preferred.parsed.dataset})
        datasets = tuple(name for name in [preferred.parsed.dataset, *others] if name)
        items.append(RunChoice(number=number, datasets=datasets))
    return items


def _server_choices(series, dataset, source):
    with open_server() as server:
        if source == ONLINE:
            if not series:
                blocks = [entry.name for entry in server.listing("OnlineData/original/") if entry.is_folder]
                return PickerChoices("server", "series", sorted(blocks, reverse=True))
            return PickerChoices("server", "runs", _run_choices(server.online_runs(series)))
        if not series:
            return PickerChoices("server", "series", server.list_series())
        if not dataset:
            return PickerChoices("server", "datasets", server.list_datasets(series))
        return PickerChoices("server", "runs", _run_choices(server.offline_runs(series, dataset)))


def _local_choices(series, dataset, source):
    files = RunFile.objects.filter(readable=True).select_related("run")
    if source == ONLINE:
        runs = sorted({item.run.number for item in files.filter(kind=RunFile.ONLINE)}, reverse=True)
        if not series:
            return PickerChoices("local", "series", sorted({online_block_name(n) for n in runs}, reverse=True))
        return PickerChoices("local", "runs", [RunChoice(n) for n in runs if online_block_name(n) == series])
    runs = {item.run for item in files.exclude(run__primary_dataset="")}
    if not series:
        return PickerChoices("local", "series", sorted({guess_series(run.era) or run.era for run in runs}))
    runs = {run for run in runs if (guess_series(run.era) or run.era) == series}
    if not dataset:
        return PickerChoices("local", "datasets", sorted({run.primary_dataset for run in runs}))
    by_number = {}
    for run in sorted(runs, key=lambda item: (not item.processing.startswith("PromptReco"), item.dataset)):
        if run.primary_dataset == dataset:
            by_number.setdefault(run.number, []).append(run.dataset)
    items = [RunChoice(number, tuple(names)) for number, names in sorted(by_number.items(), reverse=True)]
    return PickerChoices("local", "runs", items)
