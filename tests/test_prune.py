from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from comparisons import artifacts
from comparisons.config_io import import_config
from comparisons.models import Annotation, Comparison, HistogramResult
from comparisons.requests import create_comparison, resolve_request
from comparisons.tasks import run_comparison
from tests.conftest import demo_reference_runs

pytestmark = pytest.mark.django_db


# Three histograms of the demo files, two of them with injected faults, keep the comparison quick.
SMALL_CSC = {
    "comparators": ["beta_binomial"],
    "hists": [{"path": "Occupancy/hOWires"}, {"path": "Segments/hSTimeCombined"}, {"path": "Occupancy/hOStrips"}],
    "main_gdir": "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/",
}


@pytest.fixture
def compared(demo_site):
    """A finished demo CSC comparison with its eagerly drawn artifacts, finished 40 days ago."""
    import_config("CSC", SMALL_CSC)
    request = resolve_request("CSC", 355200, demo_reference_runs())
    comparison = create_comparison(request)
    assert run_comparison(comparison.pk) == Comparison.DONE
    old = timezone.now() - timedelta(days=40)
    Comparison.objects.filter(pk=comparison.pk).update(created_at=old, finished_at=old)
    return comparison


def _artifact_paths(comparison):
    root = Path(artifacts.absolute_path(""))
    return sorted(path for path in (root / f"comparison-{comparison.pk}").rglob("*") if path.is_file())


def _prune(*args):
    out = StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue()


def _stored_paths(comparison):
    return list(
        HistogramResult.objects.filter(comparison=comparison).exclude(png="", pdf="", txt="").values_list("png", "txt")
    )


def test_prune_deletes_old_artifacts(compared):
    files = _artifact_paths(compared)
    assert files, "outliers are drawn while the comparison runs"
    size = sum(path.stat().st_size for path in files)
    output = _prune("--keep-days", "30")
    assert f"({size} bytes): {len(files)} files of 1 comparisons" in output
    assert output.startswith("freed ")
    assert _artifact_paths(compared) == []
    assert not (Path(artifacts.absolute_path("")) / f"comparison-{compared.pk}").exists()
    assert _stored_paths(compared) == []


def test_prune_keeps_scores_and_annotations(compared):
    outlier = HistogramResult.objects.filter(comparison=compared, outlier=True).order_by("histogram").first()
    Annotation.record(outlier, Annotation.PROBLEM, "dead chambers", None)
    scores = list(HistogramResult.objects.filter(comparison=compared).values_list("histogram", "chi2", "max_pull"))
    _prune("--keep-days", "30")
    assert list(HistogramResult.objects.filter(comparison=compared).values_list("histogram", "chi2", "max_pull")) == scores
    assert outlier.current_annotation().comment == "dead chambers"


def test_dry_run_deletes_nothing(compared):
    files = _artifact_paths(compared)
    output = _prune("--keep-days", "30", "--dry-run")
    assert output.startswith("would free ")
    assert f"{len(files)} files of 1 comparisons" in output
    assert _artifact_paths(compared) == files
    assert _stored_paths(compared)


def test_recent_comparisons_kept(compared):
    files = _artifact_paths(compared)
    output = _prune("--keep-days", "60")
    assert "0 files of 0 comparisons" in output
    assert _artifact_paths(compared) == files


def test_running_comparison_kept(compared):
    Comparison.objects.filter(pk=compared.pk).update(status=Comparison.RUNNING)
    files = _artifact_paths(compared)
    _prune("--keep-days", "0")
    assert _artifact_paths(compared) == files


def test_artifacts_redrawn_after_prune(compared):
    _prune("--keep-days", "30")
    row = HistogramResult.objects.filter(comparison=compared, outlier=True).order_by("histogram").first()
    assert row.png == ""
    path = artifacts.ensure(row, "png")
    assert path.is_file()
    assert path.read_bytes().startswith(b"\x89PNG")
    row.refresh_from_db()
    assert row.png
    assert row.txt


def test_prune_twice_frees_nothing(compared):
    _prune("--keep-days", "30")
    assert "0 files of 0 comparisons" in _prune("--keep-days", "30")


def test_negative_days_rejected(db):
    with pytest.raises(CommandError, match="--keep-days must be 0 or more, got -1"):
        _prune("--keep-days", "-1")
