"""Build comparison history quickly by creating rows directly: no ROOT files, no task queue."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from comparisons.config_io import import_config
from comparisons.models import Comparison, ComparisonReference, HistogramResult
from runs.models import Run

HISTOGRAMS = ("Occupancy/hOWires", "Segments/hSTimeCombined", "recHits/hRHGlobalp2", "Digis/hWireTBin")
CHI2_CUT, PULL_CUT = 10.0, 8.0
DATASET = ("ZeroBias", "Run2022C", "PromptReco-v1")
FIRST_RUN = 355000
START = datetime(2026, 6, 1, tzinfo=timezone.utc)


@dataclass
class History:
    subsystem: object
    reference: Run
    runs: list
    comparisons: list
    results: dict = field(default_factory=dict)  # (run number, histogram) -> HistogramResult

    def result(self, run_number, histogram=HISTOGRAMS[0]):
        return self.results[(run_number, histogram)]


def make_subsystem(name="CSC", histograms=HISTOGRAMS):
    config = {
        "comparators": ["beta_binomial"],
        "hists": [{"path": path} for path in histograms],
        "main_gdir": f"DQMData/Run {{0}}/{name}/Run summary/",
    }
    return import_config(name, config)


def _scores(rng, n_runs, n_hists):
    chi2 = rng.gamma(2.0, 1.5, size=(n_runs, n_hists))
    max_pull = rng.normal(0.0, 2.5, size=(n_runs, n_hists))
    entries = rng.integers(50_000, 150_000, size=(n_runs, n_hists)).astype(float)
    return chi2, max_pull, entries


def _result(comparison, histogram, chi2, max_pull, entries):
    return HistogramResult(
        comparison=comparison,
        histogram=histogram,
        comparator="beta_binomial",
        rule_path=histogram,
        hist_type="TH1F",
        chi2=float(chi2),
        max_pull=float(max_pull),
        entries_data=float(entries),
        entries_refs=[float(entries)],
        thresholds={"chi2_cut": CHI2_CUT, "pull_cut": PULL_CUT, "pull_cap": 10.0},
        outlier=bool(chi2 > CHI2_CUT or abs(max_pull) > PULL_CUT),
        comparable=True,
    )


def build_history(n_runs=50, histograms=HISTOGRAMS, subsystem=None, seed=7, dataset=DATASET, first_run=FIRST_RUN):
    """Create `n_runs` data runs, one finished comparison each, and a result per histogram.

    Runs are numbered from `first_run` with gaps of 1 to 3; comparisons are
    one hour apart in run order. Scores are seeded random draws; a result is
    an outlier when its chi2 or |max pull| exceeds the cuts, as the pipeline does.
    """
    rng = np.random.default_rng(seed)
    subsystem = subsystem or make_subsystem(histograms=histograms)
    version = subsystem.current_version()
    primary, era, processing = dataset
    reference = Run.objects.create(number=first_run - 1, primary_dataset=primary, era=era, processing=processing)
    numbers = first_run + np.cumsum(rng.integers(1, 4, size=n_runs))
    runs = Run.objects.bulk_create(
        Run(number=int(number), primary_dataset=primary, era=era, processing=processing) for number in numbers
    )
    comparisons = Comparison.objects.bulk_create(
        Comparison(
            subsystem=subsystem, config_version=version, data_run=run, status=Comparison.DONE,
            permalink_key=f"{subsystem.name}/{primary}/{era}-{processing}/{run.number}/vs/x/{reference.number}",
            created_at=START + timedelta(hours=index), finished_at=START + timedelta(hours=index, minutes=5),
        )
        for index, run in enumerate(runs)
    )
    ComparisonReference.objects.bulk_create(
        ComparisonReference(comparison=comparison, run=reference, position=0) for comparison in comparisons
    )
    chi2, max_pull, entries = _scores(rng, n_runs, len(histograms))
    rows = [
        _result(comparison, histogram, chi2[i, j], max_pull[i, j], entries[i, j])
        for i, comparison in enumerate(comparisons)
        for j, histogram in enumerate(histograms)
    ]
    HistogramResult.objects.bulk_create(rows)
    history = History(subsystem=subsystem, reference=reference, runs=runs, comparisons=comparisons)
    for row in rows:
        history.results[(row.comparison.data_run.number, row.histogram)] = row
    return history
