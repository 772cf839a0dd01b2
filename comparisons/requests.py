"""Turn what a shifter asked for (subsystem, runs, datasets) into a queued Comparison.

The web form and the `compare` command both go through `resolve_request`, so
an unknown run, a missing reference or a reference equal to the data run is
rejected with the same message before anything is queued.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from comparisons.models import Comparison, ComparisonReference, Subsystem
from comparisons.permalinks import permalink_key
from runs.dqmserver import DqmServerError
from runs.models import Run
from runs.sources import find_remote_run, remote_configured

MAX_REFERENCES = 12
SOURCES = ("offline", "online", "local")


class RequestError(ValueError):
    """A comparison request that cannot be queued. The message names what to change."""


@dataclass
class ComparisonRequest:
    subsystem: Subsystem
    data_run: Run
    reference_runs: list
    source: str = ""


def _find_run(number, dataset, role, source=""):
    runs = Run.objects.filter(number=number)
    if dataset:
        try:
            runs = runs.in_dataset(dataset)
        except ValueError as error:
            raise RequestError(f"{role} dataset: {error}") from None
    if source:
        # The same run number can be known offline (with a dataset) and online (without).
        other_sources = list(runs)
        runs = runs.filter(files__kind=source, files__readable=True).distinct()
        if other_sources and not runs.exists():
            raise RequestError(
                f"{role} run {other_sources[0]} has no readable {source} DQM file; choose another source or run"
            )
    found = list(runs.order_by("primary_dataset", "era", "processing"))
    if not found and remote_configured():
        try:
            remote = find_remote_run(number, dataset)
        except DqmServerError as error:
            raise RequestError(f"{role} run {number}: {error}") from None
        found = [remote] if remote is not None else []
    if not found:
        where = f" in dataset {dataset}" if dataset else ""
        hint = ""
        if remote_configured() and not dataset:
            hint = "; give its dataset to look for its offline file on the DQM file server"
        raise RequestError(f"unknown {role} run {number}{where}: no DQM file of it is registered{hint}")
    if len(found) > 1:
        names = ", ".join(run.dataset or "(no dataset)" for run in found)
        raise RequestError(f"{role} run {number} exists in several datasets ({names}); choose one")
    return found[0]


def _parse_numbers(text):
    if isinstance(text, (list, tuple)):
        items = [str(item) for item in text]
    else:
        items = [item for item in str(text or "").replace(" ", ",").split(",")]
    numbers = []
    for item in filter(None, (item.strip() for item in items)):
        if not item.isdigit():
            raise RequestError(f"reference run {item!r} is not a run number")
        numbers.append(int(item))
    return numbers


def resolve_request(subsystem, data_run, reference_runs, data_dataset="", ref_dataset="", source=""):
    """Check a request and return the objects it names, or raise RequestError naming the problem."""
    found = Subsystem.objects.filter(name=subsystem).first()
    if found is None:
        known = ", ".join(Subsystem.objects.values_list("name", flat=True)) or "none loaded"
        raise RequestError(f"unknown subsystem {subsystem!r} (known: {known})")
    try:
        data_number = int(str(data_run).strip())
    except ValueError:
        raise RequestError(f"data run {data_run!r} is not a run number") from None
    numbers = _parse_numbers(reference_runs)
    if not numbers:
        raise RequestError("choose at least one reference run")
    if len(numbers) > MAX_REFERENCES:
        raise RequestError(f"at most {MAX_REFERENCES} reference runs, got {len(numbers)}")
    if len(set(numbers)) != len(numbers):
        raise RequestError("a reference run is listed twice")
    if source and source not in SOURCES:
        raise RequestError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    data = _find_run(data_number, data_dataset, "data", source)
    references = [_find_run(number, ref_dataset or data_dataset, "reference", source) for number in numbers]
    if any(run.pk == data.pk for run in references):
        raise RequestError(f"reference run {data.number} is the data run itself; choose other references")
    if len({run.dataset for run in references}) > 1:
        raise RequestError("all reference runs must come from one dataset; give --ref-dataset")
    return ComparisonRequest(subsystem=found, data_run=data, reference_runs=references, source=source)


def create_comparison(request, user=None):
    """Store a queued Comparison for `request`; a repeat of the same request gets the next version."""
    key = permalink_key(request.subsystem.name, request.data_run, request.reference_runs)
    version = request.subsystem.current_version()
    for _attempt in range(3):
        latest = Comparison.objects.filter(permalink_key=key).order_by("-version").first()
        try:
            with transaction.atomic():
                comparison = Comparison.objects.create(
                    subsystem=request.subsystem,
                    config_version=version,
                    data_run=request.data_run,
                    source=request.source,
                    permalink_key=key,
                    version=(latest.version + 1) if latest else 1,
                    created_by=user if user is not None and user.is_authenticated else None,
                )
                ComparisonReference.objects.bulk_create(
                    ComparisonReference(comparison=comparison, run=run, position=position)
                    for position, run in enumerate(request.reference_runs)
                )
            return comparison
        except IntegrityError:
            continue  # another request took this version number; take the next one
    raise RequestError("could not store the comparison; try again")
