"""Queries behind the run history pages: what each subsystem's latest comparison of a run found.

A page of runs costs a fixed handful of queries, whatever the number of runs
and results: counts come from aggregates, the worst histograms from a window
function, annotation counts from one grouped query.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Prefetch, Q
from django.db.models.functions import Abs, RowNumber
from django.db.models.expressions import Window

from comparisons.models import Annotation, Comparison, ComparisonReference, HistogramResult, RunQuality
from comparisons.permalinks import versioned_url
from comparisons.trends import latest_comparisons, with_result_counts
from runs.naming import split_dataset

WORST_COUNT = 3

STATUS_CHOICES = [
    ("", "any"),
    ("flagged", "flagged: outliers or not comparable"),
    ("outliers", "with outliers"),
    ("clean", "compared, nothing flagged"),
    ("problem", "annotated as a problem"),
    ("failed", "comparison failed"),
    ("pending", "comparison queued or running"),
    ("not_compared", "never compared"),
    ("good", "marked good"),
    ("bad", "marked bad"),
]
VERDICT_ORDER = [choice for choice, _label in Annotation.VERDICT_CHOICES]


@dataclass
class SubsystemEntry:
    """Findings of one subsystem's latest comparison of a run, with the run's verdict and annotations."""

    subsystem: str
    comparison: Comparison | None = None
    worst: list = field(default_factory=list)
    annotations: dict = field(default_factory=dict)
    quality: str = ""

    @property
    def comparison_url(self):
        return versioned_url(self.comparison) if self.comparison is not None else ""

    @property
    def flagged(self):
        if self.comparison is None:
            return 0
        return self.comparison.n_outliers + self.comparison.n_not_comparable

    @property
    def fraction_flagged(self):
        if self.comparison is None or not self.comparison.n_results:
            return None
        return self.flagged / self.comparison.n_results

    @property
    def percent_flagged(self):
        fraction = self.fraction_flagged
        return None if fraction is None else 100 * fraction

    @property
    def annotation_total(self):
        return sum(self.annotations.values())

    def annotation_counts(self):
        """Return (verdict label, count) pairs in the order of the verdict choices."""
        labels = dict(Annotation.VERDICT_CHOICES)
        return [(labels[verdict], self.annotations[verdict]) for verdict in VERDICT_ORDER if verdict in self.annotations]


@dataclass
class RunRow:
    run: object
    entries: list = field(default_factory=list)


# --- filters ------------------------------------------------------------------------


def _flagged_results():
    return HistogramResult.objects.filter(comparison=OuterRef("pk")).filter(Q(outlier=True) | Q(comparable=False))


def _latest(subsystem):
    return latest_comparisons(subsystem, status=None)


def _current_quality(subsystem, verdict):
    verdicts = RunQuality.objects.filter(superseded_by__isnull=True, verdict=verdict)
    return verdicts.filter(subsystem=subsystem) if subsystem is not None else verdicts


def _status_filter(runs, status, subsystem):
    latest = _latest(subsystem)
    data_runs = {
        "flagged": latest.filter(status=Comparison.DONE).filter(Exists(_flagged_results())),
        "outliers": latest.filter(status=Comparison.DONE, results__outlier=True),
        "failed": latest.filter(status=Comparison.FAILED),
        "pending": latest.filter(status__in=[Comparison.QUEUED, Comparison.RUNNING]),
    }
    if status in data_runs:
        return runs.filter(pk__in=data_runs[status].values("data_run"))
    if status == "clean":
        not_clean = latest.filter(~Q(status=Comparison.DONE) | Exists(_flagged_results()))
        return runs.filter(pk__in=latest.values("data_run")).exclude(pk__in=not_clean.values("data_run"))
    if status == "not_compared":
        compared = Comparison.objects.all() if subsystem is None else Comparison.objects.filter(subsystem=subsystem)
        return runs.exclude(pk__in=compared.values("data_run"))
    if status in ("good", "bad"):
        return runs.filter(pk__in=_current_quality(subsystem, status).values("run"))
    if status == "problem":
        problems = Annotation.objects.filter(superseded_by__isnull=True, verdict=Annotation.PROBLEM)
        if subsystem is not None:
            problems = problems.filter(result__comparison__subsystem=subsystem)
        return runs.filter(pk__in=problems.values("result__comparison__data_run"))
    return runs


def filter_runs(runs, dataset="", era="", run_min=None, run_max=None, status="", subsystem=None):
    """Narrow a Run queryset by dataset, era, run range, status and subsystem.

    `status` is one of STATUS_CHOICES. It looks at the latest comparison of
    each run, at the current run verdicts or at the current annotations, of
    `subsystem` when given and of any subsystem otherwise.
    Raises ValueError for a malformed dataset name.
    """
    if dataset:
        primary, dataset_era, processing = split_dataset(dataset)
        runs = runs.filter(primary_dataset=primary, era=dataset_era, processing=processing)
    if era:
        runs = runs.filter(era=era)
    if run_min is not None:
        runs = runs.filter(number__gte=run_min)
    if run_max is not None:
        runs = runs.filter(number__lte=run_max)
    if subsystem is not None and not status:
        runs = runs.filter(
            Q(pk__in=Comparison.objects.filter(subsystem=subsystem).values("data_run"))
            | Q(pk__in=RunQuality.objects.filter(subsystem=subsystem).values("run"))
        )
    return _status_filter(runs, status, subsystem)


# --- rows of a page ---------------------------------------------------------------------


def _latest_for(run_ids, subsystem):
    comparisons = with_result_counts(_latest(subsystem).filter(data_run_id__in=run_ids))
    return list(comparisons.select_related("subsystem", "config_version").order_by("subsystem__name"))


def worst_results(comparison_ids, count=WORST_COUNT):
    """Return {comparison id: its `count` results with the largest |max pull|}, in one query."""
    ranked = (
        HistogramResult.objects.filter(comparison_id__in=comparison_ids, max_pull__isnull=False)
        .annotate(
            place=Window(RowNumber(), partition_by=[F("comparison_id")],
                         order_by=[Abs("max_pull").desc(), F("histogram").asc()])
        )
        .filter(place__lte=count)
        .only("id", "comparison_id", "histogram", "comparator", "max_pull", "chi2", "outlier")
        .order_by("comparison_id", "place")
    )
    found = defaultdict(list)
    for result in ranked:
        found[result.comparison_id].append(result)
    return found


def annotation_counts(run_ids, subsystem=None):
    """Return {(run id, subsystem name): {verdict: count}} of current annotations, over all comparisons."""
    rows = Annotation.objects.filter(superseded_by__isnull=True, result__comparison__data_run_id__in=run_ids)
    if subsystem is not None:
        rows = rows.filter(result__comparison__subsystem=subsystem)
    grouped = (
        rows.values("result__comparison__data_run_id", "result__comparison__subsystem__name", "verdict")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = defaultdict(dict)
    for row in grouped:
        key = (row["result__comparison__data_run_id"], row["result__comparison__subsystem__name"])
        counts[key][row["verdict"]] = row["n"]
    return counts


def quality_verdicts(run_ids, subsystem=None):
    """Return {(run id, subsystem name): current verdict}."""
    rows = RunQuality.objects.filter(run_id__in=run_ids, superseded_by__isnull=True)
    if subsystem is not None:
        rows = rows.filter(subsystem=subsystem)
    return {(run_id, name): verdict for run_id, name, verdict in rows.values_list("run_id", "subsystem__name", "verdict")}


def run_rows(runs, subsystem=None):
    """Return a RunRow per run, each with one SubsystemEntry per subsystem that compared or judged it."""
    run_ids = [run.pk for run in runs]
    entries = {}
    for comparison in _latest_for(run_ids, subsystem):
        key = (comparison.data_run_id, comparison.subsystem.name)
        entries[key] = SubsystemEntry(subsystem=key[1], comparison=comparison)
    worst = worst_results([entry.comparison.pk for entry in entries.values()])
    for entry in entries.values():
        entry.worst = worst.get(entry.comparison.pk, [])
    for key, counts in annotation_counts(run_ids, subsystem).items():
        entries.setdefault(key, SubsystemEntry(subsystem=key[1])).annotations = counts
    for key, verdict in quality_verdicts(run_ids, subsystem).items():
        entries.setdefault(key, SubsystemEntry(subsystem=key[1])).quality = verdict
    rows = {run.pk: RunRow(run=run) for run in runs}
    for (run_id, _name), entry in sorted(entries.items(), key=lambda item: item[0][1]):
        rows[run_id].entries.append(entry)
    return [rows[run.pk] for run in runs]


# --- one run ----------------------------------------------------------------------------------


def comparisons_of_run(run):
    """Return every comparison with `run` as data run, per subsystem and newest first, with counts and references."""
    references = Prefetch(
        "comparisonreference_set",
        queryset=ComparisonReference.objects.select_related("run").order_by("position"),
        to_attr="ordered_references",
    )
    comparisons = with_result_counts(Comparison.objects.filter(data_run=run))
    return list(
        comparisons.select_related("subsystem", "config_version", "created_by")
        .prefetch_related(references)
        .order_by("subsystem__name", "-created_at", "-pk")
    )


def comparisons_using_reference(run, limit=50):
    """Return the latest comparisons that used `run` as a reference run."""
    return list(
        Comparison.objects.filter(comparisonreference__run=run)
        .select_related("subsystem", "data_run")
        .order_by("-created_at")[:limit]
    )


def annotations_of_run(run):
    """Return every annotation on results of `run`'s comparisons, current ones first, newest first."""
    return list(
        Annotation.objects.filter(result__comparison__data_run=run)
        .select_related("result__comparison__subsystem", "author")
        .annotate(is_current=ExpressionWrapper(Q(superseded_by__isnull=True), output_field=BooleanField()))
        .order_by("-is_current", "-created_at")
    )


def quality_history(run):
    """Return every verdict on `run`, per subsystem and newest (the current one) first."""
    return list(
        RunQuality.objects.filter(run=run)
        .select_related("subsystem", "author")
        .order_by("subsystem__name", "-created_at")
    )
