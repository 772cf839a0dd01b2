"""Trend pages: one histogram's scores across runs, and a subsystem's flagged fraction per run.

Each page has CSV, JSON and PNG variants with the same query string. The
points and their score ranks take one query each; the figure is a separate
PNG request, drawn with matplotlib on each request.
"""

import csv
import logging

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from comparisons import trend_plot, trends
from comparisons.models import Annotation, Subsystem
from comparisons.score_context import rank_scores
from runs.forms import RunRangeMixin, clean_dataset_name

logger = logging.getLogger(__name__)

FORMATS = ("html", "csv", "json", "png")
HISTOGRAM_COLUMNS = [
    "run", "dataset", "chi2", "max_pull", "ks", "entries", "chi2_cut", "pull_cut", "ks_cut",
    "outlier", "comparable", "annotation", "run_quality", "chi2_percentile", "max_pull_percentile",
    "earlier_fine_results", "compared_at", "comparison_id", "result_id", "comparison_url",
]
SUBSYSTEM_COLUMNS = [
    "run", "dataset", "results", "outliers", "not_comparable", "flagged", "fraction_flagged",
    "run_quality", "compared_at", "comparison_id", "comparison_url",
]
ANNOTATION_LABELS = dict(Annotation.VERDICT_CHOICES)


class RunRangeForm(RunRangeMixin, forms.Form):
    """The run selection and x scale shared by both trend pages."""

    data_dataset = forms.CharField(required=False, label="Dataset", help_text="<primary>/<era>-<processing>")
    run_min = forms.IntegerField(required=False, min_value=0, label="From run")
    run_max = forms.IntegerField(required=False, min_value=0, label="To run")
    limit = forms.IntegerField(
        required=False, min_value=1, max_value=trends.MAX_RUN_LIMIT, label="Latest runs",
        help_text=f"At most this many of the latest runs (default {trends.DEFAULT_RUN_LIMIT}).",
    )
    scale = forms.ChoiceField(
        required=False, choices=[("even", "runs evenly spaced"), ("linear", "run numbers to scale")],
        label="x axis",
    )

    def clean_data_dataset(self):
        return clean_dataset_name(self.cleaned_data["data_dataset"])

    def run_filter(self):
        data = self.cleaned_data
        return trends.RunFilter(
            dataset=data["data_dataset"], run_min=data["run_min"], run_max=data["run_max"],
            limit=data["limit"] or trends.DEFAULT_RUN_LIMIT,
        )

    @property
    def scale_value(self):
        return self.cleaned_data.get("scale") or "even"


class HistogramTrendForm(RunRangeForm):
    histogram = forms.CharField(max_length=1000, help_text="Path relative to the subsystem folder.")
    comparator = forms.CharField(required=False, max_length=50)


def _form_errors(form):
    return "; ".join(
        f"{name}: {' '.join(errors)}" if name != "__all__" else " ".join(errors)
        for name, errors in form.errors.items()
    )


def _requested_format(request, fmt):
    fmt = fmt or request.GET.get("format") or "html"
    return fmt if fmt in FORMATS else None


def _bad_request(fmt, message):
    if fmt == "json":
        return JsonResponse({"error": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _not_found(fmt, message):
    if fmt == "json":
        return JsonResponse({"error": message}, status=404)
    return HttpResponse(message, status=404, content_type="text/plain; charset=utf-8")


def _csv_response(filename, columns, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.DictWriter(response, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return response


def _png_response(figure):
    response = HttpResponse(trend_plot.figure_png(figure), content_type="image/png")
    response["Cache-Control"] = "no-cache"
    return response


def _safe_filename(text):
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in text).strip("_")


def _variant_urls(name_prefix, subsystem, query):
    encoded = urlencode({key: value for key, value in query.items() if value not in (None, "")})
    return {
        fmt: reverse(f"{name_prefix}-{fmt}", kwargs={"subsystem": subsystem.name}) + (f"?{encoded}" if encoded else "")
        for fmt in ("csv", "json", "png")
    }


# --- one histogram ---------------------------------------------------------------


def _choose_comparator(subsystem, form):
    """Return (comparator, all comparators of the histogram); the requested one when given."""
    available = trends.comparators_of(subsystem, form.cleaned_data["histogram"])
    requested = form.cleaned_data["comparator"].strip()
    if requested:
        return requested, available
    if "beta_binomial" in available:
        return "beta_binomial", available
    if available:
        return available[0], available
    return "", available


def _histogram_rows(points, ranks):
    rows = []
    for point in points:
        row = point.as_row()
        rank = ranks.get(point.result_id) or {}
        row["chi2_percentile"] = rank.get("chi2")
        row["max_pull_percentile"] = rank.get("max_pull")
        row["earlier_fine_results"] = rank.get("count", 0)
        row["annotation_label"] = ANNOTATION_LABELS.get(point.annotation, point.annotation)
        rows.append(row)
    return rows


def _histogram_figure(subsystem, histogram, comparator, points, scale):
    trend = trend_plot.HistogramTrend(
        title=f"{subsystem.name} {histogram} ({comparator})",
        runs=[point.run for point in points],
        chi2=[point.chi2 for point in points],
        max_pull=[point.max_pull for point in points],
        entries=[point.entries for point in points],
        ks=[point.ks for point in points],
        chi2_cut=[point.chi2_cut for point in points],
        pull_cut=[point.pull_cut for point in points],
        ks_cut=[point.ks_cut for point in points],
        outlier=[point.outlier for point in points],
        comparable=[point.comparable for point in points],
        annotations=[point.annotation for point in points],
        run_quality=[point.run_quality for point in points],
    )
    return trend_plot.histogram_trend_figure(trend, scale)


def histogram_trend(request, subsystem, fmt=None):
    """Show chi2, max pull and entries of one histogram across runs, as a page, CSV, JSON or PNG."""
    subsystem = get_object_or_404(Subsystem, name=subsystem)
    fmt = _requested_format(request, fmt)
    if fmt is None:
        return _bad_request("html", f"unknown format {request.GET.get('format')!r}; use one of {', '.join(FORMATS)}")
    form = HistogramTrendForm(request.GET)
    if not form.is_valid():
        if fmt == "html" and "histogram" in form.errors and len(form.errors) == 1:
            messages.info(request, "Choose a histogram to see its trend.")
            return redirect("subsystem-trend", subsystem=subsystem.name)
        return _bad_request(fmt, f"invalid trend request for {subsystem.name}: {_form_errors(form)}")
    histogram = form.cleaned_data["histogram"]
    comparator, comparators = _choose_comparator(subsystem, form)
    points = trends.histogram_points(subsystem, histogram, comparator, form.run_filter())
    if not points and fmt != "html":
        return _not_found(fmt, f"no finished comparison of {subsystem.name} scored {histogram} with {comparator or 'any comparator'}")
    if fmt == "png":
        return _png_response(_histogram_figure(subsystem, histogram, comparator, points, form.scale_value))
    rows = _histogram_rows(points, rank_scores([point.result_id for point in points]))
    if fmt == "csv":
        name = _safe_filename(f"{subsystem.name}_{histogram}_{comparator}") + ".csv"
        return _csv_response(name, HISTOGRAM_COLUMNS, rows)
    if fmt == "json":
        return JsonResponse(_histogram_document(subsystem, histogram, comparator, form, rows))
    return _render_histogram_page(request, subsystem, form, comparator, comparators, rows)


def _histogram_document(subsystem, histogram, comparator, form, rows):
    return {
        "subsystem": subsystem.name,
        "histogram": histogram,
        "comparator": comparator,
        "data_dataset": form.cleaned_data["data_dataset"],
        "points": [{key: row[key] for key in HISTOGRAM_COLUMNS} for row in rows],
    }


def _comparator_links(request, subsystem, comparators):
    """Return (comparator, URL of the same trend with that comparator) pairs."""
    query = request.GET.copy()
    links = []
    for name in comparators:
        query["comparator"] = name
        links.append((name, reverse("histogram-trend", kwargs={"subsystem": subsystem.name}) + "?" + query.urlencode()))
    return links


def _render_histogram_page(request, subsystem, form, comparator, comparators, rows):
    histogram = form.cleaned_data["histogram"]
    query = {**form.cleaned_data, "comparator": comparator}
    near = [] if rows else trends.search_histograms(subsystem, histogram.rsplit("/", 1)[-1], limit=20)
    context = {
        "subsystem": subsystem,
        "form": form,
        "histogram": histogram,
        "comparator": comparator,
        "comparator_links": _comparator_links(request, subsystem, comparators),
        "rows": list(reversed(rows)),
        "runs": len(rows),
        "outliers": sum(1 for row in rows if row["outlier"]),
        "annotated": sum(1 for row in rows if row["annotation"]),
        "urls": _variant_urls("histogram-trend", subsystem, query),
        "scale": form.scale_value,
        "datasets": trends.datasets_of(subsystem),
        "near": near,
    }
    return render(request, "trends/histogram.html", context)


# --- one subsystem -----------------------------------------------------------------


def _subsystem_figure(subsystem, points, scale):
    trend = trend_plot.SubsystemTrend(
        title=f"{subsystem.name}: histograms flagged per run",
        runs=[point.run for point in points],
        outlier_fraction=[point.outliers / point.results if point.results else None for point in points],
        not_comparable_fraction=[point.not_comparable / point.results if point.results else None for point in points],
        run_quality=[point.run_quality for point in points],
    )
    return trend_plot.subsystem_trend_figure(trend, scale)


def subsystem_trend(request, subsystem, fmt=None):
    """Show the fraction of flagged histograms per run of one subsystem, as a page, CSV, JSON or PNG."""
    subsystem = get_object_or_404(Subsystem, name=subsystem)
    fmt = _requested_format(request, fmt)
    if fmt is None:
        return _bad_request("html", f"unknown format {request.GET.get('format')!r}; use one of {', '.join(FORMATS)}")
    form = RunRangeForm(request.GET)
    if not form.is_valid():
        return _bad_request(fmt, f"invalid trend request for {subsystem.name}: {_form_errors(form)}")
    points = trends.subsystem_points(subsystem, form.run_filter())
    if fmt == "png":
        return _png_response(_subsystem_figure(subsystem, points, form.scale_value))
    rows = [point.as_row() for point in points]
    if fmt == "csv":
        return _csv_response(_safe_filename(f"{subsystem.name}_flagged") + ".csv", SUBSYSTEM_COLUMNS, rows)
    if fmt == "json":
        return JsonResponse({"subsystem": subsystem.name, "data_dataset": form.cleaned_data["data_dataset"],
                             "points": rows})
    return _render_subsystem_page(request, subsystem, form, points)


def _render_subsystem_page(request, subsystem, form, points):
    search = request.GET.get("search", "").strip()
    context = {
        "subsystem": subsystem,
        "form": form,
        "points": list(reversed(points)),
        "most_flagged": trends.most_flagged([point.comparison_id for point in points]),
        "search": search,
        "found": trends.search_histograms(subsystem, search) if search else [],
        "urls": _variant_urls("subsystem-trend", subsystem, form.cleaned_data),
        "range_query": urlencode({
            key: value for key, value in form.cleaned_data.items() if value not in (None, "")
        }),
        "datasets": trends.datasets_of(subsystem),
    }
    return render(request, "trends/subsystem.html", context)
