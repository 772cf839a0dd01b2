"""Run history: the list of runs with what each subsystem's latest comparison found, and one run's page."""

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode

from comparisons.models import Subsystem
from comparisons.permalinks import versioned_url
from runs import history
from runs.models import Run
from runs.forms import RunRangeMixin, clean_dataset_name

RUNS_PER_PAGE = 50


class RunFilterForm(RunRangeMixin, forms.Form):
    dataset = forms.ChoiceField(required=False, label="Dataset")
    era = forms.ChoiceField(required=False, label="Era")
    subsystem = forms.ModelChoiceField(
        queryset=Subsystem.objects.order_by("name"), required=False, to_field_name="name", label="Subsystem",
    )
    run_min = forms.IntegerField(required=False, min_value=0, label="From run")
    run_max = forms.IntegerField(required=False, min_value=0, label="To run")
    status = forms.ChoiceField(required=False, choices=history.STATUS_CHOICES, label="Status")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        datasets = sorted({run.dataset for run in _dataset_runs()} - {""})
        self.fields["dataset"].choices = [("", "any")] + [(name, name) for name in datasets]
        eras = Run.objects.exclude(era="").order_by("era").values_list("era", flat=True).distinct()
        self.fields["era"].choices = [("", "any")] + [(era, era) for era in eras]

    def clean_dataset(self):
        return clean_dataset_name(self.cleaned_data["dataset"])


def _dataset_runs():
    fields = ("primary_dataset", "era", "processing")
    return [Run(**dict(zip(fields, row))) for row in Run.objects.values_list(*fields).distinct()]


def _page_query(request):
    """Return the query string of the filters, without the page number, for pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return urlencode({key: value for key, value in query.items() if value})


def run_list(request):
    """List runs, newest first, with each subsystem's latest comparison, health and annotations."""
    form = RunFilterForm(request.GET or None)
    runs = Run.objects.order_by("-number", "primary_dataset", "era", "processing")
    subsystem = None
    if form.is_bound and form.is_valid():
        subsystem = form.cleaned_data["subsystem"]
        filters = {key: form.cleaned_data[key] for key in ("dataset", "era", "run_min", "run_max", "status")}
        runs = history.filter_runs(runs, subsystem=subsystem, **filters)
    elif form.is_bound:
        runs = runs.none()
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": history.run_rows(list(page.object_list), subsystem),
        "subsystem": subsystem,
        "page_query": _page_query(request),
        "worst_count": history.WORST_COUNT,
    }
    return render(request, "runs/run_list.html", context)


def run_detail(request, pk):
    """Show one run: its files, verdicts, every comparison of it and every annotation on its results."""
    run = get_object_or_404(Run, pk=pk)
    comparisons = history.comparisons_of_run(run)
    worst = history.worst_results([comparison.pk for comparison in comparisons])
    for comparison in comparisons:
        comparison.worst = worst.get(comparison.pk, [])
        comparison.url = versioned_url(comparison)
    annotations = history.annotations_of_run(run)
    for annotation in annotations:
        # Open the report on the annotated histogram.
        annotation.report_url = f"{versioned_url(annotation.result.comparison)}&h={annotation.result_id}"
    context = {
        "run": run,
        "files": list(run.files.order_by("path")),
        "comparisons": comparisons,
        "as_reference": history.comparisons_using_reference(run),
        "annotations": annotations,
        "verdicts": history.quality_history(run),
        "other_datasets": list(Run.objects.filter(number=run.number).exclude(pk=run.pk)),
    }
    return render(request, "runs/run_detail.html", context)
