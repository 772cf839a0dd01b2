from django import forms

from comparisons.models import Subsystem
from comparisons.requests import RequestError, resolve_request


class ComparisonForm(forms.Form):
    subsystem = forms.ModelChoiceField(queryset=Subsystem.objects.all(), to_field_name="name")
    data_dataset = forms.CharField(required=False, help_text="PRIMARY/ERA-PROCESSING; empty when the run number is unique")
    data_run = forms.IntegerField(min_value=1)
    ref_dataset = forms.CharField(required=False, help_text="Empty: the data run's dataset")
    ref_runs = forms.CharField(help_text="Reference run numbers, separated by commas")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.comparison_request = resolve_request(
                cleaned["subsystem"].name, cleaned["data_run"], cleaned["ref_runs"],
                data_dataset=cleaned.get("data_dataset", ""), ref_dataset=cleaned.get("ref_dataset", ""),
            )
        except RequestError as error:
            raise forms.ValidationError(str(error)) from error
        return cleaned
