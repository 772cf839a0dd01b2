"""Tests of the histogram figures: files, frames, pull panels, pull maps and labels."""

from dataclasses import dataclass, field

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from PIL import Image

from comparisons import plotting
from comparisons.plotting import PlotInfo, draw, draw_pdf, draw_png, make_figure, root_text

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"


@dataclass
class FakeHistogram:
    """Stand-in with the attributes of runs.rootio.Histogram."""

    name: str
    path: str
    classname: str
    values: np.ndarray
    xedges: np.ndarray
    yedges: np.ndarray | None = None
    xlabels: list | None = None
    ylabels: list | None = None
    entries: float = 0.0
    title: str = ""
    xtitle: str = ""
    ytitle: str = ""

    @property
    def ndim(self):
        return self.values.ndim


@dataclass
class FakeResult:
    """Stand-in with the attributes of a comparator result."""

    comparator: str = "beta_binomial"
    chi2: float | None = None
    max_pull: float | None = None
    ks: float | None = None
    p_value: float | None = None
    is_outlier: bool = False
    thresholds: dict = field(default_factory=dict)
    pulls: np.ndarray | None = None
    reference: np.ndarray | None = None
    data_used: np.ndarray | None = None
    bin_range: tuple | None = None
    n_used: int | None = None
    entries_data: float = 0.0
    entries_refs: list = field(default_factory=list)
    note: str | None = None


BB_CUTS = {"chi2_cut": 10.0, "pull_cut": 10.0, "pull_cap": 10.0, "min_entries": 1}


def gaussian_1d(n_bins=60, excess=0.0, seed=1):
    """Return a 1D histogram and a beta_binomial-like result over all its bins."""
    rng = np.random.default_rng(seed)
    edges = np.linspace(-5.0, 5.0, n_bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    reference = 2000.0 * np.exp(-0.5 * centres**2) + 2.0
    data = rng.poisson(reference * (1 + excess * (centres > 1))).astype(float)
    pulls = (data - reference) / np.sqrt(reference + 1)
    hist = FakeHistogram("hWireTBin", "CSC/Digis/hWireTBin", "TH1F", data, edges,
                         xtitle="time bin", ytitle="entries")
    result = FakeResult(
        chi2=float(np.mean(pulls**2)), max_pull=float(pulls[np.argmax(np.abs(pulls))]),
        is_outlier=excess > 0, thresholds=dict(BB_CUTS), pulls=pulls, reference=reference,
        data_used=data, bin_range=(0, n_bins - 1), n_used=n_bins, entries_data=float(data.sum()),
    )
    return hist, result


def occupancy_2d(nx=36, ny=10, hot=False, seed=2):
    """Return a 2D histogram and a pull_values-like result; x bins 0 and 1 are empty everywhere."""
    rng = np.random.default_rng(seed)
    reference = np.full((nx, ny), 100.0)
    reference[:2, :] = 0.0
    data = rng.poisson(reference).astype(float)
    if hot:
        data[10:14, 3:6] *= 3
    pulls = (data - reference) / np.sqrt(reference + 1)
    hist = FakeHistogram("occupancy", "DT/occupancy", "TH2F", data, np.linspace(0, 360, nx + 1),
                         yedges=np.linspace(-2.5, 2.5, ny + 1), xtitle="sector", ytitle="wheel")
    result = FakeResult(
        comparator="pull_values", chi2=float(np.mean(pulls**2)), max_pull=float(np.abs(pulls).max()),
        is_outlier=hot, thresholds={"chi2_cut": 500.0, "pull_cut": 20.0, "pull_cap": 25.0},
        pulls=pulls, reference=reference, data_used=data, n_used=data.size,
        entries_data=float(data.sum()),
    )
    return hist, result


def plot_info(**overrides):
    values = dict(
        path="CSC/Digis/hWireTBin", subsystem="CSC",
        data_label="355200 ZeroBias/Run2022C-PromptReco-v1",
        reference_labels=["355100 ZeroBias/Run2022C-PromptReco-v1", "355101 ZeroBias/Run2022C-PromptReco-v1"],
        comparator="beta_binomial",
    )
    values.update(overrides)
    return PlotInfo(**values)


def read_rgb(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def hex_rgb(colour):
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])


def texts_of(fig):
    found = [text.get_text() for text in fig.texts]
    for ax in fig.axes:
        found += [text.get_text() for text in ax.texts]
    return found


# --- files ------------------------------------------------------------------


def test_draw_writes_png_and_pdf(tmp_path):
    hist, result = gaussian_1d(excess=0.3)
    png, pdf = tmp_path / "h.png", tmp_path / "h.pdf"
    draw(hist, result, plot_info(), png_path=png, pdf_path=pdf)
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert pdf.read_bytes()[:5] == PDF_MAGIC
    assert pdf.stat().st_size > 1000
    with Image.open(png) as image:
        assert image.size == (700, 600)


def test_draw_png_only_leaves_no_other_files(tmp_path):
    hist, result = gaussian_1d()
    draw_png(hist, result, plot_info(), tmp_path / "h.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.png"]


def test_draw_pdf_wrapper(tmp_path):
    hist, result = gaussian_1d()
    draw_pdf(hist, result, plot_info(), tmp_path / "h.pdf")
    assert (tmp_path / "h.pdf").read_bytes()[:5] == PDF_MAGIC
    assert not (tmp_path / "h.png").exists()


def test_draw_without_path_raises():
    hist, result = gaussian_1d()
    with pytest.raises(ValueError, match="CSC/Digis/hWireTBin"):
        draw(hist, result, plot_info())


def test_draw_replaces_existing_file(tmp_path):
    png = tmp_path / "h.png"
    png.write_bytes(b"old")
    hist, result = gaussian_1d()
    draw_png(hist, result, plot_info(), png)
    assert png.read_bytes()[:8] == PNG_MAGIC


# --- frame ------------------------------------------------------------------


def test_outlier_frame_differs_from_ok_frame(tmp_path):
    hist, ok_result = gaussian_1d()
    _, bad_result = gaussian_1d(excess=0.3)
    draw_png(hist, ok_result, plot_info(), tmp_path / "ok.png")
    draw_png(hist, bad_result, plot_info(), tmp_path / "bad.png")
    ok_pixels, bad_pixels = read_rgb(tmp_path / "ok.png"), read_rgb(tmp_path / "bad.png")
    vermillion = hex_rgb(plotting.OUTLIER_COLOUR)
    # Points 8 px inside the left, right, top and bottom edges, half way along.
    for row, col in [(300, 8), (300, 691), (8, 350), (591, 350)]:
        assert np.abs(bad_pixels[row, col] - vermillion).max() <= 3
        assert np.abs(ok_pixels[row, col] - vermillion).max() > 100


def test_outlier_frame_visible_at_thumbnail_size(tmp_path):
    hist, result = gaussian_1d(excess=0.3)
    draw_png(hist, result, plot_info(), tmp_path / "bad.png")
    with Image.open(tmp_path / "bad.png") as image:
        thumbnail = np.asarray(image.convert("RGB").resize((240, 206), Image.LANCZOS)).astype(int)
    vermillion = hex_rgb(plotting.OUTLIER_COLOUR)
    # At least 4 thumbnail pixels of frame on the left edge.
    assert all(np.abs(thumbnail[100, col] - vermillion).max() <= 20 for col in range(4))


def test_not_comparable_frame_is_grey(tmp_path):
    hist, _ = gaussian_1d()
    draw_png(hist, None, plot_info(), tmp_path / "none.png", reason="no reference with the same binning")
    pixel = read_rgb(tmp_path / "none.png")[300, 2]
    assert np.abs(pixel - hex_rgb(plotting.NOT_COMPARABLE_COLOUR)).max() <= 3


# --- 1D ---------------------------------------------------------------------


def test_1d_header_shows_scores_and_badge():
    hist, result = gaussian_1d(excess=0.3)
    texts = texts_of(make_figure(hist, result, plot_info()))
    assert "OUTLIER" in texts
    assert any(text.startswith("\u03c7\u00b2 = ") and "(cut 10)" in text for text in texts)
    assert any(text.startswith("max pull = ") for text in texts)
    assert "hWireTBin" in texts


def test_1d_pull_bars_clipped_to_cap():
    hist, result = gaussian_1d(excess=0.5)
    result.pulls[5] = 40.0
    fig = make_figure(hist, result, plot_info(pull_cap=5.0))
    pull_axes = fig.axes[1]
    bars = [c for c in pull_axes.collections if isinstance(c, PolyCollection)][0]
    heights = np.array([path.vertices[1, 1] for path in bars.get_paths()])
    assert len(heights) == 60
    assert heights.max() == pytest.approx(5.0)
    assert pull_axes.get_ylim() == pytest.approx((-5.5, 5.5))


def test_1d_pull_cut_lines_dashed():
    hist, result = gaussian_1d()
    result.thresholds["pull_cut"] = 5.0
    pull_axes = make_figure(hist, result, plot_info()).axes[1]
    dashed = [line for line in pull_axes.get_lines() if line.get_linestyle() == "--"]
    assert sorted(line.get_ydata()[0] for line in dashed) == [-5.0, 5.0]


def test_1d_bin_range_crops_x_axis():
    hist, result = gaussian_1d(n_bins=60)
    keep = slice(10, 40)
    result.data_used = result.data_used[keep]
    result.reference = result.reference[keep]
    result.pulls = result.pulls[keep]
    result.bin_range = (10, 39)
    fig = make_figure(hist, result, plot_info())
    assert fig.axes[1].get_xlim() == pytest.approx((hist.xedges[10], hist.xedges[40]))


def test_1d_concatenated_bins_drawn_by_index():
    hist, result = gaussian_1d(n_bins=20)
    for name in ("data_used", "reference", "pulls"):
        setattr(result, name, np.concatenate([getattr(result, name)] * 2))
    result.bin_range = None
    fig = make_figure(hist, result, plot_info())
    assert fig.axes[1].get_xlim() == pytest.approx((0, 40))
    assert fig.axes[1].get_xlabel() == "bin of the concatenated histograms"


def test_1d_log_axes(tmp_path):
    hist, result = gaussian_1d()
    hist.xedges = np.logspace(0, 3, len(hist.xedges))
    result.data_used[:5] = 0.0
    info = plot_info(logx=True, logy=True)
    fig = make_figure(hist, result, info)
    assert fig.axes[0].get_yscale() == "log"
    assert fig.axes[1].get_xscale() == "log"
    assert fig.axes[0].get_ylim()[0] > 0
    draw_png(hist, result, info, tmp_path / "log.png")
    assert (tmp_path / "log.png").read_bytes()[:8] == PNG_MAGIC


def test_1d_log_x_with_zero_low_edge(tmp_path):
    hist, result = gaussian_1d()
    hist.xedges = np.linspace(0, 100, len(hist.xedges))
    fig = make_figure(hist, result, plot_info(logx=True))
    assert fig.axes[1].get_xlim()[0] == pytest.approx(hist.xedges[1])
    draw_png(hist, result, plot_info(logx=True), tmp_path / "log.png")


def test_1d_bin_labels_follow_bin_range():
    hist, result = gaussian_1d(n_bins=20)
    hist.xlabels = [f"bin{i}" for i in range(20)]
    keep = slice(5, 15)
    for name in ("data_used", "reference", "pulls"):
        setattr(result, name, getattr(result, name)[keep])
    result.bin_range = (5, 14)
    fig = make_figure(hist, result, plot_info())
    tick_texts = [tick.get_text() for tick in fig.axes[1].get_xticklabels()]
    assert tick_texts == [f"bin{i}" for i in range(5, 15)]


def test_1d_config_labels_override_file_labels():
    hist, result = gaussian_1d(n_bins=20)
    hist.xlabels = [f"file{i}" for i in range(20)]
    fig = make_figure(hist, result, plot_info(xlabels=[f"cfg{i}" for i in range(20)]))
    tick_texts = [tick.get_text() for tick in fig.axes[1].get_xticklabels()]
    assert tick_texts[0] == "cfg0"


def test_1d_many_labels_thinned():
    hist, result = gaussian_1d(n_bins=300)
    hist.xlabels = [f"L{i}" for i in range(300)]
    fig = make_figure(hist, result, plot_info())
    assert len(fig.axes[1].get_xticklabels()) <= plotting.MAX_TICK_LABELS


def test_1d_ks_result_draws_cumulative_difference():
    hist, result = gaussian_1d(excess=0.3)
    result.comparator = "ks_test"
    result.pulls, result.chi2, result.max_pull = None, None, None
    result.ks, result.p_value = 0.17, 1e-6
    result.thresholds = {"ks_cut": 0.1, "min_entries": 10}
    fig = make_figure(hist, result, plot_info(comparator="ks_test"))
    assert fig.axes[1].get_ylabel() == "\u0394 cumulative"
    assert any(text.startswith("KS = 0.17") for text in texts_of(fig))


def test_1d_too_few_entries_noted():
    hist, result = gaussian_1d()
    result.thresholds["min_entries"] = 1e9
    texts = texts_of(make_figure(hist, result, plot_info()))
    assert any(text.startswith("ok: entries") for text in texts)


def test_1d_not_comparable_shows_data_and_reason(tmp_path):
    hist, _ = gaussian_1d()
    fig = make_figure(hist, None, plot_info(), reason="no reference with the same binning")
    assert len(fig.axes) == 1
    assert any("no reference with the same binning" in text for text in texts_of(fig))
    assert "not comparable" in texts_of(fig)
    draw_png(hist, None, plot_info(), tmp_path / "none.png", reason="no reference")


def test_1d_empty_histogram(tmp_path):
    hist = FakeHistogram("empty", "x/empty", "TH1F", np.zeros(10), np.arange(11.0))
    draw_png(hist, None, plot_info(logy=True), tmp_path / "empty.png", reason="data histogram is empty")
    assert (tmp_path / "empty.png").stat().st_size > 0


# --- 2D ---------------------------------------------------------------------


def test_2d_pull_map_blank_where_both_empty():
    hist, result = occupancy_2d()
    ax = make_figure(hist, result, plot_info(comparator="pull_values")).axes[0]
    pull_map = np.ma.filled(ax.images[0].get_array().astype(float), np.nan).T
    assert np.isnan(pull_map[:2, :]).all()
    assert np.isfinite(pull_map[2:, :]).all()


def test_2d_pull_map_colour_range_is_cap():
    hist, result = occupancy_2d(hot=True)
    ax = make_figure(hist, result, plot_info(comparator="pull_values")).axes[0]
    norm = ax.images[0].norm
    assert (norm.vmin, norm.vmax) == (-25.0, 25.0)


def test_2d_non_uniform_edges_use_mesh(tmp_path):
    hist, result = occupancy_2d()
    hist.yedges = np.array([-2.5, -2.0, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 1.5, 2.0, 2.5])
    fig = make_figure(hist, result, plot_info())
    assert not fig.axes[0].images
    assert fig.axes[0].collections
    draw_png(hist, result, plot_info(), tmp_path / "mesh.png")


def test_2d_bin_labels(tmp_path):
    hist, result = occupancy_2d(nx=18, ny=6, hot=False)
    hist.xlabels = [f"ME+{i}/1" for i in range(18)]
    hist.ylabels = ["", "ch 2", "ch 3", "ch 4", "ch 5", "ch 6"]
    fig = make_figure(hist, result, plot_info())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == hist.xlabels
    assert [t.get_text() for t in ax.get_yticklabels()] == hist.ylabels
    draw_png(hist, result, plot_info(), tmp_path / "labels.png")


def test_2d_not_comparable_draws_contents(tmp_path):
    hist, _ = occupancy_2d()
    fig = make_figure(hist, None, plot_info(), reason="reference has other binning")
    assert any("reference has other binning" in text for text in texts_of(fig))
    assert fig.axes[0].images[0].cmap.name.startswith("viridis")
    png, pdf = tmp_path / "none.png", tmp_path / "none.pdf"
    draw(hist, None, plot_info(), png_path=png, pdf_path=pdf, reason="reference has other binning")
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert pdf.read_bytes()[:5] == PDF_MAGIC


def test_2d_all_empty_histogram(tmp_path):
    hist = FakeHistogram("empty2d", "x/empty2d", "TH2F", np.zeros((4, 3)), np.arange(5.0),
                         yedges=np.arange(4.0))
    draw_png(hist, None, plot_info(), tmp_path / "empty.png", reason="data histogram is empty")
    assert (tmp_path / "empty.png").stat().st_size > 0


def test_2d_outlier_frame(tmp_path):
    hist, result = occupancy_2d(hot=True)
    draw_png(hist, result, plot_info(), tmp_path / "bad.png")
    pixel = read_rgb(tmp_path / "bad.png")[300, 8]
    assert np.abs(pixel - hex_rgb(plotting.OUTLIER_COLOUR)).max() <= 3


# --- text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("#eta vs #phi", "\u03b7 vs \u03c6"),
        ("p_{T} [GeV]", "p_T [GeV]"),
        ("#Delta#sigma", "\u0394\u03c3"),
        ("cost in $", "cost in \\$"),
        ("#unknown", "unknown"),
        ("", ""),
    ],
)
def test_root_text(raw, expected):
    assert root_text(raw) == expected


def test_title_with_dollars_renders(tmp_path):
    hist, result = gaussian_1d()
    draw_png(hist, result, plot_info(plot_title="$\\frac{a}{"), tmp_path / "dollar.png")
    assert (tmp_path / "dollar.png").stat().st_size > 0
