"""Register DQM ROOT files as Run and RunFile rows."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from runs.models import Run, RunFile
from runs.naming import parse_dqm_filename, split_dataset
from runs.rootio import is_readable_root

logger = logging.getLogger(__name__)


class RegistrationError(ValueError):
    """A file that cannot be registered; the message names the file and what to give instead."""


@dataclass
class ScanReport:
    registered: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def add_skip(self, path, reason):
        self.skipped.append((str(path), reason))
        logger.warning("skipped %s: %s", path, reason)


@transaction.atomic
def register_file(path, run_number, primary_dataset="", era="", processing="", kind=RunFile.OFFLINE, folder=""):
    """Create or update the Run and RunFile of one readable file; return (run_file, created)."""
    path = Path(path).resolve()
    run, _ = Run.objects.get_or_create(
        number=run_number, primary_dataset=primary_dataset, era=era, processing=processing
    )
    run_file, created = RunFile.objects.update_or_create(
        path=str(path),
        defaults=dict(run=run, kind=kind, online_folder=folder, size=path.stat().st_size, readable=True, problem=""),
    )
    return run_file, created


def register_named_file(path):
    """Register a file whose name follows DQM naming; RegistrationError otherwise."""
    parsed = parse_dqm_filename(Path(path).name)
    if parsed is None:
        raise RegistrationError(
            f"{path}: the name does not follow DQM naming "
            "(DQM_V0001_R000<run>__<dataset>__<era>-<processing>__DQMIO.root or DQM_V0001_<folder>_R000<run>.root); "
            "register it with --run N --dataset PRIMARY/ERA-PROCESSING"
        )
    return register_file(
        path, parsed.run, parsed.primary_dataset, parsed.era, parsed.processing,
        kind=RunFile.OFFLINE if parsed.kind == "offline" else RunFile.ONLINE, folder=parsed.folder,
    )


def register_with_names(path, run_number, dataset):
    """Register a file under a run number and dataset given by the user."""
    primary, era, processing = split_dataset(dataset) if dataset else ("", "", "")
    return register_file(path, run_number, primary, era, processing, kind=RunFile.LOCAL)


def _mark_unreadable(path, reason):
    RunFile.objects.filter(path=str(Path(path).resolve())).update(readable=False, problem=reason)


def scan_path(path, report, run_number=None, dataset=""):
    """Register one file, with the names given or from its file name."""
    readable, reason = is_readable_root(path)
    if not readable:
        _mark_unreadable(path, reason)
        report.add_skip(path, reason)
        return
    try:
        if run_number is not None:
            run_file, created = register_with_names(path, run_number, dataset)
        else:
            run_file, created = register_named_file(path)
    except (RegistrationError, ValueError) as error:
        report.add_skip(path, str(error))
        return
    (report.registered if created else report.unchanged).append(run_file)


def scan_folder(folder):
    """Register every .root file below `folder`; return a ScanReport."""
    report = ScanReport()
    folder = Path(folder)
    if not folder.is_dir():
        raise RegistrationError(f"{folder} is not a folder")
    for path in sorted(folder.rglob("*.root")):
        if path.name.startswith("."):
            continue  # partial downloads are written to hidden temporary names
        scan_path(path, report)
    return report
