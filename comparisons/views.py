"""The shifter's pages: choose the input, preview it, follow the status, read and annotate the report."""

import logging
import math
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from comparisons import artifacts, score_context
from comparisons.api import current_annotations, format_duration, progress_document
from comparisons.forms import SOURCE_CHOICES, AnnotationForm, ComparisonForm, RunQualityForm
from comparisons.inputs import InputError, select_run_file
from comparisons.models import Annotation, Comparison, HistogramResult, RunQuality, Subsystem
from comparisons.permalinks import versioned_url
from comparisons.pipeline import split_available
from comparisons.preview import RunSource, build_preview
from comparisons.requests import ComparisonRequest, RequestError, create_comparison
from comparisons.suggestions import list_datasets, list_runs, suggest_references
from comparisons.tasks import queue_comparison
from runs.models import Run

logger = logging.getLogger(__name__)

FILTERS = [("outliers", "Outliers"), ("all", "All"), ("annotated", "Annotated"), ("not_comparable", "Not comparable")]
SORTS = [("chi2", "chi2, highest first"), ("max_pull", "max pull, highest first"), ("name", "name")]
SOURCES = [value for value, _label in SOURCE_CHOICES]


def optional_url(name, query=None, **kwargs):
    """Reverse URL `name`, or return "" while no page of that name exists."""
    try:
        url = reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def wants_fragment(request):
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


# ---------------------------------------------------------------- home


def home(request):
    active = Comparison.objects.filter(status__in=[Comparison.QUEUED, Comparison.RUNNING])
    finished = Comparison.objects.filter(status__in=[Comparison.DONE, Comparison.FAILED]).annotate(
        # Counted per histogram, as the report's filters count them.
        outlier_count=Count("results__histogram", filter=Q(results__outlier=True), distinct=True),
        not_comparable_count=Count(
            "results__histogram", filter=Q(results__comparable=False, results__outlier=False), distinct=True
        ),
        result_count=Count("results__histogram", distinct=True),
    )
    context = {
        "active": active.select_related("subsystem", "data_run").order_by("created_at")[:50],
        "finished": finished.select_related("subsystem", "data_run", "created_by").order_by("-created_at")[:30],
    }
    return render(request, "comparisons/home.html", context)


# ---------------------------------------------------------------- choosing the input


def form_page(request, form, status=200):
    source = form["source"].value() if form["source"].value() in SOURCES else "offline"
    context = {"form": form, "datasets": list_datasets(source)}
    return render(request, "comparisons/new.html", context, status=status)


@require_GET
def new_comparison(request):
    """Show the input form, filled from the query string when the shifter comes back from the preview."""
    initial = {key: request.GET.get(key) for key in ComparisonForm.base_fields if request.GET.get(key)}
    return form_page(request, ComparisonForm(initial=initial))


def _run_source(role, run, subsystem_name):
    try:
        run_file = select_run_file(run, subsystem_name)
    except InputError as error:
        return RunSource(role=role, number=run.number, dataset=run.dataset, problem=str(error))
    return RunSource(
        role=role, number=run.number, dataset=run.dataset, path=run_file.path,
        kind=run_file.get_kind_display(), size=run_file.size,
    )


@require_GET
def preview_comparison(request):
    """Check the input and show what the comparison would read; the form again when it is invalid."""
    form = ComparisonForm(request.GET)
    if not form.is_valid():
        return form_page(request, form)
    chosen = form.comparison_request
    version = chosen.subsystem.current_version()
    name = chosen.subsystem.name
    preview = build_preview(
        version.config,
        _run_source("data", chosen.data_run, name),
        [_run_source("reference", run, name) for run in chosen.reference_runs],
    )
    query = urlencode(form.query_items())
    comparators = {name for rule in preview.rules for name in rule.comparators}
    context = {
        "form": form, "chosen": chosen, "preview": preview, "config_version": version,
        "unavailable": split_available(sorted(comparators))[1],
        "hidden": form.query_items(), "query": query,
        "login_url": f"{reverse('login')}?{urlencode({'next': f'{request.path}?{query}'})}",
    }
    return render(request, "comparisons/preview.html", context)


@require_POST
def start_comparison(request):
    """Queue the comparison that the preview showed; login needed."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("comparison-new"))
    form = ComparisonForm(request.POST)
    if not form.is_valid():
        return form_page(request, form, status=400)
    comparison = create_comparison(form.comparison_request, user=request.user)
    queue_comparison(comparison)
    messages.success(request, f"Comparison {comparison.pk} queued: {comparison}.")
    return redirect("comparison-status", pk=comparison.pk)


def _json_error(message, status=400):
    return JsonResponse({"error": message}, status=status)


def _picker_source(request):
    source = request.GET.get("source", "offline")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    return source


def _picker_subsystem(request):
    name = request.GET.get("subsystem", "")
    return Subsystem.objects.filter(name=name).first() if name else None


@require_GET
def choices_datasets(request):
    """Return the datasets of one source as JSON."""
    try:
        source = _picker_source(request)
    except ValueError as error:
        return _json_error(str(error))
    return JsonResponse({"source": source, "datasets": list_datasets(source)})


@require_GET
def choices_runs(request):
    """Return, as JSON, the runs of a source and dataset whose number contains the digits typed so far."""
    try:
        source = _picker_source(request)
        runs = list_runs(
            source, request.GET.get("dataset", ""), request.GET.get("q", ""), subsystem=_picker_subsystem(request)
        )
    except ValueError as error:
        return _json_error(str(error))
    return JsonResponse({"runs": runs})


def _find_data_run(request):
    number, dataset = request.GET.get("data_run", "").strip(), request.GET.get("data_dataset", "")
    if not number.isdigit():
        raise ValueError("choose the data run first")
    runs = Run.objects.filter(number=int(number))
    runs = runs.in_dataset(dataset) if dataset else runs
    found = list(runs[:2])
    if len(found) != 1:
        where = f" in dataset {dataset}" if dataset else ""
        problem = "is not known" if not found else "exists in several datasets; choose the dataset"
        raise ValueError(f"data run {number}{where} {problem}")
    return found[0]


@require_GET
def choices_references(request):
    """Return, as JSON, the suggested reference runs for the chosen subsystem and data run."""
    subsystem = _picker_subsystem(request)
    if subsystem is None:
        return _json_error("choose the subsystem first")
    try:
        source = _picker_source(request)
        data_run = _find_data_run(request)
        result = suggest_references(subsystem, data_run, source, request.GET.get("ref_dataset", ""))
    except ValueError as error:
        return _json_error(str(error))
    return JsonResponse(
        {
            "data_run": data_run.number,
            "data_entries": result.data_entries,
            "probe": result.probe,
            "suggestions": [vars(item) for item in result.suggestions],
            "skipped": [{"number": number, "reason": reason} for number, reason in result.skipped],
        }
    )


# ---------------------------------------------------------------- status


def comparison_status(request, pk):
    comparison = get_object_or_404(
        Comparison.objects.select_related("subsystem", "data_run", "config_version", "created_by"), pk=pk
    )
    progress = progress_document(comparison)
    context = {
        "comparison": comparison,
        "progress": progress,
        "elapsed": format_duration(progress["elapsed_seconds"]),
        "remaining": format_duration(progress["remaining_seconds"]),
        "waiting": format_duration(progress["waiting_seconds"]),
        "outliers": comparison.results.filter(outlier=True).count(),
        "result_count": comparison.results.count(),
        "report_url": versioned_url(comparison),
    }
    return render(request, "comparisons/status.html", context)


@require_POST
def rerun_comparison(request, pk):
    """Queue the same comparison again with the subsystem's current config; the older version stays."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.POST.get("next") or reverse("home"))
    old = get_object_or_404(Comparison.objects.select_related("subsystem", "data_run"), pk=pk)
    again = ComparisonRequest(subsystem=old.subsystem, data_run=old.data_run, reference_runs=old.reference_runs())
    try:
        comparison = create_comparison(again, user=request.user)
    except RequestError as error:
        messages.error(request, str(error))
        return redirect(versioned_url(old))
    queue_comparison(comparison)
    messages.success(request, f"Version {comparison.version} of this comparison queued.")
    return redirect("comparison-status", pk=comparison.pk)


# ---------------------------------------------------------------- report


@dataclass
class ReportState:
    """The toolbar choices of the report, read from the query string so that a link keeps them."""

    filter: str
    query: str
    sort: str
    comparator: str
    selected: int = 0


def finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


def sort_key(sort):
    """Key function for result rows: chi2 or |max pull| from the highest, or the histogram path."""
    if sort == "name":
        return lambda row: (row.histogram.lower(), row.comparator)

    def by_score(row):
        value = finite_or_none(row.chi2 if sort == "chi2" else row.max_pull)
        return (value is None, -abs(value or 0.0), row.histogram.lower())

    return by_score


def row_matches(row, state, annotation=None):
    """Check a result row against the toolbar: comparator, name search and filter."""
    if state.comparator and row.comparator != state.comparator:
        return False
    if state.query and state.query.lower() not in row.histogram.lower():
        return False
    if state.filter == "outliers":
        return row.outlier
    if state.filter == "annotated":
        return annotation is not None
    if state.filter == "not_comparable":
        return not row.comparable
    return True


def default_comparator(comparison, rows):
    """Return the subsystem's first configured comparator that has results, else the most common one."""
    present = Counter(row.comparator for row in rows)
    for name in comparison.config_version.config.get("comparators") or []:
        if name in present:
            return name
    return present.most_common(1)[0][0] if present else ""


def report_state(request, comparison, rows):
    comparators = {row.comparator for row in rows}
    comparator = request.GET.get("comparator", "")
    if comparator not in comparators:
        comparator = default_comparator(comparison, rows)
    wanted = request.GET.get("filter", "")
    if wanted not in dict(FILTERS):
        has_outliers = any(row.outlier and row.comparator == comparator for row in rows)
        wanted = "outliers" if has_outliers else "all"
    sort = request.GET.get("sort", "")
    selected = request.GET.get("h", "")
    return ReportState(
        filter=wanted,
        query=request.GET.get("q", "").strip(),
        sort=sort if sort in dict(SORTS) else "chi2",
        comparator=comparator,
        selected=int(selected) if selected.isdigit() else 0,
    )


def filter_counts(rows, state, annotations):
    counts = {}
    for name, _label in FILTERS:
        probe = ReportState(filter=name, query="", sort=state.sort, comparator=state.comparator)
        counts[name] = sum(row_matches(row, probe, annotations.get(row.pk)) for row in rows)
    return counts


def neighbour_comparisons(comparison):
    """Return the finished comparisons of the runs just before and after this one, with the same references."""
    references = comparison.permalink_key.partition("/vs/")[2]
    run = comparison.data_run
    same = (
        Comparison.objects.filter(
            subsystem=comparison.subsystem,
            status=Comparison.DONE,
            permalink_key__endswith=f"/vs/{references}",
            data_run__primary_dataset=run.primary_dataset,
            data_run__era=run.era,
            data_run__processing=run.processing,
        )
        .exclude(data_run=run)
        .select_related("data_run")
    )
    previous = same.filter(data_run__number__lt=run.number).order_by("-data_run__number", "-version").first()
    following = same.filter(data_run__number__gt=run.number).order_by("data_run__number", "-version").first()
    return previous, following


def _choose_version(request, versions):
    requested = request.GET.get("version", "")
    if requested.isdigit():
        for comparison in versions:
            if comparison.version == int(requested):
                return comparison
        messages.warning(request, f"Version {requested} of this comparison does not exist; showing the latest.")
    done = [comparison for comparison in versions if comparison.status == Comparison.DONE]
    return done[0] if done else versions[0]


def _decorate(rows, annotations, ranks, state):
    ordered = sorted(rows, key=sort_key(state.sort))
    for row in ordered:
        row.annotation = annotations.get(row.pk)
        row.rank = ranks.get(row.pk) or {}
        row.visible = row_matches(row, state, row.annotation)
    return ordered


def current_run_quality(comparison):
    return (
        RunQuality.objects.filter(run=comparison.data_run, subsystem=comparison.subsystem, superseded_by__isnull=True)
        .select_related("author")
        .first()
    )


def report_context(request, comparison, versions):
    rows = list(comparison.results.all())
    annotations = current_annotations(rows)
    state = report_state(request, comparison, rows)
    ranks = score_context.rank_scores(rows) if rows else {}
    ordered = _decorate(rows, annotations, ranks, state)
    previous, following = neighbour_comparisons(comparison)
    selected = next((row for row in ordered if row.pk == state.selected), None)
    counts = filter_counts(rows, state, annotations)
    data_run = comparison.data_run
    return {
        "comparison": comparison,
        "versions": versions,
        "newer": [other for other in versions if other.version > comparison.version],
        "results": ordered,
        "state": state,
        "filters": [(name, label, counts[name]) for name, label in FILTERS],
        "sorts": SORTS,
        "comparators": sorted({row.comparator for row in rows}),
        "previous": previous,
        "following": following,
        "run_quality": current_run_quality(comparison),
        "quality_form": RunQualityForm(),
        "permalink": request.build_absolute_uri(versioned_url(comparison)),
        "run_url": optional_url("run-detail", pk=data_run.pk),
        "selected": panel_context(request, selected, rank=selected.rank) if selected else None,
        "visible_count": sum(row.visible for row in ordered),
        "base_query": urlencode(
            {"version": comparison.version, "filter": state.filter, "q": state.query,
             "sort": state.sort, "comparator": state.comparator}
        ),
    }


def comparison_permalink(request, key):
    versions = list(
        Comparison.objects.filter(permalink_key=key.strip("/"))
        .select_related("subsystem", "config_version", "data_run", "created_by")
        .order_by("-version")
    )
    if not versions:
        raise Http404(f"No comparison is stored at /compare/{key}/")
    comparison = _choose_version(request, versions)
    return render(request, "comparisons/report.html", report_context(request, comparison, versions))


def comparison_report_by_id(request, pk):
    comparison = get_object_or_404(Comparison, pk=pk)
    return redirect(versioned_url(comparison))


@require_POST
def mark_run_quality(request, pk):
    """Record a shifter's verdict on the data run for the subsystem; login needed."""
    comparison = get_object_or_404(Comparison.objects.select_related("subsystem", "data_run"), pk=pk)
    if not request.user.is_authenticated:
        return redirect_to_login(versioned_url(comparison))
    form = RunQualityForm(request.POST)
    if form.is_valid():
        RunQuality.record(
            comparison.data_run, comparison.subsystem, form.cleaned_data["verdict"],
            form.cleaned_data["comment"], request.user,
        )
        messages.success(
            request, f"Run {comparison.data_run.number} marked {form.cleaned_data['verdict']} for {comparison.subsystem}."
        )
    else:
        messages.error(request, "Choose good or bad to mark the run.")
    return redirect(versioned_url(comparison))


# ---------------------------------------------------------------- one histogram


def _result_text(row):
    try:
        return artifacts.ensure(row, "txt").read_text(encoding="utf-8"), ""
    except (artifacts.ArtifactError, OSError) as error:
        logger.warning("text of result %s: %s", row.pk, error)
        return "", str(error)


def panel_context(request, row, form=None, rank=None):
    """Build the context of one histogram's large view: plot, text, scores, annotations and the form.

    `rank` is the row's entry of `score_context.rank_scores`, looked up when not given.
    """
    comparison = row.comparison
    history = list(row.annotations.select_related("author").order_by("-created_at", "-pk"))
    text, text_error = _result_text(row)
    if rank is None:
        rank = score_context.rank_scores([row]).get(row.pk) or {}
    report = versioned_url(comparison)
    return {
        "row": row,
        "current": next((item for item in history if item.superseded_by_id is None), None),
        "history": history,
        "form": form or AnnotationForm(),
        "text": text,
        "text_error": text_error,
        "rank": rank,
        "report_url": report,
        "link": request.build_absolute_uri(f"{report}&h={row.pk}"),
        "login_url": f"{reverse('login')}?{urlencode({'next': f'{report}&h={row.pk}'})}",
        "trend_url": optional_url(
            "histogram-trend", {"histogram": row.histogram, "comparator": row.comparator},
            subsystem=comparison.subsystem.name,
        ),
    }


def _result(pk):
    queryset = HistogramResult.objects.select_related(
        "comparison", "comparison__subsystem", "comparison__config_version", "comparison__data_run"
    )
    return get_object_or_404(queryset, pk=pk)


@require_GET
def result_panel(request, pk):
    """Render one histogram's large view as an HTML fragment for the report's script, else redirect to the report."""
    row = _result(pk)
    if not wants_fragment(request):
        return redirect(f"{versioned_url(row.comparison)}&h={row.pk}")
    return render(request, "comparisons/_result_panel.html", {"panel": panel_context(request, row)})


@require_POST
def annotate_result(request, pk):
    """Record a verdict on one result; login needed. Keeps the earlier verdicts as history."""
    row = _result(pk)
    back = f"{versioned_url(row.comparison)}&h={row.pk}"
    if not request.user.is_authenticated:
        if wants_fragment(request):
            return HttpResponse("Log in to annotate.", status=403, content_type="text/plain")
        return redirect_to_login(back)
    form = AnnotationForm(request.POST)
    if form.is_valid():
        Annotation.record(row, form.cleaned_data["verdict"], form.cleaned_data["comment"], request.user)
        form = None
    if wants_fragment(request):
        status = 200 if form is None else 400
        context = {"panel": panel_context(request, row, form)}
        return render(request, "comparisons/_result_panel.html", context, status=status)
    if form is None:
        messages.success(request, f"Annotation of {row.histogram} saved.")
    else:
        messages.error(request, "Choose a verdict to annotate the histogram.")
    return redirect(back)


def result_artifact(request, pk, kind):
    row = _result(pk)
    if kind not in artifacts.KINDS:
        raise Http404(f"Unknown artifact kind {kind!r}")
    try:
        path = artifacts.ensure(row, kind)
    except artifacts.ArtifactError as error:
        logger.warning("artifact %s of result %s: %s", kind, pk, error)
        raise Http404(str(error)) from error
    response = FileResponse(open(path, "rb"), content_type=artifacts.CONTENT_TYPES[kind])
    if kind in ("pdf", "txt"):
        response["Content-Disposition"] = f'inline; filename="{path.name}"'
    return response
