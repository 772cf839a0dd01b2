"""Score every histogram of a comparison and store one result row per comparator.

The task (tasks.py) opens the files (inputs.py) and matches the subsystem's
rules to the histograms of the data file. This module reads each histogram
from the data and reference files, scores it with each comparator and builds
the result rows. The task stores them and draws the plots a shifter looks at
first (outliers and `always_show`).
"""

import logging
import statistics
import time
from dataclasses import dataclass, field, replace

from comparisons.comparators import evaluate, fitted_thresholds, get_comparator, parse_opts
from comparisons.comparators import UnavailableComparator
from comparisons.models import HistogramResult
from comparisons.rules import concatenated_values, match_rules
from runs.rootio import RootReadError, read_histogram

logger = logging.getLogger(__name__)

CUT_OPTIONS = ("pull_cap", "chi2_cut", "pull_cut", "ks_cut", "min_entries")
PLOT_OPTIONS = ("logx", "logy", "plot_title", "xaxis_title", "yaxis_title")
# Data with fewer entries than this fraction of the references' median is
# reported as low statistics, because its score means little for the detector.
LOW_STATISTICS_FRACTION = 0.01
SAVE_BATCH = 200
FITTED_CUTS = "fitted_cuts"


@dataclass
class HistogramJob:
    """One histogram of the data file and the options its rule gives for scoring it."""

    path: str
    rule: dict
    comparators: list
    options: dict
    plot_options: dict
    always_show: bool


@dataclass
class Scored:
    """A result row plus what is needed to draw its plot without reading the files again."""

    row: HistogramResult
    data_hist: object = None
    ref_hists: list = field(default_factory=list)
    outcome: object = None
    plot_options: dict = field(default_factory=dict)


def rule_options(config, rule, path, n_refs):
    opts = parse_opts(rule.get("opts") or [])
    options = {key: opts[key] for key in CUT_OPTIONS if key in opts}
    # Fitted cuts are beta-binomial cuts: pull_values and ks_test keep theirs.
    options[FITTED_CUTS] = fitted_thresholds(config.get("thresholds_fit") or [], path.rsplit("/", 1)[-1], n_refs)
    options.update(
        xmin=rule.get("xmin"),
        xmax=rule.get("xmax"),
        norm_type=rule.get("norm_type"),
        concatenated=bool(rule.get("concatenate")),
    )
    plot_options = {key: opts[key] for key in PLOT_OPTIONS if key in opts}
    plot_options.update(xlabels=rule.get("xlabels"), ylabels=rule.get("ylabels"))
    return options, plot_options


def comparator_options(options, name):
    """Return the options of one comparator: `thresholds_fit` cuts go to beta_binomial only.

    A cut written in the rule's `opts` wins over a fitted one.
    """
    options = dict(options)
    fitted = options.pop(FITTED_CUTS, {})
    if name == "beta_binomial":
        options = {**fitted, **options}
    return options


def plan_jobs(config, data_folder, n_refs):
    """Return (jobs, rule paths that matched nothing in the data file)."""
    rules = config["hists"]
    matches, unmatched = match_rules(data_folder, rules, config.get("excluded_hists") or [])
    default_comparators = config.get("comparators") or ["beta_binomial"]
    jobs = []
    for match in matches:
        rule = rules[match.rule_index]
        options, plot_options = rule_options(config, rule, match.path, n_refs)
        jobs.append(
            HistogramJob(
                path=match.path,
                rule=rule,
                comparators=list(rule.get("comparators") or default_comparators),
                options=options,
                plot_options=plot_options,
                always_show=bool(rule.get("always_show")),
            )
        )
    return jobs, unmatched


def split_available(names):
    """Split comparator names into usable ones and {name: reason} for unavailable ones."""
    usable, unavailable = [], {}
    for name in names:
        try:
            comparator = get_comparator(name)
        except KeyError as error:
            # A config may name a comparator that the process importing it
            # registered but this worker did not. It is skipped with the reason.
            unavailable[name] = error.args[0]
            continue
        if isinstance(comparator, UnavailableComparator):
            unavailable[name] = comparator.reason
        else:
            usable.append(name)
    return usable, unavailable


def read_job_histogram(open_run, job):
    """Read the job's histogram from one run, with `concatenate` siblings appended."""
    hist = read_histogram(open_run.folder, job.path)
    siblings = job.rule.get("concatenate")
    if siblings:
        values, edges = concatenated_values(open_run.folder, job.path, siblings)
        hist = replace(hist, values=values, xedges=edges, yedges=None, xlabels=None, ylabels=None)
    return hist


def read_references(inputs, job):
    """Return (reference histograms, notes about references that lack the histogram)."""
    hists, notes = [], []
    for reference in inputs.references:
        try:
            hists.append(read_job_histogram(reference, job))
        except RootReadError as error:
            notes.append(f"reference run {reference.run}: {error}")
    return hists, notes


def _new_row(comparison, job, name, data_hist=None):
    return HistogramResult(
        comparison=comparison,
        histogram=job.path,
        comparator=name,
        rule_path=job.rule["path"],
        hist_type=getattr(data_hist, "classname", ""),
        always_show=job.always_show,
        entries_data=None if data_hist is None else float(data_hist.total),
    )


def _not_comparable(comparison, job, reason, data_hist=None, outlier=False):
    rows = []
    for name in job.comparators:
        row = _new_row(comparison, job, name, data_hist)
        row.comparable, row.reason, row.outlier = False, reason, outlier
        rows.append(Scored(row=row, data_hist=data_hist, plot_options=job.plot_options))
    return rows


def _low_statistics_reason(data_total, ref_totals):
    if not ref_totals:
        return None
    median = statistics.median(ref_totals)
    if median > 0 and data_total < LOW_STATISTICS_FRACTION * median:
        return (
            f"low statistics: the data has {data_total:g} entries, "
            f"under {LOW_STATISTICS_FRACTION:.0%} of the references' median {median:g}"
        )
    return None


def _fill_row(row, outcome, notes):
    result = outcome.result
    row.chi2, row.max_pull, row.ks, row.p_value = result.chi2, result.max_pull, result.ks, result.p_value
    row.n_used, row.thresholds = result.n_used, dict(result.thresholds)
    row.entries_refs = [float(value) for value in result.entries_refs]
    row.outlier = bool(result.is_outlier)
    if result.note:
        # The comparator scored it, but the score cannot be trusted as is:
        # data empty while the references are filled, or below min_entries.
        row.comparable = False
        notes = [result.note, *notes]
    row.reason = "; ".join(notes)


def score_job(comparison, inputs, job):
    """Read one histogram from every run and score it with each of the job's comparators."""
    try:
        data_hist = read_job_histogram(inputs.data, job)
    except RootReadError as error:
        return _not_comparable(comparison, job, f"data run {inputs.data.run}: {error}")
    ref_hists, notes = read_references(inputs, job)
    if not ref_hists:
        return _not_comparable(comparison, job, "missing from every reference file: " + "; ".join(notes), data_hist)
    edges = data_hist.xedges if data_hist.ndim == 1 else None
    scored = []
    for name in job.comparators:
        row = _new_row(comparison, job, name, data_hist)
        options = comparator_options(job.options, name)
        outcome = evaluate(name, data_hist.values, [hist.values for hist in ref_hists], edges, **options)
        if outcome.result is None:
            row.comparable, row.reason = False, "; ".join([outcome.reason, *notes])
            row.entries_refs = [float(hist.total) for hist in ref_hists]
        else:
            _fill_row(row, outcome, notes)
            low = _low_statistics_reason(row.entries_data, row.entries_refs)
            if low and not row.outlier:
                row.comparable, row.reason = False, "; ".join(filter(None, [low, row.reason]))
        scored.append(
            Scored(row=row, data_hist=data_hist, ref_hists=ref_hists, outcome=outcome, plot_options=job.plot_options)
        )
    return scored


def plot_wanted(config, row):
    """Return False where `sel_display` skips the plot: chi2 and max pull both under half their cuts."""
    if not config.get("sel_display") or not row.comparable or row.outlier or row.always_show:
        return True
    chi2_cut, pull_cut = row.thresholds.get("chi2_cut"), row.thresholds.get("pull_cut")
    if row.chi2 is None or row.max_pull is None or not chi2_cut or not pull_cut:
        return True
    return row.chi2 >= chi2_cut / 2 or abs(row.max_pull) >= pull_cut / 2


def wants_eager_plot(row):
    """Outliers, `always_show` rules and flagged histograms are drawn while scoring; the rest on first view."""
    return row.outlier or row.always_show or (not row.comparable and row.entries_data)


class ProgressReporter:
    """Write progress to the Comparison row (at most once a second, and after the last histogram) and to a callback."""

    def __init__(self, comparison, total, callback=None):
        self.comparison, self.total, self.callback = comparison, total, callback
        self.done, self.last_write = 0, 0.0
        comparison.set_progress(done=0, total=total, stage="scoring histograms")

    def advance(self, path):
        self.done += 1
        now = time.monotonic()
        if now - self.last_write >= 1.0 or self.done == self.total:
            self.comparison.set_progress(done=self.done)
            self.last_write = now
        if self.callback is not None:
            self.callback(self.done, self.total, path)
