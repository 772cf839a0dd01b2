"""Every subsystem config option, end to end: ROOT files, config import, run_comparison, stored rows.

Each test writes tiny DQM files with uproot, imports a config with
import_config and runs a real comparison. Where a rule option is tested, the
same contents are written under two names, one scored with the option and one
without, so each test fails when the option has no effect.
"""

import numpy as np
import pytest
import uproot

from comparisons import artifacts
from comparisons.artifact_text import parse_result_text
from comparisons.comparators import ComparatorResult, beta_binomial, ks_test, pull_values, register
from comparisons.comparators import registry
from comparisons.config_io import ConfigError, import_config
from comparisons.models import Comparison
from comparisons.requests import create_comparison, resolve_request
from comparisons.tasks import run_comparison
from runs.registry import scan_folder

pytestmark = pytest.mark.django_db

DATA_RUN = 2
REF_RUNS = (1, 3)
MAIN_GDIR = "DQMData/Run {0}/Opts/Run summary/"
EDGES = np.linspace(0.0, 10.0, 21)
SHAPE = np.exp(-0.5 * ((0.5 * (EDGES[:-1] + EDGES[1:]) - 5.0) / 2.5) ** 2)


def _sample(seed, total=5e4, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return rng.poisson(total * shape / shape.sum()).astype(np.float64)


def _with_hot_bin(values, index, factor=3.0):
    hot = values.copy()
    hot[index] *= factor
    return hot


class TinySite:
    """DQM files of one data run and two reference runs, written on the first comparison."""

    def __init__(self, folder):
        self.folder = folder
        self.runs = {run: {} for run in (DATA_RUN, *REF_RUNS)}
        self.written = False

    def add(self, name, data, refs, edges=EDGES, yedges=None):
        """Add histogram `name` with `data` in the data run and `refs[i]` in reference run REF_RUNS[i]."""
        for run, values in zip((DATA_RUN, *REF_RUNS), (data, *refs)):
            axes = (edges,) if yedges is None else (edges, yedges)
            self.runs[run][name] = (np.asarray(values, dtype=np.float64), *axes)

    def _write(self):
        for run, histograms in self.runs.items():
            path = self.folder / f"DQM_V0001_R{run:09d}__Tiny__Era-Proc__DQMIO.root"
            with uproot.recreate(path) as handle:
                for name, value in histograms.items():
                    handle[MAIN_GDIR.format(run) + name] = value
        scan_folder(self.folder)
        self.written = True

    def compare(self, config, n_refs=1, name="Opts"):
        """Import `config` (main_gdir added) as subsystem `name`, compare, and return the Comparison."""
        import_config(name, {"main_gdir": MAIN_GDIR, **config})
        return self.run(name, n_refs)

    def run(self, name, n_refs=1, draw_plots=True):
        """Compare the data run with the first `n_refs` reference runs under the stored config `name`."""
        if not self.written:
            self._write()
        refs = ",".join(str(run) for run in REF_RUNS[:n_refs])
        comparison = create_comparison(resolve_request(name, str(DATA_RUN), refs))
        run_comparison(comparison.pk, draw_plots=draw_plots)
        comparison.refresh_from_db()
        assert comparison.status == Comparison.DONE, comparison.error
        return comparison


def _rows(comparison):
    """Return {histogram: row} of a comparison scored by one comparator per histogram."""
    rows = {}
    for row in comparison.results.all():
        assert row.histogram not in rows, f"{row.histogram} has several results"
        rows[row.histogram] = row
    return rows


def _txt(row):
    return parse_result_text(artifacts.ensure(row, "txt").read_text(encoding="utf-8"))


@pytest.fixture
def site(site_dirs, db):
    return TinySite(site_dirs.ADQM_DB)


@pytest.fixture
def drawn(monkeypatch):
    """Record the PlotInfo of every figure drawn, then draw it for real."""
    calls = {}
    real_draw = artifacts.draw

    def record(hist, result, info, png_path=None, pdf_path=None, *, reason=None):
        calls[info.path] = info
        real_draw(hist, result, info, png_path=png_path, pdf_path=pdf_path, reason=reason)

    monkeypatch.setattr(artifacts, "draw", record)
    return calls


@pytest.fixture
def clean_registry():
    saved = dict(registry._registry)
    yield
    registry._registry.clear()
    registry._registry.update(saved)


# --- range and shape options -------------------------------------------------


def test_xmin_drops_low_bins(site):
    data, ref = _with_hot_bin(_sample(1), 1), _sample(2)
    site.add("hot_low", data, [ref])
    site.add("hot_low_cut", data, [ref])
    rows = _rows(site.compare({"hists": [{"path": "hot_low"}, {"path": "hot_low_cut", "xmin": 2}]}))

    full, cut = rows["hot_low"], rows["hot_low_cut"]
    assert full.n_used == 20
    assert full.outlier is True
    # Bins whose low edge is below 2 (bins 0 to 3, with the hot bin 1) are dropped.
    assert cut.n_used == 16
    assert cut.outlier is False
    expected = beta_binomial(data, [ref], EDGES, xmin=2)
    assert cut.chi2 == pytest.approx(expected.chi2, rel=1e-9)
    assert cut.chi2 < full.chi2


def test_xmax_drops_high_bins(site):
    data, ref = _with_hot_bin(_sample(3), 18), _sample(4)
    site.add("hot_high", data, [ref])
    site.add("hot_high_cut", data, [ref])
    rows = _rows(site.compare({"hists": [{"path": "hot_high"}, {"path": "hot_high_cut", "xmax": 8.0}]}))

    full, cut = rows["hot_high"], rows["hot_high_cut"]
    assert full.outlier is True
    # Bins whose low edge is above 8 (bins 17 to 19, with the hot bin 18) are dropped.
    assert cut.n_used == 17
    assert cut.outlier is False
    assert cut.chi2 == pytest.approx(beta_binomial(data, [ref], EDGES, xmax=8.0).chi2, rel=1e-9)


def test_concatenate_appends_siblings(site):
    flat = np.full(20, 1000.0)
    site.add("part_a", _sample(5, 2e4, flat), [_sample(6, 2e4, flat)])
    site.add("part_b", _sample(7, 1e4, flat[:10]), [_sample(8, 1e4, flat[:10])], edges=np.linspace(0, 5, 11))
    hot_c = _with_hot_bin(_sample(9, 5e3, flat[:5]), 2, factor=4.0)
    site.add("part_c", hot_c, [_sample(10, 5e3, flat[:5])], edges=np.linspace(0, 1, 6))
    site.add("alone", _sample(5, 2e4, flat), [_sample(6, 2e4, flat)])
    site.add("ranged", _sample(5, 2e4, flat), [_sample(6, 2e4, flat)])
    rows = _rows(site.compare({"hists": [
        {"path": "part_a", "concatenate": ["part_b", "part_c"]},
        {"path": "alone"},
        # The hot bin is bin 32 of the joined histogram: a range cut at 33 would hide it.
        {"path": "ranged", "concatenate": ["part_b", "part_c"], "xmin": 33},
    ]}))

    joined, alone = rows["part_a"], rows["alone"]
    assert joined.n_used == 20 + 10 + 5
    assert joined.outlier is True
    assert joined.entries_data == pytest.approx(_sample(5, 2e4, flat).sum() + _sample(7, 1e4, flat[:10]).sum()
                                                + hot_c.sum())
    assert alone.n_used == 20
    assert alone.outlier is False
    # With concatenate, xmin and xmax do not apply.
    assert rows["ranged"].n_used == 35
    assert rows["ranged"].outlier is True
    assert rows["ranged"].chi2 == pytest.approx(joined.chi2, rel=1e-12)


def _unbalanced_map():
    """Return (data, reference) 2D contents whose y slices differ in scale over half the x range."""
    ref = np.full((8, 6), 500.0)
    ref[:, 2] = 300.0
    data = ref.copy()
    data[:4] *= np.array([1.0, 1.4, 0.6, 1.0, 1.8, 1.0])
    return np.round(data), ref


def test_norm_type_changes_pull_values(site):
    data, ref = _unbalanced_map()
    yedges = np.linspace(0.0, 6.0, 7)
    for name in ("map_all", "map_default", "map_row", "map_col"):
        site.add(name, data, [ref], edges=np.linspace(0.0, 8.0, 9), yedges=yedges)
    rule = {"comparators": ["pull_values"]}
    rows = _rows(site.compare({"hists": [
        {**rule, "path": "map_default"},
        {**rule, "path": "map_all", "norm_type": "all"},
        {**rule, "path": "map_row", "norm_type": "row"},
        {**rule, "path": "map_col", "norm_type": "col"},
    ]}))

    for norm_type in ("all", "row", "col"):
        expected = pull_values(data, [ref], norm_type=norm_type)
        assert rows[f"map_{norm_type}"].chi2 == pytest.approx(expected.chi2, rel=1e-9)
        assert rows[f"map_{norm_type}"].max_pull == pytest.approx(expected.max_pull, rel=1e-9)
    assert rows["map_default"].chi2 == rows["map_all"].chi2
    chi2 = {norm_type: rows[f"map_{norm_type}"].chi2 for norm_type in ("all", "row", "col")}
    assert len(set(chi2.values())) == 3


# --- cuts: verdict, stored thresholds and the TXT file ----------------------


def _quiet_pair(site, name, seed):
    data, ref = _sample(seed), _sample(seed + 1)
    site.add(name, data, [ref])
    site.add(f"{name}_opt", data, [ref])
    return data, ref


def test_chi2_cut_changes_verdict(site):
    data, ref = _quiet_pair(site, "quiet", 11)
    chi2 = beta_binomial(data, [ref], EDGES).chi2
    cut = round(chi2 / 2, 6)
    rows = _rows(site.compare({"hists": [{"path": "quiet"}, {"path": "quiet_opt", "opts": [f"chi2_cut={cut}"]}]}))

    assert rows["quiet"].outlier is False
    assert rows["quiet"].thresholds["chi2_cut"] == 10.0
    assert rows["quiet_opt"].chi2 == pytest.approx(chi2, rel=1e-9)
    assert rows["quiet_opt"].outlier is True
    assert rows["quiet_opt"].thresholds["chi2_cut"] == cut
    assert rows["quiet_opt"].thresholds["pull_cut"] == 10.0
    assert float(_txt(rows["quiet_opt"])["threshold chi2_cut"]) == pytest.approx(cut)
    assert _txt(rows["quiet_opt"])["verdict"] == "OUTLIER"
    assert _txt(rows["quiet"])["threshold chi2_cut"] == "10"


def test_pull_cut_changes_verdict(site):
    data, ref = _quiet_pair(site, "quiet", 13)
    max_pull = beta_binomial(data, [ref], EDGES).max_pull
    cut = round(abs(max_pull) / 2, 6)
    rows = _rows(site.compare({"hists": [{"path": "quiet"}, {"path": "quiet_opt", "opts": [f"pull_cut={cut}"]}]}))

    assert rows["quiet"].outlier is False
    assert rows["quiet_opt"].max_pull == pytest.approx(max_pull, rel=1e-9)
    assert rows["quiet_opt"].outlier is True
    assert rows["quiet_opt"].thresholds["pull_cut"] == cut
    assert rows["quiet_opt"].thresholds["chi2_cut"] == 10.0
    assert float(_txt(rows["quiet_opt"])["threshold pull_cut"]) == pytest.approx(cut)
    assert _txt(rows["quiet"])["threshold pull_cut"] == "10"


def test_ks_cut_changes_verdict(site):
    centres = 0.5 * (EDGES[:-1] + EDGES[1:])
    shifted = np.exp(-0.5 * ((centres - 5.3) / 2.5) ** 2)
    data, ref = _sample(15, shape=shifted), _sample(16)
    site.add("shifted", data, [ref])
    site.add("shifted_opt", data, [ref])
    ks = ks_test(data, [ref]).ks
    assert ks < 0.1
    cut = round(ks / 2, 6)
    rule = {"comparators": ["ks_test"]}
    rows = _rows(site.compare({"hists": [
        {**rule, "path": "shifted"},
        {**rule, "path": "shifted_opt", "opts": [f"ks_cut={cut}"]},
    ]}))

    assert rows["shifted"].outlier is False
    assert rows["shifted"].thresholds == {"ks_cut": 0.1, "min_entries": 10000}
    assert rows["shifted_opt"].ks == pytest.approx(ks, rel=1e-9)
    assert rows["shifted_opt"].outlier is True
    assert rows["shifted_opt"].thresholds == {"ks_cut": cut, "min_entries": 10000}
    text = _txt(rows["shifted_opt"])
    assert float(text["threshold ks_cut"]) == pytest.approx(cut)
    assert text["threshold min_entries"] == "10000"


def test_min_entries_keeps_from_flagging(site):
    data, ref = _with_hot_bin(_sample(17), 10), _sample(18)
    site.add("hot", data, [ref])
    site.add("hot_opt", data, [ref])
    rows = _rows(site.compare({"hists": [{"path": "hot"}, {"path": "hot_opt", "opts": ["min_entries=1000000"]}]}))

    assert rows["hot"].outlier is True
    assert rows["hot"].comparable is True
    assert rows["hot"].thresholds["min_entries"] == 1
    low = rows["hot_opt"]
    assert low.outlier is False
    assert low.comparable is False
    assert low.reason.startswith(f"fewer entries ({data.sum():.0f}) than min_entries (1000000)")
    assert low.thresholds["min_entries"] == 1000000
    assert low.chi2 == pytest.approx(rows["hot"].chi2, rel=1e-12)
    text = _txt(low)
    assert text["threshold min_entries"] == "1000000"
    assert text["verdict"].startswith("not comparable: fewer entries")


def test_pull_cap_stored_and_drawn(site, drawn):
    data, ref = _with_hot_bin(_sample(19), 10), _sample(20)
    site.add("hot", data, [ref])
    site.add("hot_opt", data, [ref])
    rows = _rows(site.compare({"hists": [{"path": "hot"}, {"path": "hot_opt", "opts": ["pull_cap=3"]}]}))

    assert rows["hot"].thresholds["pull_cap"] == 10.0
    assert rows["hot_opt"].thresholds["pull_cap"] == 3.0
    assert drawn["hot"].pull_cap == 10.0
    assert drawn["hot_opt"].pull_cap == 3.0
    # The cap clips the drawing only: the scores are the same.
    assert rows["hot_opt"].max_pull == rows["hot"].max_pull
    assert _txt(rows["hot_opt"])["threshold pull_cap"] == "3"


def test_thresholds_fit_per_name_and_references(site):
    for name in ("TimeBox_St1", "Occupancy_W0", "Segments"):
        site.add(name, _sample(21), [_sample(22), _sample(23)])
    config = {
        "thresholds_fit": [
            {"name": "TimeBox", "param_MaxPull": [4, 2], "param_Chi2": [3, 1]},
            {"name": "Occupancy", "param_MaxPull": [100, 1, 0.5], "param_Chi2": [2, 0]},
            {"name": "Box", "param_MaxPull": [1, 1], "param_Chi2": [1, 1]},
        ],
        "hists": [{"path": "*"}],
    }
    one = _rows(site.compare(config, n_refs=1))
    two = _rows(site.compare(config, n_refs=2))

    # pull_cut = a/n + b**2 (at most 36) and chi2_cut = 0.8*(a/n + b**2), n references.
    assert one["TimeBox_St1"].thresholds["pull_cut"] == pytest.approx(8.0)
    assert one["TimeBox_St1"].thresholds["chi2_cut"] == pytest.approx(3.2)
    assert two["TimeBox_St1"].thresholds["pull_cut"] == pytest.approx(6.0)
    assert two["TimeBox_St1"].thresholds["chi2_cut"] == pytest.approx(2.0)
    assert one["Occupancy_W0"].thresholds["pull_cut"] == 36.0
    assert two["Occupancy_W0"].thresholds["pull_cut"] == 36.0
    assert one["Occupancy_W0"].thresholds["chi2_cut"] == pytest.approx(1.6)
    assert two["Occupancy_W0"].thresholds["chi2_cut"] == pytest.approx(0.8)
    assert one["Segments"].thresholds["pull_cut"] == 10.0
    assert one["Segments"].thresholds["chi2_cut"] == 10.0
    text = _txt(two["TimeBox_St1"])
    assert float(text["threshold pull_cut"]) == pytest.approx(6.0)
    assert float(text["threshold chi2_cut"]) == pytest.approx(2.0)


def test_thresholds_fit_decides_verdict(site):
    data, ref = _sample(24), _sample(25)
    chi2 = beta_binomial(data, [ref], EDGES).chi2
    site.add("Occupancy_W1", data, [ref])
    site.add("Other", data, [ref])
    # chi2_cut = 0.8*(a/1 + 0) is half the histogram's chi2.
    fit = [{"name": "Occupancy", "param_MaxPull": [30, 0], "param_Chi2": [round(chi2 / 1.6, 6), 0]}]
    rows = _rows(site.compare({"thresholds_fit": fit, "hists": [{"path": "*"}]}))

    assert rows["Occupancy_W1"].thresholds["chi2_cut"] == pytest.approx(chi2 / 2, rel=1e-5)
    assert rows["Occupancy_W1"].outlier is True
    assert rows["Other"].outlier is False


# --- what is drawn and shown ---------------------------------------------------


def test_sel_display_skips_quiet_plots(site):
    quiet, quiet_ref = _sample(26), _sample(27)
    site.add("quiet", quiet, [quiet_ref])
    site.add("quiet_shown", quiet, [quiet_ref])
    site.add("hot", _with_hot_bin(_sample(28), 10), [_sample(29)])
    chi2 = beta_binomial(quiet, [quiet_ref], EDGES).chi2
    # A chi2 cut just under twice the chi2 puts the chi2 above half its cut.
    site.add("middling", quiet, [quiet_ref])
    middling_cut = round(1.9 * chi2, 6)
    hists = [
        {"path": "quiet"},
        {"path": "quiet_shown", "always_show": True},
        {"path": "hot"},
        {"path": "middling", "opts": [f"chi2_cut={middling_cut}"]},
    ]
    with_sel = _rows(site.compare({"sel_display": ["BB_Chi2_1.0", "BB_MaxPull_1.0"], "hists": hists}))
    without = _rows(site.compare({"hists": hists}, name="NoSel"))

    assert with_sel["quiet"].chi2 < 5.0
    assert abs(with_sel["quiet"].max_pull) < 5.0
    assert with_sel["quiet"].plot_wanted is False
    assert with_sel["quiet_shown"].plot_wanted is True
    assert with_sel["hot"].plot_wanted is True
    assert with_sel["middling"].outlier is False
    assert with_sel["middling"].plot_wanted is True
    assert all(row.plot_wanted for row in without.values())
    # The scores of skipped plots are still stored.
    assert with_sel["quiet"].chi2 == without["quiet"].chi2


def test_always_show_drawn_eagerly(site, drawn):
    data, ref = _quiet_pair(site, "quiet", 30)
    comparison = site.compare({"hists": [{"path": "quiet"}, {"path": "quiet_opt", "always_show": True}]})
    rows = _rows(comparison)

    shown, plain = rows["quiet_opt"], rows["quiet"]
    assert shown.always_show is True
    assert shown.outlier is False
    assert shown.png and artifacts.absolute_path(shown.png).is_file()
    assert shown.txt and artifacts.absolute_path(shown.txt).is_file()
    assert plain.always_show is False
    assert plain.png == ""
    assert plain.txt == ""
    assert set(drawn) == {"quiet_opt"}


def test_plot_options_reach_plot_info(site, drawn):
    data, ref = _quiet_pair(site, "quiet", 32)
    opts = ["logx", "logy", "plot_title=Wire #rho occupancy", "xaxis_title=wire group", "yaxis_title=hits"]
    labels = [f"W{i}" for i in range(20)]
    rows = _rows(site.compare({"hists": [
        {"path": "quiet", "always_show": True},
        {"path": "quiet_opt", "always_show": True, "opts": opts, "xlabels": labels},
    ]}))

    info = drawn["quiet_opt"]
    assert info.plot_title == "Wire #rho occupancy"
    assert info.xaxis_title == "wire group"
    assert info.yaxis_title == "hits"
    assert info.logx is True
    assert info.logy is True
    assert info.xlabels == labels
    plain = drawn["quiet"]
    assert (plain.plot_title, plain.xaxis_title, plain.yaxis_title) == (None, None, None)
    assert (plain.logx, plain.logy, plain.xlabels) == (False, False, None)
    assert artifacts.absolute_path(rows["quiet_opt"].png).is_file()


def test_plot_options_reach_lazy_plot(site, drawn):
    data, ref = _quiet_pair(site, "quiet", 34)
    rows = _rows(site.compare({"hists": [{"path": "quiet_opt", "opts": ["logy", "plot_title=Later"]}]}))

    assert drawn == {}
    path = artifacts.ensure(rows["quiet_opt"], "png")
    assert path.is_file()
    assert drawn["quiet_opt"].logy is True
    assert drawn["quiet_opt"].plot_title == "Later"


def test_2d_labels_reach_plot_info(site, drawn):
    data, ref = _unbalanced_map()
    site.add("map", data, [ref], edges=np.linspace(0.0, 8.0, 9), yedges=np.linspace(0.0, 6.0, 7))
    xlabels = [f"sector {i}" for i in range(1, 9)]
    ylabels = [f"ring {i}" for i in range(1, 7)]
    rows = _rows(site.compare({"hists": [
        {"path": "map", "always_show": True, "xlabels": xlabels, "ylabels": ylabels},
    ]}))

    assert drawn["map"].xlabels == xlabels
    assert drawn["map"].ylabels == ylabels
    assert artifacts.absolute_path(rows["map"].png).is_file()


# --- which histograms and comparators ----------------------------------------


def test_excluded_hists_removes_matches(site):
    for name in ("occ_a", "occ_b", "occ_c", "occ_d"):
        site.add(name, _sample(36), [_sample(37)])
    hists = [{"path": "occ_*"}]
    kept = site.compare({"excluded_hists": [{"path": "occ_b"}, {"path": "occ_[cz]"}], "hists": hists})
    everything = site.compare({"hists": hists}, name="NoExclusion")

    assert set(_rows(kept)) == {"occ_a", "occ_d"}
    assert set(_rows(everything)) == {"occ_a", "occ_b", "occ_c", "occ_d"}
    assert kept.warnings == []


def test_rule_comparators_override_subsystem(site):
    for name in ("default", "ks_only", "both"):
        site.add(name, _sample(38), [_sample(39)])
    comparison = site.compare({
        "comparators": ["beta_binomial"],
        "hists": [
            {"path": "default"},
            {"path": "ks_only", "comparators": ["ks_test"]},
            {"path": "both", "comparators": ["ks_test", "beta_binomial"]},
        ],
    })

    used = {}
    for row in comparison.results.all():
        used.setdefault(row.histogram, set()).add(row.comparator)
    assert used == {"default": {"beta_binomial"}, "ks_only": {"ks_test"}, "both": {"ks_test", "beta_binomial"}}
    ks_row = comparison.results.get(histogram="ks_only")
    assert ks_row.ks is not None
    assert ks_row.chi2 is None


def _total_ratio(data, refs, edges=None, **options):
    """Ratio of the data total to the first reference's total."""
    if refs[0].sum() == 0:
        return None
    ratio = float(data.sum() / refs[0].sum())
    cut = options.get("chi2_cut") or 1.5
    return ComparatorResult(
        comparator="total_ratio", chi2=ratio, is_outlier=ratio > cut, thresholds={"ratio_cut": cut},
    )


def test_registered_comparator_used_by_rule(site, clean_registry):
    register("total_ratio", _total_ratio, dims=(1,))
    data, ref = _sample(40), _sample(41, total=2.5e4)
    site.add("double", data, [ref])
    site.add("double_opt", data, [ref])
    comparison = site.compare({
        "comparators": ["beta_binomial"],
        "hists": [
            {"path": "double", "comparators": ["total_ratio"]},
            {"path": "double_opt", "comparators": ["total_ratio"], "opts": ["chi2_cut=5"]},
        ],
    })
    rows = _rows(comparison)

    assert {row.comparator for row in rows.values()} == {"total_ratio"}
    assert rows["double"].chi2 == pytest.approx(data.sum() / ref.sum())
    assert rows["double"].outlier is True
    assert rows["double"].thresholds == {"ratio_cut": 1.5}
    assert rows["double_opt"].outlier is False
    assert rows["double_opt"].thresholds == {"ratio_cut": 5.0}
    assert _txt(rows["double"])["threshold ratio_cut"] == "1.5"


def test_unregistered_comparator_rejected_by_config(site):
    with pytest.raises(ConfigError, match=r"unknown comparators \['total_ratio'\]"):
        import_config("Opts", {"main_gdir": MAIN_GDIR, "hists": [{"path": "x", "comparators": ["total_ratio"]}]})


def test_comparator_gone_from_worker_skipped(site, clean_registry):
    register("total_ratio", _total_ratio, dims=(1,))
    site.add("quiet", _sample(42), [_sample(43)])
    config = {"hists": [{"path": "quiet", "comparators": ["total_ratio", "beta_binomial"]}]}
    import_config("Opts", {"main_gdir": MAIN_GDIR, **config})
    del registry._registry["total_ratio"]
    comparison = site.run("Opts")

    assert [row.comparator for row in comparison.results.all()] == ["beta_binomial"]
    assert any(warning.startswith("comparator total_ratio skipped: unknown comparator 'total_ratio'")
               for warning in comparison.warnings)


# --- histograms that cannot be compared --------------------------------------


def test_missing_from_one_reference_noted(site):
    data, ref = _sample(44), _sample(45)
    site.add("both", data, [ref, ref])
    site.runs[REF_RUNS[1]].pop("both")
    # Another histogram keeps the subsystem folder in the second reference file.
    site.add("other", data, [ref, ref])
    rows = _rows(site.compare({"hists": [{"path": "both"}]}, n_refs=2))

    row = rows["both"]
    assert row.comparable is True
    assert row.chi2 == pytest.approx(beta_binomial(data, [ref], EDGES).chi2, rel=1e-9)
    assert f"reference run {REF_RUNS[1]}" in row.reason
    assert "both" in row.reason
