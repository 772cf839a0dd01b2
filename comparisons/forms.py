from django import forms

from comparisons.models import Annotation, RunQuality, Subsystem
from comparisons.requests import RequestError, resolve_request
from comparisons.suggestions import runs_of_source

SOURCE_CHOICES = [
    ("offline", "Offline: harvested DQM files"),
    ("online", "Online: DQM files written during data taking"),
    ("local", "Local: files registered by hand"),
]


class ComparisonForm(forms.Form):
    """The input of a comparison. The checks are those of `resolve_request`, plus the source."""

    source = forms.ChoiceField(choices=SOURCE_CHOICES, initial="offline", widget=forms.RadioSelect)
    subsystem = forms.ModelChoiceField(
        queryset=Subsystem.objects.all(), to_field_name="name", empty_label="Choose a subsystem",
        error_messages={"invalid_choice": "Unknown subsystem; choose one of the list."},
    )
    data_dataset = forms.CharField(
        required=False, label="Data dataset", help_text="PRIMARY/ERA-PROCESSING, e.g. ZeroBias/Run2022C-PromptReco-v1"
    )
    data_run = forms.IntegerField(
        min_value=1, label="Data run", error_messages={"invalid": "The data run must be a run number, e.g. 355200."}
    )
    ref_dataset = forms.CharField(
        required=False, label="Reference dataset", help_text="Empty: the data run's dataset"
    )
    # Not required here, so that resolve_request reports "choose at least one reference run".
    ref_runs = forms.CharField(
        required=False, label="Reference runs", help_text="Run numbers separated by commas, best reference first"
    )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.comparison_request = resolve_request(
                cleaned["subsystem"].name,
                cleaned["data_run"],
                cleaned.get("ref_runs", ""),
                data_dataset=cleaned.get("data_dataset", ""),
                ref_dataset=cleaned.get("ref_dataset", ""),
                source=cleaned["source"],
            )
        except RequestError as error:
            raise forms.ValidationError(str(error)) from error
        self._check_source(cleaned["source"])
        return cleaned

    def _check_source(self, source):
        """Reject runs that have no readable file of the chosen source."""
        request = self.comparison_request
        offered = runs_of_source(source, request.subsystem)
        roles = [("data", request.data_run)] + [("reference", run) for run in request.reference_runs]
        for role, run in roles:
            if offered.filter(pk=run.pk).exists():
                continue
            kinds = sorted(set(run.files.filter(readable=True).values_list("kind", flat=True)))
            has = f"it has {', '.join(kinds)} files" if kinds else "it has no readable file"
            raise forms.ValidationError(
                f"{role} run {run} has no readable {source} DQM file for {request.subsystem.name} ({has}); "
                "choose another source or run"
            )

    def query_items(self):
        """Return the cleaned input as (name, value) pairs for a URL or hidden fields."""
        data = self.cleaned_data
        return [
            ("source", data["source"]),
            ("subsystem", data["subsystem"].name),
            ("data_dataset", data.get("data_dataset", "")),
            ("data_run", data["data_run"]),
            ("ref_dataset", data.get("ref_dataset", "")),
            ("ref_runs", ",".join(str(run.number) for run in self.comparison_request.reference_runs)),
        ]


class AnnotationForm(forms.Form):
    verdict = forms.ChoiceField(choices=Annotation.VERDICT_CHOICES, widget=forms.RadioSelect)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class RunQualityForm(forms.Form):
    verdict = forms.ChoiceField(choices=RunQuality.VERDICT_CHOICES)
    comment = forms.CharField(required=False, max_length=2000)
