"""Run choices for the pickers of the comparison form, and reference run suggestions.

Reference suggestions are the most recent runs of the data run's dataset
taken before it, preferring runs that shifters marked good for the subsystem,
leaving out runs marked bad and runs with too few entries. The ranking
(`rank_references`) is plain Python; the functions below it read the Run,
RunFile and RunQuality tables and the DQM files.
"""

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

logger = logging.getLogger(__name__)

GOOD, BAD = "good", "bad"
# A reference needs at least this many entries in the probe histogram, and at
# least this fraction of the data run's entries in it, because the statistical
# fluctuations of a much thinner reference blur the comparison.
MIN_REFERENCE_ENTRIES = 100
MIN_REFERENCE_FRACTION = 0.25
SUGGESTED_COUNT = 3
# How many earlier runs of the dataset are considered, most recent first.
CANDIDATE_WINDOW = 25
PICKER_LIMIT = 50
SOURCES = ("offline", "online", "local")


@dataclass(frozen=True)
class Candidate:
    """An earlier run that could serve as a reference, with the shifters' verdict on it."""

    number: int
    dataset: str = ""
    verdict: str = ""
    verdict_note: str = ""
    key: object = None


@dataclass(frozen=True)
class Suggestion:
    """A suggested reference run and why it was chosen."""

    number: int
    dataset: str
    entries: Optional[float]
    good: bool
    note: str


@dataclass
class SuggestionResult:
    """The suggested references, the candidates left out with the reason, and the data run's entries."""

    suggestions: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    data_entries: Optional[float] = None
    probe: str = ""


def enough_entries(entries, data_entries, minimum=MIN_REFERENCE_ENTRIES, fraction=MIN_REFERENCE_FRACTION):
    """Check that a reference with `entries` can be compared with a data run that has `data_entries`."""
    if entries is None or entries < minimum:
        return False
    return data_entries is None or entries >= fraction * data_entries


def _few_entries_reason(entries, data_entries):
    if entries is None:
        return "entries unknown: the histogram cannot be read from its file"
    if entries < MIN_REFERENCE_ENTRIES:
        return f"only {entries:g} entries (at least {MIN_REFERENCE_ENTRIES} needed)"
    return (
        f"{entries:g} entries, under {MIN_REFERENCE_FRACTION:.0%} of the data run's {data_entries:g}"
    )


def rank_references(
    candidates, data_entries, entries_of: Callable[[Candidate], Optional[float]], count=SUGGESTED_COUNT
):
    """Choose up to `count` references among `candidates`.

    Runs marked good come first, then the others, each group most recent
    first; runs marked bad are never suggested. `entries_of(candidate)` is
    called only for the candidates examined, in that order, because it may
    have to read a file. Returns a SuggestionResult.
    """
    result = SuggestionResult(data_entries=data_entries)
    ordered = sorted(candidates, key=lambda item: (item.verdict != GOOD, -item.number))
    for candidate in ordered:
        if len(result.suggestions) >= count:
            break
        if candidate.verdict == BAD:
            result.skipped.append((candidate.number, f"marked bad: {candidate.verdict_note}"))
            continue
        entries = entries_of(candidate)
        if not enough_entries(entries, data_entries):
            result.skipped.append((candidate.number, _few_entries_reason(entries, data_entries)))
            continue
        note = f"marked good: {candidate.verdict_note}" if candidate.verdict == GOOD else "recent run"
        result.suggestions.append(
            Suggestion(candidate.number, candidate.dataset, entries, candidate.verdict == GOOD, note)
        )
    return result


def probe_rule_paths(config):
    """Rule paths to look for a probe histogram in, `always_show` rules first.

    `always_show` rules name the summary histograms (hit counts, segment
    counts) whose entries follow the number of events, which makes them the
    best measure of how much data a run has.
    """
    rules = [rule for rule in config.get("hists") or [] if rule.get("path")]
    shown = [rule["path"] for rule in rules if rule.get("always_show")]
    return shown + [rule["path"] for rule in rules if not rule.get("always_show")]


# ---------------------------------------------------------------- Django part


def _models():
    from comparisons.models import RunQuality
    from runs.models import Run, RunFile

    return Run, RunFile, RunQuality


def runs_of_source(source, subsystem=None):
    """Runs with a readable file of `source` ("offline", "online" or "local").

    Online files hold one detector folder, so with a subsystem only the runs
    whose online file has that subsystem's folder are listed.
    """
    from comparisons.inputs import online_folder_for

    Run, RunFile, _ = _models()
    files = RunFile.objects.filter(readable=True, kind=source)
    if source == RunFile.ONLINE and subsystem is not None:
        files = files.filter(online_folder=online_folder_for(subsystem.name))
    return Run.objects.filter(pk__in=files.values("run_id"))


def list_datasets(source):
    """Return the datasets of the runs of `source`, sorted, "" standing for runs without a dataset."""
    runs = runs_of_source(source).values_list("primary_dataset", "era", "processing").distinct()
    names = set()
    for primary, era, processing in runs:
        era_processing = f"{era}-{processing}" if processing else era
        names.add(f"{primary}/{era_processing}" if primary else "")
    return sorted(names)


def _in_dataset(runs, dataset):
    if dataset:
        return runs.in_dataset(dataset)
    return runs


def current_verdicts(subsystem, run_ids):
    """Map run id to the current RunQuality of `subsystem` for those runs."""
    if subsystem is None:
        return {}
    _, _, RunQuality = _models()
    rows = RunQuality.objects.filter(
        subsystem=subsystem, run_id__in=list(run_ids), superseded_by__isnull=True
    ).select_related("author")
    return {row.run_id: row for row in rows}


def verdict_note(quality):
    who = quality.author.get_username() if quality.author else "someone"
    note = f"{quality.verdict} by {who} on {quality.created_at:%Y-%m-%d}"
    return f"{note} ({quality.comment})" if quality.comment else note


def _matching_numbers(runs, query, limit):
    """Runs whose number contains the digits of `query`, those starting with it first."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    digits = "".join(character for character in str(query or "") if character.isdigit())
    if digits:
        runs = runs.annotate(number_text=Cast("number", CharField())).filter(number_text__contains=digits)
    found = list(runs.order_by("-number", "primary_dataset", "era", "processing")[: limit * 2])
    found.sort(key=lambda run: (not str(run.number).startswith(digits), -run.number))
    return found[:limit]


def list_runs(source, dataset="", query="", subsystem=None, limit=PICKER_LIMIT):
    """Runs a picker offers: local runs of `source` and `dataset`, plus the DQM file server's.

    Each item is a dict with number, dataset, origin ("local" or "server") and
    the current verdict of `subsystem` on the run ("good", "bad" or "").
    """
    runs = _matching_numbers(_in_dataset(runs_of_source(source, subsystem), dataset), query, limit)
    verdicts = current_verdicts(subsystem, [run.pk for run in runs])
    items = [
        {
            "number": run.number,
            "dataset": run.dataset,
            "origin": "local",
            "verdict": verdicts[run.pk].verdict if run.pk in verdicts else "",
            "verdict_note": verdict_note(verdicts[run.pk]) if run.pk in verdicts else "",
        }
        for run in runs
    ]
    known = {item["number"] for item in items}
    for item in remote_runs(source, dataset, query):
        if item["number"] not in known and len(items) < limit:
            items.append(item)
    return items


def remote_runs(source, dataset, query):
    """Runs the DQM file server offers for an offline dataset, when ADQM_DQM_URL is set.

    The file server is asked through `runs.sources.list_choices` when that
    function exists. Runs listed only there still have to be fetched before
    they can be compared.
    """
    from django.conf import settings

    if source != "offline" or not dataset or not getattr(settings, "ADQM_DQM_URL", ""):
        return []
    try:
        from runs import sources
    except ImportError:
        return []
    list_choices = getattr(sources, "list_choices", None)
    guess_series = getattr(sources, "guess_series", None)
    if list_choices is None or guess_series is None:
        return []
    from runs.naming import split_dataset

    primary, era, _processing = split_dataset(dataset)
    try:
        choices = list_choices(series=guess_series(era), dataset=primary, source=source)
    except Exception as error:  # noqa: BLE001 - a failing server must not break the local picker
        logger.warning("listing runs of %s on the DQM file server failed: %s", dataset, error)
        return []
    digits = "".join(character for character in str(query or "") if character.isdigit())
    return [
        {"number": item.number, "dataset": dataset, "origin": choices.origin, "verdict": "", "verdict_note": ""}
        for item in getattr(choices, "items", [])
        if hasattr(item, "number") and digits in str(item.number) and dataset in (item.datasets or (dataset,))
    ]


# ---------------------------------------------------------------- entries


def _cache_key(run_file, path):
    digest = hashlib.sha1(f"{run_file.path}\0{run_file.size}\0{path}".encode()).hexdigest()
    return f"adqm-entries-{digest}"


def histogram_entries(run, subsystem_name, main_gdir, path):
    """Return the entries of histogram `path` of `run`, or None when it cannot be read.

    Reading opens the run's DQM file, so the answer is cached per file and size.
    """
    from django.core.cache import cache

    from comparisons.inputs import InputError, select_run_file
    from runs.rootio import RootReadError, open_root, read_histogram, resolve_folder

    try:
        run_file = select_run_file(run, subsystem_name)
    except InputError:
        return None
    key = _cache_key(run_file, path)
    cached = cache.get(key)
    if cached is not None:
        return cached.get("entries")
    try:
        with open_root(run_file.path) as root:
            entries = read_histogram(resolve_folder(root, main_gdir, run.number), path).entries
    except RootReadError as error:
        logger.info("no entries for run %s: %s", run, error)
        entries = None
    cache.set(key, {"entries": entries}, 3600)
    return entries


def find_probe(run, subsystem_name, config):
    """Return the path of the first histogram of the data run selected by a probe rule, or ""."""
    from comparisons.inputs import InputError, select_run_file
    from comparisons.rules import expand_rule, folder_lister
    from runs.rootio import RootReadError, open_root, resolve_folder

    try:
        run_file = select_run_file(run, subsystem_name)
        with open_root(run_file.path) as root:
            list_folder = folder_lister(resolve_folder(root, config["main_gdir"], run.number))
            for rule_path in probe_rule_paths(config):
                paths = expand_rule(list_folder, rule_path)
                if paths:
                    return paths[0]
    except (InputError, RootReadError) as error:
        logger.info("no probe histogram for run %s: %s", run, error)
    return ""


def earlier_runs(data_run, dataset, source, subsystem, window=CANDIDATE_WINDOW):
    """Return the `window` most recent runs of `dataset` and `source` numbered below the data run.

    Runs of another dataset (a release validation compares the same run of
    two releases) may also have the data run's number.
    """
    runs = _in_dataset(runs_of_source(source, subsystem), dataset)
    if not dataset or dataset == data_run.dataset:
        runs = runs.filter(primary_dataset=data_run.primary_dataset, era=data_run.era, processing=data_run.processing)
        runs = runs.filter(number__lt=data_run.number)
    else:
        runs = runs.filter(number__lte=data_run.number)
    return list(runs.exclude(pk=data_run.pk).order_by("-number")[:window])


def suggest_references(subsystem, data_run, source="offline", dataset="", count=SUGGESTED_COUNT):
    """Suggest reference runs for `data_run` from `dataset` (default: the data run's dataset)."""
    config = subsystem.current_version().config
    main_gdir = config.get("main_gdir", "")
    runs = earlier_runs(data_run, dataset, source, subsystem)
    verdicts = current_verdicts(subsystem, [run.pk for run in runs])
    candidates = [
        Candidate(
            number=run.number,
            dataset=run.dataset,
            verdict=verdicts[run.pk].verdict if run.pk in verdicts else "",
            verdict_note=verdict_note(verdicts[run.pk]) if run.pk in verdicts else "",
            key=run,
        )
        for run in runs
    ]
    probe = find_probe(data_run, subsystem.name, config)
    if not probe:
        return SuggestionResult(skipped=[(data_run.number, "no histogram of the config found in the data file")])
    data_entries = histogram_entries(data_run, subsystem.name, main_gdir, probe)
    result = rank_references(
        candidates, data_entries,
        lambda candidate: histogram_entries(candidate.key, subsystem.name, main_gdir, probe),
        count=count,
    )
    result.probe = probe
    return result
