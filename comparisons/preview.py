"""Show what a comparison would read before it is queued.

For the data run and each reference run this opens the DQM file, finds the
subsystem folder, matches the config's rules against the data file and reads
every matched histogram, so the shifter sees each rule's histograms with their
type, bins and entries, and which ones are missing from the data or from a
reference. Nothing here imports Django: the caller passes plain `RunSource`
values and the config dict (the AutoDQM JSON format).
"""

import logging
from dataclasses import dataclass, field
from typing import Optional

from comparisons.rules import expand_rule, folder_lister, match_rules
from runs.rootio import RootReadError, open_root, read_histogram, resolve_folder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSource:
    """One run of the request and the DQM file chosen for it.

    `path` is empty when no usable file exists, and `problem` then contains the reason.
    """

    role: str
    number: int
    dataset: str = ""
    path: str = ""
    kind: str = ""
    size: int = 0
    problem: str = ""

    @property
    def label(self):
        return f"{self.number} {self.dataset}".strip()


@dataclass
class HistogramPreview:
    """One histogram selected by a rule: its shape in the data and its entries in every run.

    `entries_refs` has one value per reference run, in order; None marks a
    reference whose file lacks the histogram, with the reason in `ref_problems`.
    """

    path: str
    hist_type: str = ""
    bins: str = ""
    entries_data: Optional[float] = None
    entries_refs: list = field(default_factory=list)
    ref_problems: list = field(default_factory=list)
    problem: str = ""

    @property
    def missing_in_references(self):
        return [index for index, entries in enumerate(self.entries_refs) if entries is None]

    @property
    def name(self):
        return self.path.rsplit("/", 1)[-1]

    @property
    def reference_cells(self):
        """(entries or None, problem) per reference run, for a table row."""
        return list(zip(self.entries_refs, self.ref_problems))


@dataclass
class RulePreview:
    """One entry of the config's `hists` list and the histograms it selects in the data file."""

    path: str
    comparators: list = field(default_factory=list)
    histograms: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    claimed_earlier: list = field(default_factory=list)
    concatenate: list = field(default_factory=list)

    @property
    def missing_in_data(self):
        """True when the rule selects no histogram at all in the data file."""
        return not (self.histograms or self.excluded or self.claimed_earlier)

    @property
    def has_problem(self):
        return self.missing_in_data or any(
            hist.problem or hist.missing_in_references for hist in self.histograms
        )


@dataclass
class InputPreview:
    """The input of one comparison: its runs and files, and each rule's histograms."""

    data: RunSource
    references: list
    main_gdir: str = ""
    default_comparators: list = field(default_factory=list)
    rules: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    data_opened: bool = False
    references_opened: int = 0

    @property
    def runs(self):
        return [self.data, *self.references]

    @property
    def histogram_count(self):
        return sum(len(rule.histograms) for rule in self.rules)

    @property
    def rules_missing_in_data(self):
        return [rule for rule in self.rules if rule.missing_in_data]

    @property
    def histograms_missing_in_references(self):
        return [hist for rule in self.rules for hist in rule.histograms if hist.missing_in_references]

    @property
    def would_fail(self):
        """True when the comparison would fail at once: the data or every reference cannot be opened."""
        return not self.data_opened or self.references_opened == 0


def format_bins(values_shape):
    """Write a histogram's bin count: "50" for 1D, "36 × 20" (x by y) for 2D."""
    return " × ".join(str(size) for size in values_shape)


def _open_folder(source, main_gdir):
    """Open one run's file and return (root file, subsystem folder); RootReadError on failure."""
    root = open_root(source.path)
    try:
        return root, resolve_folder(root, main_gdir, source.number)
    except RootReadError:
        root.close()
        raise


@dataclass
class _Opened:
    source: RunSource
    root: object = None
    folder: object = None


def _open_all(preview, main_gdir):
    """Open the data file and every reference file that has one; record why others cannot be used."""
    opened = []
    for source in preview.runs:
        item = _Opened(source)
        if source.problem:
            preview.problems.append(f"{source.role} run {source.label}: {source.problem}")
        else:
            try:
                item.root, item.folder = _open_folder(source, main_gdir)
            except RootReadError as error:
                preview.problems.append(f"{source.role} run {source.label}: {error}")
        opened.append(item)
    return opened


def _read_entries(folder, path):
    """Return (histogram, "") or (None, reason) for one histogram of one opened run."""
    if folder is None:
        return None, "file not opened"
    try:
        return read_histogram(folder, path), ""
    except RootReadError as error:
        return None, error.reason


def _preview_histogram(path, data, references):
    item = HistogramPreview(path=path)
    hist, reason = _read_entries(data.folder, path)
    if hist is None:
        item.problem = f"cannot be read from the data file: {reason}"
    else:
        item.hist_type, item.bins, item.entries_data = hist.classname, format_bins(hist.values.shape), hist.entries
    for reference in references:
        ref_hist, reason = _read_entries(reference.folder, path)
        item.entries_refs.append(None if ref_hist is None else ref_hist.entries)
        item.ref_problems.append(reason)
    return item


def _rule_previews(config, data, references):
    rules = config.get("hists") or []
    excluded_entries = config.get("excluded_hists") or []
    matches, _unmatched = match_rules(data.folder, rules, excluded_entries)
    selected = {}
    for match in matches:
        selected.setdefault(match.rule_index, []).append(match.path)
    list_folder = folder_lister(data.folder)
    excluded = {path for entry in excluded_entries for path in expand_rule(list_folder, entry["path"])}
    default_comparators = list(config.get("comparators") or [])
    previews, seen = [], set()
    for index, rule in enumerate(rules):
        paths = selected.get(index, [])
        every = expand_rule(list_folder, rule["path"])
        preview = RulePreview(
            path=rule["path"],
            comparators=list(rule.get("comparators") or default_comparators),
            histograms=[_preview_histogram(path, data, references) for path in paths],
            excluded=sorted(path for path in every if path in excluded),
            claimed_earlier=sorted(path for path in every if path in seen and path not in excluded),
            concatenate=list(rule.get("concatenate") or []),
        )
        seen.update(every)
        previews.append(preview)
    return previews


def build_preview(config, data, references):
    """Return an InputPreview of `config` applied to the `data` RunSource and the reference RunSources.

    Files that cannot be opened are listed in `problems`. When the data file
    cannot be opened no rule is matched, because the rules select histograms
    of the data file.
    """
    main_gdir = config.get("main_gdir", "")
    preview = InputPreview(
        data=data, references=list(references), main_gdir=main_gdir,
        default_comparators=list(config.get("comparators") or []),
    )
    opened = _open_all(preview, main_gdir)
    try:
        data_opened, refs_opened = opened[0], opened[1:]
        preview.data_opened = data_opened.folder is not None
        preview.references_opened = sum(item.folder is not None for item in refs_opened)
        if preview.data_opened:
            try:
                preview.rules = _rule_previews(config, data_opened, refs_opened)
            except RootReadError as error:
                preview.problems.append(f"data run {data.label}: {error}")
        if preview.references_opened == 0:
            preview.problems.append("no reference run can be opened, so the comparison would fail")
    finally:
        for item in opened:
            if item.root is not None:
                item.root.close()
    return preview
