"""Draw trend figures: one histogram's scores across runs, or a subsystem's flagged fraction per run.

Plain matplotlib with no Django import: callers pass lists, one entry per run
in increasing run order, and get a Figure or PNG bytes back. As in
``comparisons.plotting``, only ``Figure`` and the Agg canvas are used, so
several threads can draw at once, and the colours are Okabe-Ito.

The x axis is either "even" (runs evenly spaced, labelled with their
numbers) or "linear" (run numbers to scale, so gaps between runs show).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, ScalarFormatter

# Okabe-Ito palette.
BLUE = "#0072B2"
SKY_BLUE = "#56B4E9"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
BLUISH_GREEN = "#009E73"
REDDISH_PURPLE = "#CC79A7"
GREY = "#7F7F7F"
BLACK = "#000000"

SCALES = ("even", "linear")
WIDTH = 9.0  # inches
PANEL_HEIGHT = 1.9  # inches per score panel
STRIP_HEIGHT = 0.55  # inches for the annotation strip
MARGIN_HEIGHT = 1.5  # inches for the title and the run labels
DPI = 100
MAX_RUN_LABELS = 40

# Marker, colour and legend label of each annotation verdict, in the strip above the panels.
VERDICT_MARKERS = {
    "problem": ("X", VERMILLION, "problem"),
    "known_issue": ("s", ORANGE, "known issue"),
    "false_alarm": ("o", SKY_BLUE, "false alarm"),
    "fine": ("^", BLUISH_GREEN, "fine"),
}
# Marker, colour and legend label of each run verdict (good or bad for the subsystem), below the annotations.
QUALITY_MARKERS = {
    "good": ("|", BLUISH_GREEN, "run good"),
    "bad": ("|", REDDISH_PURPLE, "run bad (shaded)"),
}
VERDICT_ROW, QUALITY_ROW = 0.72, 0.25


@dataclass
class HistogramTrend:
    """Scores of one histogram, one entry per run; None where a run has no value."""

    title: str
    runs: Sequence[int]
    chi2: Sequence[float | None]
    max_pull: Sequence[float | None]
    entries: Sequence[float | None]
    ks: Sequence[float | None] = ()
    chi2_cut: Sequence[float | None] = ()
    pull_cut: Sequence[float | None] = ()
    ks_cut: Sequence[float | None] = ()
    outlier: Sequence[bool] = ()
    comparable: Sequence[bool] = ()
    annotations: Sequence[str] = ()
    run_quality: Sequence[str] = ()


@dataclass
class SubsystemTrend:
    """Fractions of a subsystem's results flagged per run (0 to 1)."""

    title: str
    runs: Sequence[int]
    outlier_fraction: Sequence[float | None]
    not_comparable_fraction: Sequence[float | None]
    run_quality: Sequence[str] = ()


@dataclass
class _Panel:
    label: str
    values: np.ndarray
    cuts: np.ndarray | None = None
    log: bool = False
    legend: list = field(default_factory=list)


# --- public entry points -----------------------------------------------------


def histogram_trend_figure(trend: HistogramTrend, scale: str = "even") -> Figure:
    """Build the figure of one histogram's chi2, |max pull|, KS distance and entries across runs."""
    x = run_positions(trend.runs, scale)
    panels = _histogram_panels(trend)
    fig = _new_figure(len(panels), PANEL_HEIGHT)
    if not len(x):
        return _empty(fig, trend.title, "No finished comparison has scored this histogram yet.")
    strip, axes = _layout(fig, len(panels))
    status = _point_status(trend)
    for ax, panel in zip(axes, panels):
        _draw_panel(ax, x, panel, status)
    quality = _padded(trend.run_quality, len(x), "")
    _draw_annotation_strip(strip, x, _padded(trend.annotations, len(x), ""), quality)
    _shade_bad_runs(axes, x, quality)
    _finish(fig, strip, axes, x, trend.runs, scale, trend.title)
    return fig


def subsystem_trend_figure(trend: SubsystemTrend, scale: str = "even") -> Figure:
    """Build the figure of the fraction of flagged histograms per run, outliers stacked under not comparable."""
    x = run_positions(trend.runs, scale)
    fig = _new_figure(1, 2 * PANEL_HEIGHT)
    if not len(x):
        return _empty(fig, trend.title, "No finished comparison of this subsystem yet.")
    strip, axes = _layout(fig, 1)
    ax = axes[0]
    outliers = 100 * _as_array(trend.outlier_fraction)
    others = 100 * _as_array(trend.not_comparable_fraction)
    width = _bar_width(x)
    ax.bar(x, np.nan_to_num(outliers), width=width, color=VERMILLION, label="outliers")
    ax.bar(x, np.nan_to_num(others), width=width, bottom=np.nan_to_num(outliers), color=ORANGE,
           label="not comparable")
    top = np.nanmax(np.concatenate([outliers + np.nan_to_num(others), [0.0]]))
    ax.set_ylim(0, max(5.0, min(100.0, top * 1.15)))
    ax.set_ylabel("flagged (%)")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=2)
    quality = _padded(trend.run_quality, len(x), "")
    _draw_annotation_strip(strip, x, None, quality)
    _shade_bad_runs(axes, x, quality)
    _finish(fig, strip, axes, x, trend.runs, scale, trend.title)
    return fig


def figure_png(fig: Figure) -> bytes:
    """Render `fig` as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def run_positions(runs: Sequence[int], scale: str) -> np.ndarray:
    """Return the x position of each run: its index ("even") or its number ("linear")."""
    if scale not in SCALES:
        msg = f"unknown x scale {scale!r}; use one of {', '.join(SCALES)}"
        raise ValueError(msg)
    if scale == "linear":
        return np.asarray(runs, dtype=float)
    return np.arange(len(runs), dtype=float)


# --- layout --------------------------------------------------------------------


def _new_figure(n_panels, panel_height):
    height = MARGIN_HEIGHT + STRIP_HEIGHT + panel_height * n_panels
    fig = Figure(figsize=(WIDTH, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _layout(fig, n_panels):
    """Add the annotation strip and `n_panels` axes sharing x, top to bottom."""
    height = fig.get_figheight()
    top = 1 - 0.55 / height
    bottom = 0.95 / height
    strip_height = STRIP_HEIGHT / height
    gap = 0.06 / height
    panel_height = (top - bottom - strip_height - gap * n_panels) / n_panels
    strip = fig.add_axes((0.09, top - strip_height, 0.87, strip_height))
    axes = []
    for index in range(n_panels):
        upper = top - strip_height - gap * (index + 1) - panel_height * index
        axes.append(fig.add_axes((0.09, upper - panel_height, 0.87, panel_height)))
    return strip, axes


def _empty(fig, title, message):
    fig.text(0.5, 0.94, title, ha="center", fontsize=12, fontweight="bold")
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=GREY)
    return fig


def _finish(fig, strip, axes, x, runs, scale, title):
    fig.text(0.09, 1 - 0.22 / fig.get_figheight(), title, fontsize=12, fontweight="bold", va="center")
    # The axes do not share x: matplotlib would build every run label's tick on
    # each of them, which took most of the drawing time. They get equal limits.
    pad = max(0.6, 0.02 * (x[-1] - x[0]))
    for ax in [strip, *axes]:
        ax.set_xlim(x[0] - pad, x[-1] + pad)
    for ax in [strip, *axes[:-1]]:
        ax.set_xticks([])
    low = axes[-1]
    _set_run_axis(low, x, runs, scale)
    low.set_xlabel("run" if scale == "linear" else "run (evenly spaced)")
    for ax in axes:
        ax.tick_params(direction="in", top=True, right=True, labelsize=8)
        ax.grid(axis="y", color="#E3E3E3", linewidth=0.6)
        ax.set_axisbelow(True)


def _set_run_axis(ax, x, runs, scale):
    if scale == "linear":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        ax.xaxis.set_major_formatter(formatter)
        return
    step = max(1, math.ceil(len(runs) / MAX_RUN_LABELS))
    index = list(range(0, len(runs), step))
    ax.set_xticks(x[index], [str(runs[i]) for i in index], rotation=90, fontsize=7)


# --- panels --------------------------------------------------------------------


def _histogram_panels(trend):
    n = len(trend.runs)
    pulls = _as_array(trend.max_pull)
    panels = [
        _Panel("chi2", _as_array(trend.chi2), _cuts(trend.chi2_cut, n)),
        _Panel("|max pull|", np.abs(pulls), _cuts(trend.pull_cut, n)),
    ]
    ks = _as_array(trend.ks) if len(trend.ks) else np.full(n, np.nan)
    if np.isfinite(ks).any():
        panels.append(_Panel("KS distance", ks, _cuts(trend.ks_cut, n)))
    entries = _as_array(trend.entries)
    panels.append(_Panel("entries", entries, None, log=_wants_log(entries)))
    return panels


def _as_array(values):
    return np.array([np.nan if value is None else float(value) for value in values], dtype=float)


def _padded(values, n, default):
    values = list(values)
    return values + [default] * (n - len(values))


def _cuts(values, n):
    if not len(values):
        return None
    cuts = _as_array(values)
    return cuts if np.isfinite(cuts).any() else None


def _wants_log(values):
    positive = values[np.isfinite(values) & (values > 0)]
    return positive.size > 1 and positive.max() / positive.min() > 100


def _point_status(trend):
    n = len(trend.runs)
    outlier = np.array(_padded(trend.outlier, n, False), dtype=bool)
    comparable = np.array(_padded(trend.comparable, n, True), dtype=bool)
    return {"outlier": outlier, "not_comparable": ~comparable & ~outlier, "ok": comparable & ~outlier}


def _draw_panel(ax, x, panel, status):
    finite = np.isfinite(panel.values)
    ax.plot(x[finite], panel.values[finite], color="#BBBBBB", linewidth=0.8, zorder=1)
    styles = {
        "ok": dict(marker="o", color=BLUE, markersize=4),
        "outlier": dict(marker="o", color=VERMILLION, markersize=6),
        "not_comparable": dict(marker="o", markerfacecolor="white", markeredgecolor=GREY, markersize=5),
    }
    for name, style in styles.items():
        chosen = status[name] & finite
        if chosen.any():
            ax.plot(x[chosen], panel.values[chosen], linestyle="none", zorder=3, **style)
    if panel.cuts is not None:
        _draw_cuts(ax, x, panel.cuts)
    if panel.log:
        ax.set_yscale("log")
    else:
        top = np.nanmax(np.concatenate([panel.values[finite], _finite(panel.cuts), [0.0]]))
        ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
    ax.set_ylabel(panel.label, fontsize=10)


def _finite(values):
    if values is None:
        return np.array([])
    return values[np.isfinite(values)]


def _draw_cuts(ax, x, cuts):
    """Draw the threshold as a dashed line that steps where the config changed it."""
    ax.step(x, cuts, where="mid", color=BLACK, linestyle="--", linewidth=1.0, zorder=2)
    values = _finite(cuts)
    if values.size and np.all(values == values[0]):
        ax.text(1.005, values[0], f"cut {values[0]:g}", transform=ax.get_yaxis_transform(),
                fontsize=7, va="center", ha="left")


def _bar_width(x):
    if len(x) < 2:
        return 0.8
    return 0.8 * float(np.min(np.diff(x)))


# --- annotations and run verdicts ----------------------------------------------


def _draw_annotation_strip(ax, x, annotations, quality):
    """Mark annotated runs with a symbol per verdict (upper row) and run verdicts (lower row).

    `annotations` is None where the figure has no per-histogram verdicts; the
    run verdicts then take the middle of the strip.
    """
    ax.set_ylim(0, 1)
    ax.tick_params(axis="y", length=0)
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    if annotations is None:
        ax.set_yticks([0.5], ["run verdict"], fontsize=7)
        handles = _draw_marks(ax, x, np.array(quality, dtype=object), QUALITY_MARKERS, 0.5)
    else:
        ax.set_yticks([VERDICT_ROW, QUALITY_ROW], ["annotation", "run verdict"], fontsize=7)
        handles = _draw_marks(ax, x, np.array(annotations, dtype=object), VERDICT_MARKERS, VERDICT_ROW)
        handles += _draw_marks(ax, x, np.array(quality, dtype=object), QUALITY_MARKERS, QUALITY_ROW)
    if handles:
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(handles),
                  fontsize=7, frameon=False, handletextpad=0.2, columnspacing=0.8)


def _draw_marks(ax, x, values, markers, row):
    handles = []
    for value, (marker, colour, label) in markers.items():
        chosen = values == value
        if chosen.any():
            ax.plot(x[chosen], np.full(chosen.sum(), row), linestyle="none", marker=marker, color=colour,
                    markersize=6, markeredgewidth=2 if marker == "|" else 1)
            handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, label=label))
    return handles


def _shade_bad_runs(axes, x, quality):
    bad = np.array(quality, dtype=object) == "bad"
    if not bad.any():
        return
    half = _bar_width(x) / 0.8 / 2
    for ax in axes:
        for position in x[bad]:
            ax.axvspan(position - half, position + half, color=REDDISH_PURPLE, alpha=0.18, linewidth=0, zorder=0)
