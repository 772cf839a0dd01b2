"""The read-only JSON API: comparisons with their status and results, and runs.

Lists are paginated with `?page=N&page_size=M` (page size at most
MAX_PAGE_SIZE) and return {count, page, pages, next, previous, results}.
Errors are JSON too: {"error": "..."} with status 400 or 404.
"""

import math
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, Q
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from comparisons.models import Annotation, Comparison, ComparisonReference, RunQuality
from comparisons.permalinks import versioned_url
from runs.models import Run

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class ApiError(Exception):
    """A request the API rejects; `status` is the HTTP status of the response."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def estimate_remaining(done, total, elapsed_seconds):
    """Estimate the seconds left from the rate so far; None before the first histogram is done."""
    if not total or done <= 0 or elapsed_seconds is None or elapsed_seconds <= 0:
        return None
    if done >= total:
        return 0.0
    return elapsed_seconds / done * (total - done)


def format_duration(seconds):
    """Write a duration for people: "45 s", "3 min 05 s", "2 h 07 min"; "" for None."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def finite(value):
    """Return `value`, or None for NaN and infinities, which JSON cannot carry."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def _seconds_between(start, end):
    if start is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def queue_position(comparison):
    """Count the comparisons queued before this one; None unless it is queued."""
    if comparison.status != Comparison.QUEUED:
        return None
    return Comparison.objects.filter(status=Comparison.QUEUED, created_at__lt=comparison.created_at).count()


def progress_document(comparison, now=None):
    """Progress of a comparison: histograms done out of total, elapsed and estimated remaining seconds."""
    now = now or timezone.now()
    end = comparison.finished_at or now
    elapsed = _seconds_between(comparison.started_at, end)
    remaining = None
    if comparison.status == Comparison.RUNNING:
        remaining = estimate_remaining(comparison.progress_done, comparison.progress_total, elapsed)
    return {
        "done": comparison.progress_done,
        "total": comparison.progress_total,
        "stage": comparison.stage,
        "elapsed_seconds": elapsed,
        "remaining_seconds": remaining,
        "waiting_seconds": _seconds_between(comparison.created_at, comparison.started_at or now),
        "queue_position": queue_position(comparison),
    }


def run_label(run):
    return {"number": run.number, "dataset": run.dataset}


def _time(value):
    return value.isoformat() if value else None


def _result_counts(comparison):
    """Count the results, outliers and not comparable results, from `_comparison_queryset`'s annotations."""
    if hasattr(comparison, "result_total"):
        return {
            "total": comparison.result_total,
            "outliers": comparison.outlier_total,
            "not_comparable": comparison.not_comparable_total,
        }
    return comparison.results.aggregate(
        total=Count("id"),
        outliers=Count("id", filter=Q(outlier=True)),
        not_comparable=Count("id", filter=Q(comparable=False)),
    )


def _reference_runs(comparison):
    """The reference runs in their order, from the prefetched references when there are some."""
    cache = getattr(comparison, "_prefetched_objects_cache", {})
    if "comparisonreference_set" in cache:
        return [item.run for item in sorted(cache["comparisonreference_set"], key=lambda item: item.position)]
    return comparison.reference_runs()


def comparison_document(request, comparison):
    """Summarize one comparison, as listed and as the head of the detail."""
    counts = _result_counts(comparison)
    return {
        "id": comparison.pk,
        "api_url": request.build_absolute_uri(reverse("api-comparison", args=[comparison.pk])),
        "report_url": request.build_absolute_uri(versioned_url(comparison)),
        "status_url": request.build_absolute_uri(comparison.get_status_url()),
        "subsystem": comparison.subsystem.name,
        "config_version": comparison.config_version.number,
        "version": comparison.version,
        "data_run": run_label(comparison.data_run),
        "reference_runs": [run_label(run) for run in _reference_runs(comparison)],
        "status": comparison.status,
        "progress": progress_document(comparison),
        "error": comparison.error,
        "warnings": comparison.warnings,
        "created_by": comparison.created_by.get_username() if comparison.created_by else None,
        "created_at": _time(comparison.created_at),
        "started_at": _time(comparison.started_at),
        "finished_at": _time(comparison.finished_at),
        "counts": counts,
    }


def annotation_document(annotation):
    if annotation is None:
        return None
    return {
        "verdict": annotation.verdict,
        "comment": annotation.comment,
        "author": annotation.author.get_username() if annotation.author else None,
        "created_at": _time(annotation.created_at),
    }


def result_document(request, row, annotation=None):
    def artifact(kind):
        return request.build_absolute_uri(reverse("result-artifact", args=[row.pk, kind]))

    return {
        "id": row.pk,
        "histogram": row.histogram,
        "comparator": row.comparator,
        "rule": row.rule_path,
        "type": row.hist_type,
        "outlier": row.outlier,
        "comparable": row.comparable,
        "reason": row.reason,
        "chi2": finite(row.chi2),
        "max_pull": finite(row.max_pull),
        "ks": finite(row.ks),
        "p_value": finite(row.p_value),
        "n_used": row.n_used,
        "entries_data": finite(row.entries_data),
        "entries_refs": [finite(value) for value in row.entries_refs],
        "thresholds": {key: finite(value) for key, value in row.thresholds.items()},
        "annotation": annotation_document(annotation),
        "png": artifact("png"),
        "pdf": artifact("pdf"),
        "txt": artifact("txt"),
    }


def current_annotations(results):
    """Map result id to its current annotation, for the given result rows or queryset."""
    rows = Annotation.objects.filter(result__in=results, superseded_by__isnull=True).select_related("author")
    return {row.result_id: row for row in rows}


def _positive_int(request, name, default):
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(f"{name}={raw!r} is invalid: give a whole number of at least 1")
    return int(raw)


def paginate(request, queryset, to_document):
    """Return one page of `queryset`, each item turned into JSON by `to_document`."""
    page = _positive_int(request, "page", 1)
    size = min(_positive_int(request, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    count = queryset.count()
    pages = max(math.ceil(count / size), 1)
    if page > pages:
        raise ApiError(f"page {page} does not exist; there are {pages} pages", status=404)
    items = queryset[(page - 1) * size : page * size]

    def page_url(number):
        query = request.GET.copy()
        query["page"] = number
        return request.build_absolute_uri(f"{request.path}?{urlencode(sorted(query.items()))}")

    return {
        "count": count,
        "page": page,
        "pages": pages,
        "next": page_url(page + 1) if page < pages else None,
        "previous": page_url(page - 1) if page > 1 else None,
        "results": [to_document(item) for item in items],
    }


def json_view(view):
    """Wrap a view returning a dict into a GET-only JSON view that turns ApiError into a JSON error."""

    def wrapped(request, *args, **kwargs):
        try:
            return JsonResponse(view(request, *args, **kwargs))
        except ApiError as error:
            return JsonResponse({"error": str(error)}, status=error.status)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return require_GET(wrapped)


def _comparison_queryset():
    references = ComparisonReference.objects.select_related("run")
    return (
        Comparison.objects.select_related("subsystem", "config_version", "data_run", "created_by")
        .prefetch_related(Prefetch("comparisonreference_set", queryset=references))
        .annotate(
            result_total=Count("results"),
            outlier_total=Count("results", filter=Q(results__outlier=True)),
            not_comparable_total=Count("results", filter=Q(results__comparable=False)),
        )
    )


def _filter_comparisons(request, queryset):
    status = request.GET.get("status", "")
    if status == "active":
        queryset = queryset.filter(status__in=[Comparison.QUEUED, Comparison.RUNNING])
    elif status:
        if status not in dict(Comparison.STATUS_CHOICES):
            raise ApiError(f"status={status!r} is invalid: use queued, running, done, failed or active")
        queryset = queryset.filter(status=status)
    if request.GET.get("subsystem"):
        queryset = queryset.filter(subsystem__name=request.GET["subsystem"])
    if request.GET.get("run"):
        queryset = queryset.filter(data_run__number=_positive_int(request, "run", None))
    return queryset


@json_view
def comparisons(request):
    """List comparisons, newest first; filter with status, subsystem and run."""
    queryset = _filter_comparisons(request, _comparison_queryset()).order_by("-created_at", "-pk")
    return paginate(request, queryset, lambda item: comparison_document(request, item))


@json_view
def comparison(request, pk):
    """Show one comparison with its results; `?results=0` leaves them out, `?outliers=1` keeps only outliers."""
    found = _comparison_queryset().filter(pk=pk).first()
    if found is None:
        raise ApiError(f"comparison {pk} does not exist", status=404)
    document = comparison_document(request, found)
    if request.GET.get("results") != "0":
        rows = found.results.all().order_by("-outlier", "histogram", "comparator")
        if request.GET.get("outliers") == "1":
            rows = rows.filter(outlier=True)
        annotations = current_annotations(rows)
        document["results"] = [result_document(request, row, annotations.get(row.pk)) for row in rows]
    return document


def run_document(run, verdicts):
    return {
        "number": run.number,
        "dataset": run.dataset,
        "primary_dataset": run.primary_dataset,
        "era": run.era,
        "processing": run.processing,
        "files": [
            {
                "kind": item.kind,
                "name": item.path.rsplit("/", 1)[-1],
                "online_folder": item.online_folder,
                "size": item.size,
                "readable": item.readable,
            }
            for item in run.files.all()
        ],
        "quality": [
            {
                "subsystem": row.subsystem.name,
                "verdict": row.verdict,
                "author": row.author.get_username() if row.author else None,
                "created_at": _time(row.created_at),
            }
            for row in verdicts.get(run.pk, [])
        ],
    }


def _filter_runs(request, queryset):
    dataset = request.GET.get("dataset", "")
    if dataset:
        try:
            queryset = queryset.in_dataset(dataset)
        except ValueError as error:
            raise ApiError(str(error)) from None
    source = request.GET.get("source", "")
    if source:
        queryset = queryset.filter(files__kind=source).distinct()
    if request.GET.get("number"):
        queryset = queryset.filter(number=_positive_int(request, "number", None))
    return queryset


@json_view
def runs(request):
    """List runs, highest number first; filter with dataset, source (offline, online, local) and number."""
    queryset = _filter_runs(request, Run.objects.prefetch_related("files")).order_by("-number", "pk")
    data = paginate(request, queryset, lambda run: run)
    verdicts = {}
    current = RunQuality.objects.filter(run__in=data["results"], superseded_by__isnull=True)
    for row in current.select_related("subsystem", "author"):
        verdicts.setdefault(row.run_id, []).append(row)
    data["results"] = [run_document(run, verdicts) for run in data["results"]]
    return data
