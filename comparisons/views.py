import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from comparisons import artifacts
from comparisons.forms import ComparisonForm
from comparisons.models import Comparison, HistogramResult
from comparisons.permalinks import versioned_url
from comparisons.requests import create_comparison
from comparisons.tasks import queue_comparison

logger = logging.getLogger(__name__)


def home(request):
    recent = Comparison.objects.select_related("subsystem", "data_run")[:25]
    return render(request, "comparisons/home.html", {"comparisons": recent})


@login_required
@require_http_methods(["GET", "POST"])
def new_comparison(request):
    form = ComparisonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        comparison = create_comparison(form.comparison_request, user=request.user)
        queue_comparison(comparison)
        messages.success(request, f"Comparison {comparison.pk} queued.")
        return redirect("comparison-status", pk=comparison.pk)
    return render(request, "comparisons/new.html", {"form": form})


def comparison_status(request, pk):
    comparison = get_object_or_404(Comparison.objects.select_related("subsystem", "data_run"), pk=pk)
    if comparison.status == Comparison.DONE and request.GET.get("stay") is None:
        return redirect(versioned_url(comparison))
    return render(request, "comparisons/status.html", {"comparison": comparison})


def status_document(comparison):
    return {
        "id": comparison.pk,
        "status": comparison.status,
        "stage": comparison.stage,
        "progress_done": comparison.progress_done,
        "progress_total": comparison.progress_total,
        "error": comparison.error,
        "warnings": comparison.warnings,
        "url": versioned_url(comparison),
    }


def api_comparison(request, pk):
    comparison = get_object_or_404(Comparison, pk=pk)
    return JsonResponse(status_document(comparison))


def comparison_report_by_id(request, pk):
    comparison = get_object_or_404(Comparison, pk=pk)
    return redirect(versioned_url(comparison))


def comparison_permalink(request, key):
    versions = Comparison.objects.filter(permalink_key=key.strip("/")).order_by("-version")
    if not versions:
        raise Http404(f"No comparison is stored at /compare/{key}/")
    requested = request.GET.get("version", "")
    comparison = None
    if requested.isdigit():
        comparison = versions.filter(version=int(requested)).first()
        if comparison is None:
            messages.warning(request, f"Version {requested} does not exist; showing the latest.")
    comparison = comparison or versions.filter(status=Comparison.DONE).first() or versions.first()
    results = comparison.results.all().order_by("-outlier", "comparable", "histogram", "comparator")
    return render(
        request,
        "comparisons/report.html",
        {"comparison": comparison, "versions": versions, "results": results},
    )


def result_artifact(request, pk, kind):
    row = get_object_or_404(HistogramResult.objects.select_related("comparison"), pk=pk)
    if kind not in artifacts.KINDS:
        raise Http404(f"Unknown artifact kind {kind!r}")
    try:
        path = artifacts.ensure(row, kind)
    except artifacts.ArtifactError as error:
        logger.warning("artifact %s of result %s: %s", kind, pk, error)
        raise Http404(str(error)) from error
    response = FileResponse(open(path, "rb"), content_type=artifacts.CONTENT_TYPES[kind])
    if kind == "pdf":
        response["Content-Disposition"] = f'inline; filename="{path.name}"'
    return response
