"""Form pieces shared by the pages that select runs (run history, trends)."""

from django import forms

from runs.naming import split_dataset


def clean_dataset_name(name):
    """Return `name` stripped, or raise ValidationError when it is not PRIMARY/ERA-PROCESSING."""
    name = (name or "").strip()
    if name:
        try:
            split_dataset(name)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
    return name


class RunRangeMixin:
    """Reject a run range whose first run is above its last (fields run_min and run_max)."""

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("run_min"), cleaned.get("run_max")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(f"the run range is empty: from run {low} is above to run {high}")
        return cleaned
