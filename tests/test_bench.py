"""The benchmark's synthetic subsystem and its measurements, on a small scale (no timing asserted)."""

import io

import pytest

from comparisons import benchmark
from comparisons.management.commands.bench import Command
from runs.rootio import open_root, read_histogram, resolve_folder


def test_specs_follow_the_documented_mix():
    specs = benchmark.histogram_specs(2000)
    one_d = [spec for spec in specs if len(spec.shape) == 1]
    two_d = [spec for spec in specs if len(spec.shape) == 2]
    assert len(one_d) == 1500
    assert len(two_d) == 500
    assert min(spec.shape[0] for spec in one_d) >= 50
    assert max(spec.shape[0] for spec in one_d) <= 1000
    assert max(spec.shape[0] * spec.shape[1] for spec in two_d) == 360 * 100


def test_files_hold_the_sampled_contents(tmp_path):
    specs = benchmark.histogram_specs(8)
    paths = benchmark.write_bench_files(tmp_path, specs)
    assert len(paths) == 5
    with open_root(paths[0]) as handle:
        folder = resolve_folder(handle, benchmark.MAIN_GDIR, benchmark.DATA_RUN)
        hist = read_histogram(folder, specs[3].path)
    assert hist.values.shape == specs[3].shape
    assert hist.values == pytest.approx(benchmark.sample_contents(specs[3], 0))


def test_scoring_and_png_measurements_print():
    specs = benchmark.histogram_specs(12)
    contents = benchmark.load_contents(specs)
    command = Command(stdout=io.StringIO())
    command._bench_scoring(contents, repeats=1)
    command._bench_png(specs, contents, count=2)
    output = command.stdout.getvalue()
    assert "speed-up over the direct evaluation" in output
    assert "PNG, median per histogram" in output
    difference = float(output.split("largest relative difference chi2/max_pull")[1].split()[0])
    assert difference < 1e-6
