"""Delete the PNG, PDF and TXT files of old comparisons, keeping their scores and annotations.

A comparison is old when its finish time, or its creation time when it has
none, is more than --keep-days days ago. Its folder under ADQM_TMP is removed and the
stored artifact paths of its results are cleared, so the report page draws a
plot again the first time someone opens it (comparisons.artifacts.ensure).
Queued and running comparisons are never touched.
"""

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from comparisons.artifacts import KINDS
from comparisons.models import Comparison, HistogramResult

logger = logging.getLogger(__name__)


def old_comparisons(keep_days, now=None):
    """Select finished comparisons whose finish (or creation) time is more than `keep_days` days before `now`."""
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    return (
        Comparison.objects.filter(status__in=[Comparison.DONE, Comparison.FAILED])
        .annotate(last_change=Coalesce("finished_at", "created_at"))
        .filter(last_change__lt=cutoff)
        .order_by("pk")
    )


def _inside(root, path):
    """Return True when `path` lies under `root`, so that a stored path never reaches outside ADQM_TMP."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def artifact_files(comparison_id, root):
    """Return the files of one comparison: its folder's content and any stored path outside that folder."""
    folder = root / f"comparison-{comparison_id}"
    found = {path for path in folder.rglob("*") if path.is_file()} if folder.is_dir() else set()
    stored = HistogramResult.objects.filter(comparison_id=comparison_id).values_list(*KINDS)
    for row in stored:
        for relative in filter(None, row):
            path = root / relative
            if path.is_file() and _inside(root, path):
                found.add(path)
    return folder, sorted(found)


def _has_artifacts():
    return Q(png__gt="") | Q(pdf__gt="") | Q(txt__gt="")


def _folder_ids(root):
    if not root.is_dir():
        return set()
    prefix = "comparison-"
    return {
        int(path.name[len(prefix):]) for path in root.iterdir()
        if path.name.startswith(prefix) and path.name[len(prefix):].isdigit()
    }


def comparisons_to_prune(keep_days, root):
    """Return the ids of old comparisons that still have a folder or stored artifact paths."""
    old = old_comparisons(keep_days)
    with_paths = (
        HistogramResult.objects.filter(comparison__in=old).filter(_has_artifacts())
        .values_list("comparison_id", flat=True).distinct()
    )
    old_ids = set(old.values_list("pk", flat=True))
    return sorted(old_ids & (set(with_paths) | _folder_ids(root)))


def size_text(size):
    return filesizeformat(size).replace("\xa0", " ")


class Command(BaseCommand):
    help = (
        "Delete the PNG, PDF and TXT files of comparisons finished more than --keep-days days ago, and report "
        "the space freed. Scores and annotations stay; plots are drawn again when someone opens them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--keep-days", type=int, required=True,
                            help="keep the files of comparisons finished in the last N days")
        parser.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")

    def handle(self, *args, **options):
        keep_days = options["keep_days"]
        if keep_days < 0:
            raise CommandError(f"--keep-days must be 0 or more, got {keep_days}")
        root = Path(settings.ADQM_TMP)
        dry_run = options["dry_run"]
        totals = {"comparisons": 0, "files": 0, "bytes": 0}
        for comparison_id in comparisons_to_prune(keep_days, root):
            files, size = self._prune_one(comparison_id, root, dry_run)
            if files:
                totals["comparisons"] += 1
                totals["files"] += files
                totals["bytes"] += size
        self._report(totals, keep_days, dry_run)

    def _prune_one(self, comparison_id, root, dry_run):
        folder, files = artifact_files(comparison_id, root)
        size = sum(path.stat().st_size for path in files)
        if dry_run:
            return len(files), size
        for path in files:
            path.unlink(missing_ok=True)
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        cleared = (
            HistogramResult.objects.filter(comparison_id=comparison_id)
            .filter(_has_artifacts())
            .update(png="", pdf="", txt="")
        )
        if files or cleared:
            logger.info("comparison %s: deleted %d artifact files (%d bytes)", comparison_id, len(files), size)
        return len(files), size

    def _report(self, totals, keep_days, dry_run):
        verb = "would free" if dry_run else "freed"
        self.stdout.write(
            f"{verb} {size_text(totals['bytes'])} ({totals['bytes']} bytes): {totals['files']} files of "
            f"{totals['comparisons']} comparisons finished more than {keep_days} days ago"
        )
