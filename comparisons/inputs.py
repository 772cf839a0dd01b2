"""Open the DQM files of a comparison and find the subsystem folder in each.

A comparison has one data run and ordered reference runs. Each run is served
by one RunFile: the offline file (it contains every subsystem), else the online
file of the subsystem's detector folder, else a local file registered by hand.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from runs.dqmserver import DqmServerError
from runs.rootio import RootReadError, open_root, resolve_folder
from runs.sources import fetch_run_file, remote_configured

logger = logging.getLogger(__name__)


class InputError(Exception):
    """A comparison input that cannot be used; the message names the run and file."""


def online_folder_for(subsystem_name):
    """Return the online DQM folder of a subsystem from main.json's OnlineDataMap."""
    candidates = [settings.ADQM_FIXTURES / "configs" / "main.json"]
    if settings.ADQM_CONFIG:
        candidates.insert(0, Path(settings.ADQM_CONFIG) / "main.json")
    for path in candidates:
        if path.exists():
            mapping = json.loads(path.read_text()).get("OnlineDataMap", {})
            return mapping.get(subsystem_name, subsystem_name)
    return subsystem_name


def _fetch_from_server(run, subsystem_name, progress):
    """Download the run's file from the DQM file server; InputError names the run on failure."""
    callback = None if progress is None else (lambda done, total: progress(run, done, total))
    try:
        return fetch_run_file(run, subsystem_name, callback)
    except DqmServerError as error:
        raise InputError(f"run {run}: {error}") from error


def select_run_file(run, subsystem_name, progress=None, source=""):
    """Return the RunFile to read for `run`, or raise InputError saying what is missing.

    `source` ("offline", "online" or "local") restricts the choice to files of
    that kind; without it an offline file is preferred. A run without a file
    is fetched from the DQM file server when ADQM_DQM_URL is set;
    `progress(run, bytes_done, bytes_total)` follows the download.
    """
    files = list(run.files.all())
    if source:
        files = [item for item in files if item.kind == source]
    if not files and remote_configured():
        files = [_fetch_from_server(run, subsystem_name, progress)]
    if not files:
        raise InputError(
            f"run {run} has no {source + ' ' if source else ''}DQM file; put it in ADQM_DB ({settings.ADQM_DB}) and run "
            "'python manage.py scan_runs', or fetch it with 'python manage.py fetch_run'"
        )
    readable = [item for item in files if item.readable]
    if not readable:
        problems = "; ".join(f"{item.path}: {item.problem}" for item in files)
        raise InputError(f"run {run}: no readable DQM file ({problems})")
    folder = online_folder_for(subsystem_name)
    for kind_matches in (
        lambda item: item.kind == item.OFFLINE,
        lambda item: item.kind == item.ONLINE and item.online_folder == folder,
        lambda item: item.kind == item.LOCAL,
    ):
        for item in readable:
            if kind_matches(item):
                return item
    if remote_configured() and not run.primary_dataset:
        return _fetch_from_server(run, subsystem_name, progress)
    raise InputError(f"run {run}: no offline file and no online file of folder {folder}")


@dataclass
class OpenRun:
    """One run's file, opened, with the subsystem folder found inside it."""

    run: object
    run_file: object
    root_file: object
    folder: object
    role: str

    @property
    def label(self):
        return f"{self.role} run {self.run} ({self.run_file.path})"


@dataclass
class ComparisonInputs:
    """The opened data run and the reference runs that could be opened."""

    data: OpenRun
    references: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def close(self):
        for item in [self.data, *self.references]:
            item.root_file.close()


def open_run(run, subsystem_name, main_gdir, role, download_progress=None, source=""):
    """Open one run's file and find the subsystem folder; InputError on failure."""
    run_file = select_run_file(run, subsystem_name, download_progress, source)
    try:
        root_file = open_root(run_file.path)
    except RootReadError as error:
        raise InputError(f"{role} run {run}: {error}") from error
    try:
        folder = resolve_folder(root_file, main_gdir, run.number)
    except RootReadError as error:
        root_file.close()
        raise InputError(f"{role} run {run}: {error}") from error
    return OpenRun(run=run, run_file=run_file, root_file=root_file, folder=folder, role=role)


def open_inputs(comparison, config, download_progress=None):
    """Open the data run (required) and every reference run that can be opened.

    A reference that cannot be opened is left out with a warning; the
    comparison fails only when the data run or every reference is unusable.
    """
    name, main_gdir = comparison.subsystem.name, config["main_gdir"]
    source = comparison.source
    data = open_run(comparison.data_run, name, main_gdir, "data", download_progress, source)
    inputs = ComparisonInputs(data=data)
    for run in comparison.reference_runs():
        try:
            inputs.references.append(open_run(run, name, main_gdir, "reference", download_progress, source))
        except InputError as error:
            logger.warning("comparison %s: %s", comparison.pk, error)
            inputs.problems.append(f"{error}; this reference is left out")
    if not inputs.references:
        inputs.close()
        raise InputError("no reference run could be opened: " + "; ".join(inputs.problems))
    return inputs
