"""Queries behind the trend pages.

One histogram's scores across runs, and one subsystem's fraction of flagged
histograms per run. A run compared several times (other references, re-runs)
is one point: the latest finished comparison of that run that scored the
histogram.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import RowNumber
from django.db.models.expressions import Window

from comparisons.models import Annotation, Comparison, HistogramResult, RunQuality
from comparisons.permalinks import versioned_url
from runs.models import Run
from runs.naming import split_dataset

DEFAULT_RUN_LIMIT = 200
MAX_RUN_LIMIT = 2000
MOST_FLAGGED_LIMIT = 20


@dataclass
class RunFilter:
    """Run selection of a trend: a dataset, a run range, and at most `limit` runs (the latest)."""

    dataset: str = ""
    run_min: int | None = None
    run_max: int | None = None
    limit: int = DEFAULT_RUN_LIMIT

    def lookups(self, prefix):
        """Return filter keyword arguments for runs reached through `prefix` (e.g. "comparison__data_run")."""
        found = {}
        if self.dataset:
            primary, era, processing = split_dataset(self.dataset)
            found.update({
                f"{prefix}__primary_dataset": primary,
                f"{prefix}__era": era,
                f"{prefix}__processing": processing,
            })
        if self.run_min is not None:
            found[f"{prefix}__number__gte"] = self.run_min
        if self.run_max is not None:
            found[f"{prefix}__number__lte"] = self.run_max
        return found


@dataclass
class HistogramPoint:
    """One run's scores of one histogram, from the run's latest finished comparison."""

    run: int
    dataset: str
    run_id: int
    comparison_id: int
    comparison_url: str
    result_id: int
    compared_at: datetime
    chi2: float | None
    max_pull: float | None
    ks: float | None
    entries: float | None
    chi2_cut: float | None
    pull_cut: float | None
    ks_cut: float | None
    outlier: bool
    comparable: bool
    annotation: str = ""
    run_quality: str = ""

    def as_row(self):
        row = asdict(self)
        row["compared_at"] = self.compared_at.isoformat(timespec="seconds")
        return row


@dataclass
class SubsystemPoint:
    """One run's latest finished comparison of a subsystem, counted."""

    run: int
    dataset: str
    run_id: int
    comparison_id: int
    comparison_url: str
    compared_at: datetime
    results: int
    outliers: int
    not_comparable: int
    run_quality: str = ""

    @property
    def flagged(self):
        return self.outliers + self.not_comparable

    @property
    def fraction_flagged(self):
        return self.flagged / self.results if self.results else None

    def as_row(self):
        row = asdict(self)
        row["compared_at"] = self.compared_at.isoformat(timespec="seconds")
        row["flagged"] = self.flagged
        row["fraction_flagged"] = self.fraction_flagged
        return row


@dataclass
class FlaggedHistogram:
    histogram: str
    comparator: str
    flagged_runs: int
    outlier_runs: int
    runs: list = field(default_factory=list)


def _dataset_label(primary, era, processing):
    return Run(primary_dataset=primary, era=era, processing=processing).dataset


def _permalink(comparison_id, key, version):
    return versioned_url(Comparison(pk=comparison_id, permalink_key=key, version=version))


def current_annotation_verdict(result_ref="pk"):
    """Build a subquery of the current annotation verdict of the result at `result_ref`."""
    current = Annotation.objects.filter(result=OuterRef(result_ref), superseded_by__isnull=True)
    return Subquery(current.order_by("-created_at").values("verdict")[:1])


def current_run_quality(run_ref, subsystem_ref):
    """Build a subquery of the current verdict on the run at `run_ref` for the subsystem at `subsystem_ref`."""
    current = RunQuality.objects.filter(
        run=OuterRef(run_ref), subsystem=OuterRef(subsystem_ref), superseded_by__isnull=True
    )
    return Subquery(current.order_by("-created_at").values("verdict")[:1])


HISTOGRAM_POINT_FIELDS = {
    "run": "comparison__data_run__number",
    "primary": "comparison__data_run__primary_dataset",
    "era": "comparison__data_run__era",
    "processing": "comparison__data_run__processing",
    "run_id": "comparison__data_run_id",
    "key": "comparison__permalink_key",
    "version": "comparison__version",
    "compared_at": "comparison__created_at",
}


def histogram_points(subsystem, histogram, comparator, runs=None):
    """Return the HistogramPoints of `histogram` scored by `comparator`, in increasing run order.

    One SQL query: a window function keeps the latest finished comparison of
    each data run, and subqueries add the current annotation and run verdict.
    """
    runs = runs or RunFilter()
    latest_first = [F("comparison__created_at").desc(), F("comparison_id").desc()]
    rows = (
        HistogramResult.objects.filter(
            comparison__subsystem=subsystem,
            comparison__status=Comparison.DONE,
            histogram=histogram,
            comparator=comparator,
            **runs.lookups("comparison__data_run"),
        )
        .annotate(
            newest=Window(RowNumber(), partition_by=[F("comparison__data_run_id")], order_by=latest_first),
            verdict=current_annotation_verdict(),
            quality=current_run_quality("comparison__data_run_id", "comparison__subsystem_id"),
            **{name: F(path) for name, path in HISTOGRAM_POINT_FIELDS.items()},
        )
        .filter(newest=1)
        .order_by("-run", "primary", "era", "processing")
        .values(
            *HISTOGRAM_POINT_FIELDS, "id", "comparison_id", "chi2", "max_pull", "ks", "entries_data", "thresholds",
            "outlier", "comparable", "verdict", "quality",
        )
    )
    return [_histogram_point(row) for row in reversed(rows[: runs.limit])]


def _histogram_point(row):
    thresholds = row["thresholds"] or {}
    return HistogramPoint(
        run=row["run"],
        dataset=_dataset_label(row["primary"], row["era"], row["processing"]),
        run_id=row["run_id"],
        comparison_id=row["comparison_id"],
        comparison_url=_permalink(row["comparison_id"], row["key"], row["version"]),
        result_id=row["id"],
        compared_at=row["compared_at"],
        chi2=row["chi2"],
        max_pull=row["max_pull"],
        ks=row["ks"],
        entries=row["entries_data"],
        chi2_cut=thresholds.get("chi2_cut"),
        pull_cut=thresholds.get("pull_cut"),
        ks_cut=thresholds.get("ks_cut"),
        outlier=row["outlier"],
        comparable=row["comparable"],
        annotation=row["verdict"] or "",
        run_quality=row["quality"] or "",
    )


def latest_comparisons(subsystem=None, status=Comparison.DONE):
    """Select the comparisons that are the latest of their data run and subsystem (among `status` ones when given)."""
    newer = Comparison.objects.filter(data_run=OuterRef("data_run"), subsystem=OuterRef("subsystem"))
    if status:
        newer = newer.filter(status=status)
    latest = Comparison.objects.filter(pk=Subquery(newer.order_by("-created_at", "-pk").values("pk")[:1]))
    if subsystem is not None:
        latest = latest.filter(subsystem=subsystem)
    return latest


def with_result_counts(comparisons):
    """Annotate comparisons with n_results, n_outliers and n_not_comparable.

    n_not_comparable leaves out outliers, so the two add up to the flagged results.
    """
    return comparisons.annotate(
        n_results=Count("results"),
        n_outliers=Count("results", filter=Q(results__outlier=True)),
        n_not_comparable=Count("results", filter=Q(results__comparable=False, results__outlier=False)),
    )


def subsystem_points(subsystem, runs=None):
    """Return the SubsystemPoints of `subsystem`, one per data run, in increasing run order."""
    runs = runs or RunFilter()
    comparisons = (
        with_result_counts(latest_comparisons(subsystem).filter(**runs.lookups("data_run")))
        .annotate(quality=current_run_quality("data_run_id", "subsystem_id"))
        .select_related("data_run")
        .order_by("-data_run__number", "data_run__primary_dataset", "data_run__era")
    )
    return [_subsystem_point(comparison) for comparison in reversed(comparisons[: runs.limit])]


def _subsystem_point(comparison):
    run = comparison.data_run
    return SubsystemPoint(
        run=run.number,
        dataset=run.dataset,
        run_id=run.pk,
        comparison_id=comparison.pk,
        comparison_url=versioned_url(comparison),
        compared_at=comparison.created_at,
        results=comparison.n_results,
        outliers=comparison.n_outliers,
        not_comparable=comparison.n_not_comparable,
        run_quality=comparison.quality or "",
    )


def most_flagged(comparison_ids, limit=MOST_FLAGGED_LIMIT):
    """Return the histograms flagged in most of the given comparisons, most often flagged first."""
    flagged = Q(outlier=True) | Q(comparable=False)
    rows = (
        HistogramResult.objects.filter(comparison_id__in=comparison_ids)
        .filter(flagged)
        .values("histogram", "comparator")
        .annotate(flagged_runs=Count("id"), outlier_runs=Count("id", filter=Q(outlier=True)))
        .order_by("-flagged_runs", "-outlier_runs", "histogram", "comparator")[:limit]
    )
    return [FlaggedHistogram(**row) for row in rows]


def comparators_of(subsystem, histogram):
    """Return the comparators that scored `histogram` of `subsystem`, in name order."""
    return list(
        HistogramResult.objects.filter(comparison__subsystem=subsystem, histogram=histogram)
        .order_by("comparator")
        .values_list("comparator", flat=True)
        .distinct()
    )


def search_histograms(subsystem, text, limit=50):
    """Return up to `limit` (histogram, comparator) pairs of `subsystem` whose path contains `text`."""
    return list(
        HistogramResult.objects.filter(comparison__subsystem=subsystem, histogram__icontains=text)
        .order_by("histogram", "comparator")
        .values_list("histogram", "comparator")
        .distinct()[:limit]
    )


def datasets_of(subsystem):
    """Return the datasets of the data runs compared for `subsystem`, sorted."""
    rows = (
        Run.objects.filter(comparisons_as_data__subsystem=subsystem)
        .values_list("primary_dataset", "era", "processing")
        .distinct()
    )
    return sorted({_dataset_label(*row) for row in rows} - {""})
