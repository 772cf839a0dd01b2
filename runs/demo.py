"""Write the demo DQM files that a new AutoDQM site shows in its first report.

The files imitate harvested offline DQM output of CMSSW's CSCOfflineMonitor
module for the CSC subsystem: the same folders, histogram names, titles and
binnings, with made-up contents. Every histogram has one underlying shape
shared by all runs. Each run is a Poisson draw around that shape, scaled by
the run's luminosity, so good runs agree with the reference runs within
statistics. The faults listed in the demo description (``fixtures/demo.json``)
change the shape of one histogram of one run before the draw. Draws use a
numpy generator seeded from the description's seed, the run and the histogram
path, so the contents are the same on every call. The file bytes still differ
between calls, because uproot stores the creation time and a random UUID.

Run ``python -m runs.demo OUTPUT_FOLDER`` to write the files.
"""

import argparse
import functools
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Optional

import numpy as np
import uproot
from scipy import stats
from uproot.writing.identify import (
    add_to_directory,
    to_TAxis,
    to_TH1x,
    to_TH2x,
    to_THashList,
    to_TObjString,
)

logger = logging.getLogger(__name__)

DEFAULT_DESCRIPTION = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"
MONITOR_FOLDER = "DQMData/Run {run}/CSC/Run summary/CSCOfflineMonitor"
EVENT_INFO_FOLDER = "DQMData/Run {run}/CSC/Run summary/EventInfo"
FAULT_KINDS = ("dead_region", "hot_cell", "shifted_peak")
_REQUIRED_KEYS = (
    "subsystem",
    "primary_dataset",
    "era",
    "processing",
    "seed",
    "reference_runs",
    "data_runs",
)

# y bins of the occupancy maps, bottom to top, labelled as CSCOfflineMonitor does.
RING_LABELS = (
    "ME -4/2", "ME -4/1", "ME -3/2", "ME -3/1", "ME -2/2", "ME -2/1",
    "ME -1/3", "ME -1/2", "ME -1/1b", "ME -1/1a",
    "ME +1/1a", "ME +1/1b", "ME +1/2", "ME +1/3",
    "ME +2/1", "ME +2/2", "ME +3/1", "ME +3/2", "ME +4/1", "ME +4/2",
)  # fmt: skip
# Relative hit rate of one chamber per ring: inner rings see more background.
RING_RATES = {
    "1/1a": 1.6, "1/1b": 2.0, "1/2": 0.8, "1/3": 0.35, "2/1": 1.5,
    "2/2": 0.7, "3/1": 1.3, "3/2": 0.6, "4/1": 1.2, "4/2": 0.55,
}  # fmt: skip
# A chamber switched off in every run, references included. The report shows
# this known hole, and the comparison does not flag it.
KNOWN_DEAD_CHAMBER = ("ME -3/1", 11)
# Rings of each station in the global x-y plane:
# (inner radius cm, outer radius cm, chambers, relative rate).
STATION_RINGS = {
    1: ((100, 260, 36, 1.8), (275, 465, 36, 0.8), (505, 695, 36, 0.35)),
    2: ((140, 350, 18, 1.5), (355, 700, 36, 0.7)),
    3: ((160, 350, 18, 1.3), (355, 700, 36, 0.6)),
    4: ((180, 350, 18, 1.2), (355, 700, 36, 0.55)),
}
# |z| (cm) of the chamber layers seen by hSTimeVsZ, with relative segment rates.
STATION_Z = ((600, 1.0), (700, 0.8), (830, 0.7), (935, 0.6), (1025, 0.5))
CHAMBER_SERIALS = 540

# Chamber types with one histogram each in the demo, as (name suffix, title part).
WIRE_TBIN_TYPES = (
    ("m41", "ME -4/1"), ("m31", "ME -3/1"), ("m21", "ME -2/1"),
    ("m12", "ME -1/2"), ("m11b", "ME -1/1b"), ("p11b", "ME +1/1b"),
    ("p12", "ME +1/2"), ("p21", "ME +2/1"), ("p31", "ME +3/1"), ("p41", "ME +4/1"),
)  # fmt: skip
SEGMENT_TYPES = (("m21", "ME -2/1"), ("m11b", "ME -1/1b"), ("p11b", "ME +1/1b"), ("p21", "ME +2/1"))
CHI2_TYPES = (("m11b", "ME -1/1b"), ("p11b", "ME +1/1b"))


@dataclass(frozen=True)
class Axis:
    """A regular ROOT axis. ``labels`` contains (bin number from 1, label) pairs."""

    bins: int
    low: float
    high: float
    title: str = ""
    labels: tuple = ()

    def centres(self) -> np.ndarray:
        edges = np.linspace(self.low, self.high, self.bins + 1)
        return 0.5 * (edges[:-1] + edges[1:])


@dataclass(frozen=True)
class HistogramSpec:
    """One monitor element of the demo files.

    ``path`` is relative to the CSCOfflineMonitor folder. ``shape`` maps the bin
    centres (1D) or the x and y centre grids (2D) to non-negative weights.
    ``entries`` is the expected number of in-range entries at luminosity scale
    1, and ``overflow`` the expected overflow entries as a fraction of it.
    """

    path: str
    title: str
    x: Axis
    shape: Callable
    entries: int
    y: Optional[Axis] = None
    overflow: float = 0.0

    @property
    def is_2d(self) -> bool:
        return self.y is not None


@dataclass(frozen=True)
class DrawnHistogram:
    """Bin contents of one histogram of one run, without flow bins."""

    spec: HistogramSpec
    counts: np.ndarray
    overflow: float = 0.0

    @property
    def entries(self) -> float:
        return float(self.counts.sum() + self.overflow)


# Shapes. Each returns weights from bin centres and is the same for every run.


def _ring_chambers(label: str) -> int:
    station_ring = label.split()[1].lstrip("+-")
    return 18 if station_ring in ("2/1", "3/1", "4/1") else 36


def _occupancy_shape(chamber, ring, *, empty_rings=(), phase=0.0):
    weights = np.zeros_like(chamber, dtype=float)
    for index, label in enumerate(RING_LABELS):
        if label in empty_rings:
            continue
        row = ring == index + 1
        rate = RING_RATES[label.split()[1].lstrip("+-")]
        ripple = 1 + 0.12 * np.sin(2.7 * chamber + 1.3 * ring + phase)
        live = row & (chamber <= _ring_chambers(label))
        weights[live] = (rate * ripple)[live]
    dead_label, dead_chamber = KNOWN_DEAD_CHAMBER
    weights[(ring == RING_LABELS.index(dead_label) + 1) & (chamber == dead_chamber)] = 0
    return weights


def _rechit_xy_shape(x, y, *, station):
    radius = np.hypot(x, y)
    phi = np.arctan2(y, x)
    weights = np.zeros_like(x, dtype=float)
    for inner, outer, chambers, rate in STATION_RINGS[station]:
        inside = (radius >= inner) & (radius < outer)
        density = rate * (radius / 100.0) ** -1.5 * (1 + 0.25 * np.cos(chambers * phi))
        weights += np.where(inside, density, 0.0)
    return weights


def _per_event_shape(x, *, zero_fraction, gamma_shape, scale):
    weights = stats.gamma.pdf(x, gamma_shape, scale=scale)
    weights *= (1 - zero_fraction) / weights.sum()
    return weights + np.where(np.abs(x) < 0.5, zero_fraction, 0.0)


def _wire_time_bin_shape(x, *, mean):
    peak = stats.norm.pdf(x, mean, 1.1)
    return peak + np.where((x >= 0) & (x <= 15), 0.015, 0.0)


def _segment_hits_shape(x, *, six_hit_fraction):
    fractions = {3: 0.025, 4: 0.07, 5: 0.905 - six_hit_fraction, 6: six_hit_fraction}
    return np.array([fractions.get(int(round(value)), 0.0) for value in np.ravel(x)])


def _segment_count_shape(x):
    counts = np.round(x)
    weights = np.where(counts >= 1, 0.45 * 0.35 * 0.65 ** (counts - 1), 0.0)
    return weights + np.where(counts == 0, 0.55, 0.0)


def _segment_time_shape(t, *, sigma, background):
    in_time = 0.9 * stats.norm.pdf(t, 0.0, sigma)
    # Segments from the neighbouring bunch crossings, 25 ns away.
    out_of_time = 0.02 * (stats.norm.pdf(t, -25.0, sigma + 1) + stats.norm.pdf(t, 25.0, sigma + 1))
    return in_time + out_of_time + background


def _chamber_serial_weights(serial):
    weights = 1 + 0.4 * np.sin(serial / 9.0) + 0.2 * np.cos(serial / 2.3)
    return np.where((serial >= 1) & (serial <= CHAMBER_SERIALS), weights, 0.0)


def _serial_time_shape(serial, t, *, sigma, background):
    time_weights = _segment_time_shape(t, sigma=sigma, background=background)
    return _chamber_serial_weights(serial) * time_weights


def _time_vs_z_shape(z, t):
    layers = sum(rate * stats.norm.pdf(np.abs(z), layer_z, 20.0) for layer_z, rate in STATION_Z)
    return layers * _segment_time_shape(t, sigma=4.5, background=1e-4)


def _chi2_ndof_shape(x, *, ndof):
    clipped = np.clip(x, 0.0, None)
    core = ndof * stats.chi2.pdf(clipped * ndof, ndof)
    tail = 0.02 * np.exp(-clipped / 3.0) / 3.0
    return np.where(x >= -0.05, core + tail, 0.0)


def _chi2_probability_shape(x):
    # Badly fitted segments pile up at probability 0.
    inside = (x >= 0) & (x <= 1)
    return np.where(inside, 1 + 4 * np.exp(-np.clip(x, 0, 1) / 0.02), 0.0)


def _global_phi_shape(phi):
    weights = 1 + 0.15 * np.cos(36 * phi) + 0.05 * np.cos(phi)
    return np.where(np.abs(phi) <= np.pi, weights, 0.0)


def _global_theta_shape(theta):
    def endcap(angle):
        edges = stats.logistic.cdf(angle, 0.17, 0.02) * stats.logistic.sf(angle, 0.87, 0.02)
        return edges / np.sin(np.clip(angle, 0.05, None))

    return endcap(theta) + endcap(np.pi - theta)


def _event_summary_shape(x):
    # Total events, then events with wires, strips, both, recHits, segments.
    fractions = {1: 1.0, 3: 0.62, 5: 0.6, 7: 0.58, 9: 0.55, 11: 0.45}
    return np.array([fractions.get(int(round(value)), 0.0) for value in np.ravel(x)])


# Histogram catalogue: the names, titles and binnings of CSCOfflineMonitor.

_CHAMBER_AXIS = Axis(36, 0.5, 36.5, "Chamber #")
_RING_AXIS = Axis(20, 0.5, 20.5, "", tuple(enumerate(RING_LABELS, start=1)))
_SERIAL_AXIS = Axis(601, -0.5, 600.5, "Chamber Serial Number")


def _occupancy_specs() -> list[HistogramSpec]:
    maps = (
        ("hOWires", "Wire Digi Occupancy", 600_000, ("ME -1/1a", "ME +1/1a"), 0.0),
        ("hOStrips", "Strip Digi Occupancy", 800_000, (), 0.4),
        ("hORecHits", "RecHit Occupancy", 700_000, (), 0.8),
        ("hOSegments", "Segment Occupancy", 200_000, (), 1.2),
    )
    # The wire groups of ME1/1 belong to ring 1 (ME1/1b). Only the strips of
    # ME1/1a are read out as a ring of their own, so its wire rows stay empty.
    return [
        HistogramSpec(
            f"Occupancy/{name}",
            title,
            _CHAMBER_AXIS,
            partial(_occupancy_shape, empty_rings=empty, phase=phase),
            entries,
            y=_RING_AXIS,
        )
        for name, title, entries, empty, phase in maps
    ]


def _rechit_specs() -> list[HistogramSpec]:
    global_axis_x = Axis(100, -800.0, 800.0, "Global X (cm)")
    global_axis_y = Axis(100, -800.0, 800.0, "Global Y (cm)")
    specs = [
        HistogramSpec(
            f"recHits/hRHGlobal{side}{station}",
            f"recHit global X,Y station {sign}{station}",
            global_axis_x,
            partial(_rechit_xy_shape, station=station),
            400_000 if station == 1 else 250_000,
            y=global_axis_y,
        )
        for side, sign in (("p", "+"), ("m", "-"))
        for station in (1, 2, 3, 4)
    ]
    specs.append(
        HistogramSpec(
            "recHits/hRHnrechits",
            "recHits per Event (all chambers)",
            Axis(200, -0.5, 199.5, "# of RecHits"),
            partial(_per_event_shape, zero_fraction=0.35, gamma_shape=2.2, scale=14.0),
            300_000,
            overflow=0.004,
        )
    )
    return specs


def _digi_specs() -> list[HistogramSpec]:
    specs = [
        HistogramSpec(
            f"Digis/hWireTBin_{suffix}",
            f"Wire TBin Fired ({chamber_type})",
            Axis(17, -0.5, 16.5, "Time Bin (25ns)"),
            partial(_wire_time_bin_shape, mean=7.3 + 0.3 * np.sin(index)),
            150_000 + 15_000 * index,
        )
        for index, (suffix, chamber_type) in enumerate(WIRE_TBIN_TYPES)
    ]
    specs.append(
        HistogramSpec(
            "Digis/hStripNFired",
            "Fired Strips per Event",
            Axis(300, -0.5, 299.5, "# Strips Fired (above 13 ADC)"),
            partial(_per_event_shape, zero_fraction=0.3, gamma_shape=2.5, scale=22.0),
            300_000,
            overflow=0.005,
        )
    )
    specs.append(
        HistogramSpec(
            "Digis/hWirenGroupsTotal",
            "Fired Wires per Event",
            Axis(200, -0.5, 199.5, "# Wiregroups Fired"),
            partial(_per_event_shape, zero_fraction=0.3, gamma_shape=2.3, scale=15.0),
            300_000,
            overflow=0.002,
        )
    )
    return specs


def _segment_hit_specs() -> list[HistogramSpec]:
    hits_axis = Axis(8, -0.5, 7.5, "# of hits")
    specs = [
        HistogramSpec(
            "Segments/hSnhits",
            "N hits on Segments",
            hits_axis,
            partial(_segment_hits_shape, six_hit_fraction=0.7),
            400_000,
        )
    ]
    specs += [
        HistogramSpec(
            f"Segments/hSnhits{suffix}",
            f"# of hits on Segments ({chamber_type})",
            hits_axis,
            partial(_segment_hits_shape, six_hit_fraction=0.67 + 0.02 * index),
            150_000,
        )
        for index, (suffix, chamber_type) in enumerate(SEGMENT_TYPES)
    ]
    specs.append(
        HistogramSpec(
            "Segments/hSnSegments",
            "Number of Segments per Event",
            Axis(26, -0.5, 25.5, "# of Segments"),
            _segment_count_shape,
            300_000,
        )
    )
    return specs


def _segment_time_specs() -> list[HistogramSpec]:
    time_axis = Axis(200, -200.0, 200.0, "Segment Time [ns]")
    diff_axis = Axis(50, -50.0, 50.0, "Anode Minus Cathode Time [ns]")
    return [
        HistogramSpec(
            "Segments/hSTimeCombined",
            "Segment Time (anode+cathode times) [ns]",
            time_axis,
            partial(_segment_time_shape, sigma=4.5, background=1e-4),
            400_000,
        ),
        HistogramSpec(
            "Segments/hSTimeCombinedSerial",
            "Segment Time (anode+cathode times) [ns]",
            _SERIAL_AXIS,
            partial(_serial_time_shape, sigma=4.5, background=1e-4),
            400_000,
            y=time_axis,
        ),
        HistogramSpec(
            "Segments/hSTimeDiff",
            "Anode Minus Cathode Segment Time  [ns]",
            diff_axis,
            partial(_segment_time_shape, sigma=6.0, background=3e-4),
            400_000,
        ),
        HistogramSpec(
            "Segments/hSTimeDiffSerial",
            "Anode Minus Cathode Segment Time  [ns]",
            _SERIAL_AXIS,
            partial(_serial_time_shape, sigma=6.0, background=3e-4),
            400_000,
            y=Axis(200, -50.0, 50.0, "Anode Minus Cathode Time [ns]"),
        ),
    ]


def _segment_time_vs_z_specs() -> list[HistogramSpec]:
    return [
        HistogramSpec(
            "Segments/hSTimeVsZ",
            "Segment Time vs. Z",
            Axis(200, -1200.0, 1200.0, "Global Z [cm]"),
            _time_vs_z_shape,
            400_000,
            y=Axis(200, -200.0, 200.0, "Segment Time [ns]"),
        ),
    ]


def _segment_fit_specs() -> list[HistogramSpec]:
    chi2_axis = Axis(110, -0.05, 10.5, "Chi2/ndof")
    probability_axis = Axis(110, -0.05, 1.05, "Probability")
    specs = [
        HistogramSpec("Segments/hSChiSq", "Segment Normalized Chi2", chi2_axis,
                      partial(_chi2_ndof_shape, ndof=8), 400_000),
        HistogramSpec("Segments/hSChiSqProb", "Segment chi2 Probability", probability_axis,
                      _chi2_probability_shape, 400_000),
    ]  # fmt: skip
    for suffix, chamber_type in CHI2_TYPES:
        specs.append(
            HistogramSpec(f"Segments/hSChiSq{suffix}", f"Segment Normalized Chi2 ({chamber_type})",
                          chi2_axis, partial(_chi2_ndof_shape, ndof=8), 150_000)
        )  # fmt: skip
        specs.append(
            HistogramSpec(f"Segments/hSChiSqProb{suffix}",
                          f"Segment chi2 Probability ({chamber_type})",
                          probability_axis, _chi2_probability_shape, 150_000)
        )  # fmt: skip
    return specs


def _segment_direction_specs() -> list[HistogramSpec]:
    return [
        HistogramSpec(
            "Segments/hSGlobalPhi",
            "Segment Direction (Global Phi)",
            Axis(128, -3.2, 3.2, "Global Phi (radians)"),
            _global_phi_shape,
            400_000,
        ),
        HistogramSpec(
            "Segments/hSGlobalTheta",
            "Segment Direction (Global Theta)",
            Axis(136, -0.1, 3.3, "Global Theta (radians)"),
            _global_theta_shape,
            400_000,
        ),
    ]


def _unmatched_specs() -> list[HistogramSpec]:
    # Only some bins carry a label, as in the real hCSCOccupancy.
    summary_labels = (
        (2, "Total Events"), (4, "# Events with Wires"), (6, "# Events with Strips"),
        (8, "# Events with Wires&Strips"), (10, "# Events with Rechits"),
        (12, "# Events with Segments"),
    )  # fmt: skip
    return [
        HistogramSpec(
            "Occupancy/hCSCOccupancy",
            "overall CSC occupancy",
            Axis(13, -0.5, 12.5, "", summary_labels),
            _event_summary_shape,
            800_000,
        ),
        HistogramSpec(
            "Occupancy/hOStripsAndWiresAndCLCT",
            "Strip And Wire And CLCT Digi Occupancy",
            _CHAMBER_AXIS,
            partial(_occupancy_shape, empty_rings=("ME -1/1a", "ME +1/1a"), phase=2.0),
            500_000,
            y=_RING_AXIS,
        ),
    ]


@functools.cache
def histogram_specs() -> tuple[HistogramSpec, ...]:
    """Return every histogram of a demo file, in writing order."""
    groups = (
        _occupancy_specs,
        _unmatched_specs,
        _rechit_specs,
        _digi_specs,
        _segment_hit_specs,
        _segment_time_specs,
        _segment_time_vs_z_specs,
        _segment_fit_specs,
        _segment_direction_specs,
    )
    return tuple(spec for group in groups for spec in group())


def unmatched_histogram_paths() -> tuple[str, ...]:
    """Return the demo histograms that no rule of the CSC config selects."""
    return tuple(spec.path for spec in _unmatched_specs())


def _spec_by_path() -> dict[str, HistogramSpec]:
    return {spec.path: spec for spec in histogram_specs()}


# Demo description: which runs exist and what is wrong with them.


def load_description(path=None) -> dict:
    """Read and validate a demo description; the default is ``fixtures/demo.json``."""
    path = Path(path) if path is not None else DEFAULT_DESCRIPTION
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        msg = f"invalid JSON in demo description {path}: {error}"
        raise ValueError(msg) from error
    validate_description(description, source=str(path))
    return description


def validate_description(description: dict, source: str = "demo description") -> None:
    """Raise ValueError naming the source and the entry when the description is invalid."""
    missing = [key for key in _REQUIRED_KEYS if key not in description]
    if missing:
        msg = f"{source}: missing keys {', '.join(missing)}"
        raise ValueError(msg)
    runs = [entry.get("run") for entry in description["reference_runs"] + description["data_runs"]]
    if len(set(runs)) != len(runs):
        msg = f"{source}: a run number occurs twice in {runs}"
        raise ValueError(msg)
    for entry in description["reference_runs"] + description["data_runs"]:
        _check_run_entry(entry, source)


def _check_run_entry(entry: dict, source: str) -> None:
    run = entry.get("run")
    if not isinstance(run, int) or run <= 0:
        msg = f"{source}: invalid run number {run!r}, expected a positive integer"
        raise ValueError(msg)
    where = f"{source}, run {run}"
    scale = entry.get("luminosity_scale", 1.0)
    if not isinstance(scale, (int, float)) or scale <= 0:
        msg = f"{where}: invalid luminosity_scale {scale!r}, expected a positive number"
        raise ValueError(msg)
    items = entry.get("faults", []) + entry.get("low_statistics", [])
    touched = [item.get("histogram") for item in items]
    if len(set(touched)) != len(touched):
        msg = f"{where}: a histogram has more than one fault or low-statistics entry: {touched}"
        raise ValueError(msg)
    for fault in entry.get("faults", []):
        _check_fault(fault, where)
    for low in entry.get("low_statistics", []):
        _check_spec_path(low.get("histogram"), where)
        if not isinstance(low.get("entries"), int) or low["entries"] <= 0:
            msg = f"{where}, {low['histogram']}: invalid entries {low.get('entries')!r}"
            raise ValueError(msg)


def _check_spec_path(path, where: str) -> HistogramSpec:
    specs = _spec_by_path()
    if path not in specs:
        msg = f"{where}: histogram {path!r} is not in the demo files; known: {', '.join(specs)}"
        raise ValueError(msg)
    return specs[path]


def _check_fault(fault: dict, where: str) -> None:
    spec = _check_spec_path(fault.get("histogram"), where)
    where = f"{where}, {spec.path}"
    kind = fault.get("kind")
    if kind not in FAULT_KINDS:
        msg = f"{where}: unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
        raise ValueError(msg)
    needed = {
        "dead_region": ("x_bins", "y_bins") if spec.is_2d else ("x_bins",),
        "hot_cell": ("x_bin", "y_bin", "factor") if spec.is_2d else ("x_bin", "factor"),
        "shifted_peak": ("shift",),
    }[kind]
    missing = [key for key in needed if key not in fault]
    if missing:
        msg = f"{where}: a {kind} fault needs {', '.join(missing)}"
        raise ValueError(msg)
    if kind == "shifted_peak" and spec.is_2d:
        msg = f"{where}: a shifted_peak fault needs a 1D histogram"
        raise ValueError(msg)
    _check_fault_bins(fault, spec, where)


def _check_fault_bins(fault: dict, spec: HistogramSpec, where: str) -> None:
    axes = {"x_bin": spec.x, "y_bin": spec.y, "x_bins": spec.x, "y_bins": spec.y}
    for key, axis in axes.items():
        if key not in fault or axis is None:
            continue
        value = fault[key]
        numbers = value if isinstance(value, list) else [value]
        valid = all(isinstance(n, int) and 1 <= n <= axis.bins for n in numbers)
        if not valid or (isinstance(value, list) and (len(value) != 2 or value[0] > value[1])):
            msg = (
                f"{where}: invalid {key} {value!r}; bins count from 1 to {axis.bins}, "
                "ranges are [first, last]"
            )
            raise ValueError(msg)


def _resolve_description(description) -> dict:
    if description is None or isinstance(description, (str, Path)):
        return load_description(description)
    validate_description(description)
    return description


def demo_file_name(run: int, description: dict) -> str:
    """Return the offline DQM file name of a run of the demo dataset."""
    dataset = f"{description['primary_dataset']}__{description['era']}-{description['processing']}"
    return f"DQM_V0001_R{run:09d}__{dataset}__DQMIO.root"


# Drawing the bin contents of one run.


def _shape_weights(spec: HistogramSpec, shift: float = 0.0) -> np.ndarray:
    x = spec.x.centres() - shift
    if not spec.is_2d:
        return np.asarray(spec.shape(x), dtype=float)
    grid_x, grid_y = np.meshgrid(x, spec.y.centres(), indexing="ij")
    return np.asarray(spec.shape(grid_x, grid_y), dtype=float)


def _apply_fault(expected: np.ndarray, fault: dict) -> None:
    # Bin numbers in the description count from 1, as ROOT's do, and ranges
    # include both ends.
    if fault["kind"] == "dead_region":
        ranges = [fault["x_bins"], fault.get("y_bins")][: expected.ndim]
        region = tuple(slice(first - 1, last) for first, last in ranges)
        expected[region] = 0.0
    elif fault["kind"] == "hot_cell":
        cell = (fault["x_bin"] - 1, fault.get("y_bin", 1) - 1)[: expected.ndim]
        expected[cell] *= fault["factor"]


def expected_contents(
    spec: HistogramSpec, entries: float, fault: Optional[dict] = None
) -> np.ndarray:
    """Return the mean bin contents of a histogram with ``entries`` entries, with the fault applied.

    A shifted peak moves the whole shape by ``shift`` in x-axis units and keeps
    the entries. A dead region empties bins and a hot cell multiplies one bin,
    so both change the entries.
    """
    shift = fault["shift"] if fault and fault["kind"] == "shifted_peak" else 0.0
    weights = _shape_weights(spec, shift)
    expected = entries * weights / weights.sum()
    if fault:
        _apply_fault(expected, fault)
    return expected


def _draw_histogram(spec, run_entry, seed, fault, low_entries) -> DrawnHistogram:
    rng = np.random.default_rng([seed, run_entry["run"], zlib.crc32(spec.path.encode())])
    entries = spec.entries * run_entry.get("luminosity_scale", 1.0)
    expected = expected_contents(spec, entries, fault)
    if low_entries is not None:
        probabilities = (expected / expected.sum()).ravel()
        counts = rng.multinomial(low_entries, probabilities).reshape(expected.shape)
        return DrawnHistogram(spec, counts.astype(float))
    counts = rng.poisson(expected).astype(float)
    return DrawnHistogram(spec, counts, float(rng.poisson(entries * spec.overflow)))


def draw_run(run_entry: dict, seed: int) -> dict[str, DrawnHistogram]:
    """Draw every demo histogram of one run entry of the description, keyed by path."""
    faults = {fault["histogram"]: fault for fault in run_entry.get("faults", [])}
    low = {item["histogram"]: item["entries"] for item in run_entry.get("low_statistics", [])}
    return {
        spec.path: _draw_histogram(spec, run_entry, seed, faults.get(spec.path), low.get(spec.path))
        for spec in histogram_specs()
    }


# Writing ROOT files.


def _bin_label(bin_number: int, text: str):
    label = to_TObjString(text)
    # ROOT matches an axis label to its bin through the TObject unique id.
    label._bases[0]._members["@fUniqueID"] = bin_number
    return label


def _root_axis(name: str, axis: Axis):
    labels = None
    if axis.labels:
        labels = to_THashList([_bin_label(number, text) for number, text in axis.labels])
    return to_TAxis(name, axis.title, axis.bins, axis.low, axis.high, fLabels=labels)


def _to_th1f(drawn: DrawnHistogram):
    spec, counts = drawn.spec, drawn.counts
    centres = spec.x.centres()
    data = np.concatenate([[0.0], counts, [drawn.overflow]]).astype(np.float32)
    total = counts.sum()
    return to_TH1x(
        spec.path.rsplit("/", 1)[-1],
        spec.title,
        data,
        drawn.entries,
        total,
        total,
        (counts * centres).sum(),
        (counts * centres**2).sum(),
        None,
        _root_axis("xaxis", spec.x),
    )


def _to_th2f(drawn: DrawnHistogram):
    spec, counts = drawn.spec, drawn.counts
    x, y = np.meshgrid(spec.x.centres(), spec.y.centres(), indexing="ij")
    padded = np.zeros((spec.x.bins + 2, spec.y.bins + 2))
    padded[1:-1, 1:-1] = counts
    total = counts.sum()
    moments = [(counts * values).sum() for values in (x, x**2, y, y**2, x * y)]
    # ROOT stores 2D contents with x running fastest, flow bins included.
    data = padded.ravel(order="F").astype(np.float32)
    return to_TH2x(
        spec.path.rsplit("/", 1)[-1],
        spec.title,
        data,
        drawn.entries,
        total,
        total,
        *moments,
        None,
        _root_axis("xaxis", spec.x),
        _root_axis("yaxis", spec.y),
    )


def _write_event_info(root_file, run: int) -> None:
    folder = root_file.mkdir(EVENT_INFO_FOLDER.format(run=run))
    # DQM stores an integer monitor element as a TObjString named
    # "<name>i=value</name>". Item assignment would read the "/" as a folder
    # separator, so the key is added to the folder directly. The TObjString
    # streamer is not recorded, which ROOT and uproot do not need.
    name = f"<iRun>i={run}</iRun>"
    add_to_directory(name, name, folder, [])


def write_run_file(path, run: int, histograms: dict[str, DrawnHistogram]) -> Path:
    """Write one offline DQM file holding the given histograms of a run."""
    folder = MONITOR_FOLDER.format(run=run)
    objects = {
        f"{folder}/{hist_path}": _to_th2f(drawn) if drawn.spec.is_2d else _to_th1f(drawn)
        for hist_path, drawn in histograms.items()
    }
    with uproot.recreate(path) as root_file:
        root_file.update(objects)
        _write_event_info(root_file, run)
    return Path(path)


def write_demo_files(directory, description=None) -> list[Path]:
    """Write one offline DQM file per reference and data run of the demo.

    ``description`` is a description dict, a path to a JSON file, or None for
    ``fixtures/demo.json``. The folder is created when missing. Returns the
    file paths, reference runs first.
    """
    description = _resolve_description(description)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for run_entry in description["reference_runs"] + description["data_runs"]:
        path = directory / demo_file_name(run_entry["run"], description)
        write_run_file(path, run_entry["run"], draw_run(run_entry, description["seed"]))
        paths.append(path)
    logger.info("Wrote %d demo DQM files to %s", len(paths), directory)
    return paths


_NOT_ROOT_TEXT = """<!DOCTYPE html>
<html>
<head><title>401 Unauthorized</title></head>
<body>
<h1>Unauthorized</h1>
<p>A valid grid certificate is required to download {name}.</p>
</body>
</html>
"""


def write_corrupt_examples(directory, description=None) -> list[Path]:
    """Write two bad inputs named like demo DQM files, for tests of error reports.

    The first is a demo file of a good run cut to half its size, as an
    interrupted download leaves it. The second is an HTML error page saved
    under a DQM file name. Their run numbers come from ``corrupt_examples`` in
    the description. Returns [truncated file, text file].
    """
    description = _resolve_description(description)
    corrupt = description.get("corrupt_examples")
    if not corrupt or "truncated_run" not in corrupt or "not_root_run" not in corrupt:
        msg = "demo description: corrupt_examples needs truncated_run and not_root_run"
        raise ValueError(msg)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    run = corrupt["truncated_run"]
    truncated = directory / demo_file_name(run, description)
    write_run_file(truncated, run, draw_run({"run": run}, description["seed"]))
    content = truncated.read_bytes()
    truncated.write_bytes(content[: len(content) // 2])

    text = directory / demo_file_name(corrupt["not_root_run"], description)
    text.write_text(_NOT_ROOT_TEXT.format(name=text.name), encoding="utf-8")
    return [truncated, text]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Write the demo DQM files of the AutoDQM site.")
    parser.add_argument("folder", type=Path, help="folder for the ROOT files, created when missing")
    parser.add_argument(
        "--description", type=Path, default=DEFAULT_DESCRIPTION, help="demo description JSON file"
    )
    parser.add_argument(
        "--corrupt",
        action="store_true",
        help="also write a truncated file and a text file named like DQM files",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    paths = write_demo_files(args.folder, args.description)
    if args.corrupt:
        paths += write_corrupt_examples(args.folder, args.description)
    for path in paths:
        print(path)


if __name__ == "__main__":
    main()
