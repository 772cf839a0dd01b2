"""A synthetic subsystem for `make bench`: 2,000 histograms, one data run, four references.

The mix follows the shipped AutoDQM configs, which are mostly 1D histograms
with some large 2D maps: three quarters 1D with 50 to 1,000 bins, one quarter
2D from 36x20 up to 360x100.
"""

from dataclasses import dataclass

import numpy as np
import uproot

SUBSYSTEM = "Bench"
MAIN_GDIR = "DQMData/Run {0}/Bench/Run summary/"
SHAPES_2D = [(36, 20), (72, 18), (82, 72), (100, 100), (360, 100)]
FOLDERS = ["Timing", "Occupancy", "Tracks", "Hits"]
DATASET = ("Bench", "Run2026A", "PromptReco-v1")
DATA_RUN = 400100
REFERENCE_RUNS = [400001, 400002, 400003, 400004]


@dataclass
class HistogramSpec:
    folder: str
    name: str
    shape: tuple
    entries: float
    seed: int

    @property
    def path(self):
        return f"{self.folder}/{self.name}"


def histogram_specs(count=2000, seed=12345):
    """Return `count` specs: three in four 1D (50 to 1,000 bins), one in four 2D."""
    rng = np.random.default_rng(seed)
    specs = []
    for index in range(count):
        folder = FOLDERS[index % len(FOLDERS)]
        if index % 4 == 3:
            shape = SHAPES_2D[rng.integers(len(SHAPES_2D))]
        else:
            shape = (int(np.exp(rng.uniform(np.log(50), np.log(1000)))),)
        entries = float(10 ** rng.uniform(4, 6))
        specs.append(HistogramSpec(folder, f"h{index:04d}", shape, entries, seed + index))
    return specs


def _expected(spec):
    if len(spec.shape) == 1:
        x = np.linspace(-3, 3, spec.shape[0])
        shape = np.exp(-0.5 * x**2) + 0.05
    else:
        x = np.linspace(-2, 2, spec.shape[0])[:, None]
        y = np.linspace(-2, 2, spec.shape[1])[None, :]
        shape = np.exp(-0.5 * (x**2 + y**2)) + 0.1
    return spec.entries * shape / shape.sum()


def sample_contents(spec, run_index):
    """Poisson-fluctuated contents of one histogram in one run."""
    rng = np.random.default_rng(spec.seed * 16 + run_index)
    return rng.poisson(_expected(spec)).astype(np.float64)


def file_name(run):
    primary, era, processing = DATASET
    return f"DQM_V0001_R000{run}__{primary}__{era}-{processing}__DQMIO.root"


def write_run(path, run, run_index, specs):
    with uproot.recreate(path) as handle:
        for spec in specs:
            contents = sample_contents(spec, run_index)
            key = MAIN_GDIR.format(run) + spec.path
            if contents.ndim == 1:
                handle[key] = (contents, np.linspace(0.0, 1.0, contents.size + 1))
            else:
                xedges = np.linspace(0.0, 1.0, contents.shape[0] + 1)
                yedges = np.linspace(0.0, 1.0, contents.shape[1] + 1)
                handle[key] = (contents, xedges, yedges)


def write_bench_files(directory, specs):
    """Write the data run and the four reference runs; return their paths."""
    paths = []
    for run_index, run in enumerate([DATA_RUN, *REFERENCE_RUNS]):
        path = directory / file_name(run)
        write_run(path, run, run_index, specs)
        paths.append(path)
    return paths


def bench_config():
    return {
        "comparators": ["beta_binomial"],
        "main_gdir": MAIN_GDIR,
        "hists": [{"path": f"{folder}/*"} for folder in FOLDERS],
    }


def load_contents(specs):
    """Return every histogram's contents per run: {path: [data, reference 1, ...]}."""
    runs = range(1 + len(REFERENCE_RUNS))
    return {spec.path: [sample_contents(spec, index) for index in runs] for spec in specs}
