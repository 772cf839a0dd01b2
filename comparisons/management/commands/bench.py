"""Measure scoring speed, a whole comparison without plots, PNG drawing and peak memory."""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from comparisons import benchmark
from comparisons.comparators import beta_binomial
from comparisons.comparators.reference_impl import beta_binomial_direct
from comparisons.config_io import import_config
from comparisons.plotting import PlotInfo, draw
from runs.registry import scan_folder
from runs.rootio import Histogram


def _time(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def _score_all(score, contents):
    return {path: score(runs[0], runs[1:]) for path, runs in contents.items()}


def _max_relative_difference(fast, direct):
    worst = 0.0
    for path, result in fast.items():
        other = direct[path]
        for name in ("chi2", "max_pull"):
            a, b = getattr(result, name), getattr(other, name)
            worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
    return worst


class Command(BaseCommand):
    help = (
        "Benchmark on a synthetic subsystem of 2,000 histograms with one data run and four references: "
        "scoring speed against a direct scipy.stats.betabinom evaluation, a whole compare without plots "
        "(read, score, store in the configured database), milliseconds per PNG and peak memory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--histograms", type=int, default=2000, help="number of histograms (default 2000)")
        parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are printed")
        parser.add_argument("--pngs", type=int, default=40, help="PNGs to draw for the per-PNG time")
        parser.add_argument("--dir", help="folder for the synthetic files (default: a temporary folder)")

    def handle(self, *args, **options):
        if options["histograms"] < 1 or options["repeats"] < 1:
            raise CommandError("--histograms and --repeats must be at least 1")
        self._line("database", f"{connection.vendor} ({settings.DATABASES['default']['NAME']})")
        if options["dir"]:
            self._run(Path(options["dir"]), options)
        else:
            with tempfile.TemporaryDirectory(prefix="autodqm-bench-") as folder:
                self._run(Path(folder), options)

    def _line(self, label, value):
        self.stdout.write(f"{label:<42} {value}")

    def _run(self, folder, options):
        specs = benchmark.histogram_specs(options["histograms"])
        n_1d = sum(1 for spec in specs if len(spec.shape) == 1)
        self._line("histograms", f"{len(specs)} ({n_1d} 1D, {len(specs) - n_1d} 2D), 1 data run + 4 references")
        start = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        benchmark.write_bench_files(folder, specs)
        self._line("writing the ROOT files", f"{time.perf_counter() - start:.1f} s")
        contents = benchmark.load_contents(specs)
        self._bench_scoring(contents, options["repeats"])
        self._bench_compare(folder, options["repeats"])
        self._bench_png(specs, contents, options["pngs"])

    def _bench_scoring(self, contents, repeats):
        fast_time, _ = _time(lambda: _score_all(beta_binomial, contents), repeats)
        start = time.perf_counter()
        direct = _score_all(beta_binomial_direct, contents)
        direct_time = time.perf_counter() - start
        fast = _score_all(beta_binomial, contents)
        count = len(contents)
        self._line("scoring, beta_binomial (median)", f"{count / fast_time:,.0f} histograms/s ({fast_time:.2f} s)")
        self._line("scoring, direct scipy.stats.betabinom.pmf", f"{count / direct_time:,.0f} histograms/s ({direct_time:.2f} s, 1 run)")
        self._line("speed-up over the direct evaluation", f"{direct_time / fast_time:.1f}x")
        self._line("largest relative difference chi2/max_pull", f"{_max_relative_difference(fast, direct):.1e}")

    def _bench_compare(self, folder, repeats):
        report = scan_folder(folder)
        if report.skipped:
            raise CommandError(f"benchmark files could not be registered: {report.skipped}")
        import_config(benchmark.SUBSYSTEM, benchmark.bench_config(), note="benchmark")
        command = [
            sys.executable, "manage.py", "compare", "--subsystem", benchmark.SUBSYSTEM,
            "--data-run", str(benchmark.DATA_RUN),
            "--ref-runs", ",".join(str(run) for run in benchmark.REFERENCE_RUNS), "--no-plots",
        ]
        wall, inside = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            finished = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, env=os.environ.copy())
            wall.append(time.perf_counter() - start)
            if finished.returncode != 0:
                raise CommandError(f"compare failed: {finished.stderr[-2000:]}")
            inside.append(self._last_comparison_seconds())
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        self._line("whole compare, no plots (median wall time)", f"{statistics.median(wall):.1f} s (runs: {', '.join(f'{t:.1f}' for t in wall)})")
        self._line("  of which the comparison task", f"{statistics.median(inside):.1f} s")
        self._line("peak memory of the compare process", f"{peak_kib / 1024:.0f} MiB")

    def _last_comparison_seconds(self):
        from comparisons.models import Comparison

        comparison = Comparison.objects.filter(subsystem__name=benchmark.SUBSYSTEM).order_by("-pk").first()
        return (comparison.finished_at - comparison.started_at).total_seconds()

    def _bench_png(self, specs, contents, count):
        rng = np.random.default_rng(1)
        chosen = [specs[index] for index in rng.choice(len(specs), size=min(count, len(specs)), replace=False)]
        times = {1: [], 2: []}
        with tempfile.TemporaryDirectory(prefix="autodqm-bench-png-") as folder:
            for spec in chosen:
                runs = contents[spec.path]
                result = beta_binomial(runs[0], runs[1:])
                hist = _histogram(spec, runs[0])
                info = PlotInfo(path=spec.path, subsystem=benchmark.SUBSYSTEM, comparator="beta_binomial")
                start = time.perf_counter()
                draw(hist, result, info, png_path=Path(folder) / f"{spec.name}.png")
                times[hist.ndim].append(time.perf_counter() - start)
        every = times[1] + times[2]
        self._line("PNG, median per histogram", f"{1000 * statistics.median(every):.0f} ms ({len(every)} drawn)")
        for ndim in (1, 2):
            if times[ndim]:
                self._line(f"  {ndim}D", f"{1000 * statistics.median(times[ndim]):.0f} ms median, {1000 * max(times[ndim]):.0f} ms max")


def _histogram(spec, values):
    xedges = np.linspace(0.0, 1.0, values.shape[0] + 1)
    yedges = np.linspace(0.0, 1.0, values.shape[1] + 1) if values.ndim == 2 else None
    return Histogram(
        name=spec.name, path=spec.path, classname="TH2F" if values.ndim == 2 else "TH1F", values=values,
        xedges=xedges, yedges=yedges, xlabels=None, ylabels=None, entries=float(values.sum()),
        title=spec.name, xtitle="x", ytitle="y",
    )
