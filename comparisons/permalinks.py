"""Readable, stable report URLs.

`/compare/<subsystem>/<data dataset>/<data run>/vs/<reference dataset>/<ref run>_<ref run>/`
with datasets written `<primary dataset>/<era-processing>`. Runs with no
dataset (online files, local files registered without one) use `-`.
"""

from django.urls import reverse

NO_DATASET = "-"


def _dataset_parts(run):
    if not run.primary_dataset:
        return NO_DATASET, NO_DATASET
    era_processing = f"{run.era}-{run.processing}" if run.processing else run.era
    return run.primary_dataset, era_processing or NO_DATASET


def permalink_key(subsystem_name, data_run, reference_runs):
    """Return the part of the URL after /compare/, which identifies what is compared."""
    data_primary, data_era = _dataset_parts(data_run)
    ref_primary, ref_era = _dataset_parts(reference_runs[0])
    ref_numbers = "_".join(str(run.number) for run in reference_runs)
    return (
        f"{subsystem_name}/{data_primary}/{data_era}/{data_run.number}/vs/"
        f"{ref_primary}/{ref_era}/{ref_numbers}"
    )


def comparison_url(comparison):
    return reverse("comparison-permalink", kwargs={"key": comparison.permalink_key})


def versioned_url(comparison):
    return f"{comparison_url(comparison)}?version={comparison.version}"
