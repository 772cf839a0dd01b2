import shutil
from pathlib import Path

import numpy as np
import pytest
import uproot

from runs import rootio
from runs.rootio import Histogram, RootReadError

REAL = Path("/work/shared/data/real")
CMS = REAL / "cms-dqm"
GENERIC = REAL / "root-generic"
RUN_67141 = CMS / "reference_DQM_V0001_R000067141__GlobalCruzet4-A__CMSSW_2_1_X-Testing__RECO.root"
HLT_RUN_1 = CMS / "DQM_V0001_HLTOffline_R000000001_RelValZeeZmmMinBias.root"
COSMICS = CMS / "csc_reference_cosmics.root"
COLLISIONS = CMS / "csc_reference_collisions.root"
HCAL_NOV = CMS / "HcalRecHitsValidationHB__2007-11-16.root"
SISTRIP = CMS / "SiStrip_Reference__2008-08-09_CRUZET3.root"
RELEASE_TAG = "<ReleaseTag>s=CMSSW_2_1_9</ReleaseTag>"

# Histogram counts per real file, from the data folder's description.
EXPECTED_HISTOGRAMS = {
    RUN_67141.name: 2924,
    HLT_RUN_1.name: 1963,
    COSMICS.name: 1,
    COLLISIONS.name: 1,
    "HcalRecHitsValidationHB__2007-08-24.root": 33,
    HCAL_NOV.name: 41,
    SISTRIP.name: 26,
    "SiStrip_Reference__2008-08-06.root": 27,
    "uproot-issue-880.root": 200,
}

ALL_REAL_FILES = sorted(REAL.glob("*/*.root"))


@pytest.fixture
def tiny_file(tmp_path):
    """A small DQM-like file written with uproot."""
    path = tmp_path / "DQM_V0001_R000000005__Test__Run2024A-v1__DQMIO.root"
    base = "DQMData/Run 5/CSC/Run summary/CSCOfflineMonitor"
    with uproot.recreate(path) as out:
        out[f"{base}/recHits/hRHGlobalp1"] = (np.array([1.0, -2.0, 3.0]), np.array([0.0, 1.0, 2.0, 4.0]))
        out[f"{base}/recHits/hMap"] = (
            np.arange(6.0).reshape(2, 3),
            np.array([0.0, 1.0, 2.0]),
            np.array([0.0, 10.0, 20.0, 30.0]),
        )
        out[f"{base}/recHits/hEmpty"] = (np.zeros(4), np.linspace(0.0, 4.0, 5))
        out[f"{base}/recHits/nEvents"] = "<nEvents>i=5</nEvents>"
        out[f"{base}/hTwice"] = (np.array([1.0, 1.0]), np.array([0.0, 1.0, 2.0]))
        out[f"{base}/hTwice"] = (np.array([7.0, 8.0]), np.array([0.0, 1.0, 2.0]))
    return path


@pytest.mark.parametrize("path", ALL_REAL_FILES, ids=lambda p: p.name)
def test_every_real_object_reads_or_is_skipped(path):
    histograms = 0
    with rootio.open_root(path) as root:
        for full_path, result in rootio.iter_all_histograms(root):
            if isinstance(result, Histogram):
                histograms += 1
                assert result.path == full_path
                assert result.values.dtype == np.float64
                assert result.values.shape[0] == len(result.xedges) - 1
                assert result.ndim in (1, 2)
            else:
                assert result.startswith("skipped: ")
                assert "is not a 1D or 2D histogram" in result
    assert histograms > 0
    if path.name in EXPECTED_HISTOGRAMS:
        assert histograms == EXPECTED_HISTOGRAMS[path.name]


def test_walk_objects_matches_iteration():
    with rootio.open_root(HCAL_NOV) as root:
        walked = dict(rootio.walk_objects(root))
        iterated = [path for path, _ in rootio.iter_all_histograms(root)]
    assert sorted(walked) == sorted(iterated)
    assert walked["DQMData/HcalRecHitTask/profile_z1"] == "TProfile"
    assert walked['"CMSSW_1_7_0_pre12"'] == "TObjString"


def test_key_name_with_slash_is_listed():
    with rootio.open_root(RUN_67141) as root:
        dqmdata = rootio.find_folder(root, "DQMData")
        objects = rootio.list_objects(dqmdata)
    assert objects[RELEASE_TAG] == "TObjString"
    assert objects["Run 67141"] == "TDirectory"


def test_key_name_with_slash_is_not_a_histogram():
    with rootio.open_root(RUN_67141) as root:
        with pytest.raises(RootReadError, match="TObjString is not a 1D or 2D histogram") as caught:
            rootio.read_histogram(root, f"DQMData/{RELEASE_TAG}")
    assert caught.value.path == f"DQMData/{RELEASE_TAG}"
    assert RUN_67141.name in str(caught.value)


def test_key_name_with_slash_in_walk():
    with rootio.open_root(RUN_67141) as root:
        results = dict(rootio.iter_all_histograms(root))
    assert results[f"DQMData/{RELEASE_TAG}"] == "skipped: TObjString is not a 1D or 2D histogram"
    assert results['"CMSSW_2_1_9"'].startswith("skipped: TObjString")


def test_highest_cycle_wins_real_file():
    with rootio.open_root(COSMICS) as root:
        folder = rootio.find_folder(root, "CSC/Run summary/Summary")
        assert rootio.list_objects(folder) == {"CSC_Reporting": "TH2F"}
        histogram = rootio.read_histogram(folder, "CSC_Reporting")
    assert histogram.entries == 456081
    assert histogram.values.shape == (36, 18)


def test_highest_cycle_wins_written_file(tiny_file):
    with rootio.open_root(tiny_file) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/", 5)
        histogram = rootio.read_histogram(folder, "hTwice")
    assert histogram.values.tolist() == [7.0, 8.0]


def test_resolve_folder_run_layout():
    with rootio.open_root(COLLISIONS) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/Summary/", 132601)
        assert folder.path == ("DQMData", "Run 132601", "CSC", "Run summary", "Summary")
        histogram = rootio.read_histogram(folder, "CSC_Reporting/CSC_Reporting")
    assert histogram.name == "CSC_Reporting"
    assert histogram.path == "CSC_Reporting/CSC_Reporting"
    assert histogram.entries == 15527


def test_resolve_folder_without_run_levels():
    with rootio.open_root(SISTRIP) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/SiStrip/Run summary/Tracks/", 58733)
        assert folder.path == ("DQMData", "SiStrip", "Tracks")
        assert "NumberOfTracks_CKFTk" in rootio.list_histograms(folder)


def test_resolve_folder_without_dqmdata():
    with rootio.open_root(COSMICS) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/Summary/", 70000)
    assert folder.path == ("CSC", "Run summary", "Summary")


def test_resolve_fixed_folder():
    with rootio.open_root(HCAL_NOV) as root:
        folder = rootio.resolve_folder(root, "DQMData/HcalRecHitTask", 1)
    assert folder.path == ("DQMData", "HcalRecHitTask")


def test_fixed_folder_has_no_fallback():
    with rootio.open_root(COSMICS) as root:
        with pytest.raises(RootReadError, match="tried 'DQMData/CSC/Run summary/Summary'\\)"):
            rootio.resolve_folder(root, "DQMData/CSC/Run summary/Summary", 1)


def test_folder_candidates_order():
    candidates = rootio._folder_candidates("DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/", 42)
    assert ["/".join(parts) for parts in candidates] == [
        "DQMData/Run 42/CSC/Run summary/CSCOfflineMonitor",
        "DQMData/CSC/Run summary/CSCOfflineMonitor",
        "DQMData/CSC/CSCOfflineMonitor",
        "CSC/Run summary/CSCOfflineMonitor",
        "CSC/CSCOfflineMonitor",
    ]


def test_resolve_folder_missing_names_file_folder_run():
    with rootio.open_root(COLLISIONS) as root:
        with pytest.raises(RootReadError) as caught:
            rootio.resolve_folder(root, "DQMData/Run {0}/DT/Run summary/", 132601)
    message = str(caught.value)
    assert COLLISIONS.name in message
    assert "DQMData/Run {0}/DT/Run summary/" in message
    assert "run 132601" in message
    assert "'DQMData/Run 132601/DT/Run summary'" in message
    assert caught.value.file == str(COLLISIONS)


def test_resolve_folder_wrong_run():
    with rootio.open_root(COLLISIONS) as root:
        with pytest.raises(RootReadError, match="run 1 not found"):
            rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/Summary/", 1)


def test_partial_bin_labels():
    folder_path = "DQMData/Run 67141/HLTOffline/Run summary/HLTTAU/DoubleTau"
    with rootio.open_root(RUN_67141) as root:
        folder = rootio.find_folder(root, folder_path)
        histogram = rootio.read_histogram(folder, "RefToPFTaus_Bits")
    assert histogram.xlabels == [
        "", "Main Path", "", "noL1 Path", "", "no L2 Path", "", "no L25 Path", "", "no L3 Path", "",
    ]
    assert histogram.ylabels is None
    assert histogram.classname == "TH1F"


def test_y_labels_only():
    with rootio.open_root(COLLISIONS) as root:
        histogram = rootio.read_histogram(root, "DQMData/Run 132601/CSC/Run summary/Summary/CSC_Reporting/CSC_Reporting")
    assert histogram.xlabels is None
    assert len(histogram.ylabels) == 18
    assert histogram.ylabels[0] == "ME-4/2"
    assert histogram.ylabels[-1] == "ME+4/2"
    assert histogram.title == "Reporting CSCs"
    assert histogram.xtitle == "Chamber"


class _FakeLabel(str):
    def __new__(cls, text, unique_id):
        label = super().__new__(cls, text)
        label.unique_id = unique_id
        return label

    def member(self, name):
        assert name == "@fUniqueID"
        return self.unique_id


class _FakeAxis:
    def __init__(self, labels):
        self.labels = labels

    def member(self, name, none_if_missing=False):
        assert name == "fLabels"
        return self.labels


def test_labels_placed_by_bin_number():
    # ROOT stores only the labelled bins; fUniqueID is the bin number of each.
    axis = _FakeAxis([_FakeLabel("second", 2), _FakeLabel("fifth", 5)])
    assert rootio._axis_labels(axis, 5) == ["", "second", "", "", "fifth"]
    assert rootio._axis_labels(_FakeAxis(None), 5) is None


def test_tprofile_means_with_negative_values():
    path = "DQMData/Run 67141/L1T/Run summary/L1TCSCTF/CSCTF_bx"
    with rootio.open_root(RUN_67141) as root:
        histogram = rootio.read_histogram(root, path)
        means = root[path].values()
    assert histogram.classname == "TProfile"
    assert histogram.values == pytest.approx(means)
    assert histogram.values.min() == pytest.approx(-0.3125)
    assert histogram.entries == 730
    assert histogram.xtitle == "Sector, Endcap, MPC Link"


def test_tprofile2d():
    with rootio.open_root(GENERIC / "uproot-issue-227a.root") as root:
        histogram = rootio.read_histogram(root, "hprof2d")
    assert histogram.classname == "TProfile2D"
    assert histogram.ndim == 2
    assert histogram.values.tolist() == [[1.0, 2.0, 0.0], [2.0, 4.0, 6.0]]
    assert histogram.yedges.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert histogram.entries == 12


def test_negative_contents_kept():
    with rootio.open_root(HCAL_NOV) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/HcalRecHitTask/Run summary/", 1)
        histogram = rootio.read_histogram(folder, "map_depth1")
    assert histogram.values.shape == (82, 72)
    assert histogram.values.min() == pytest.approx(-39.52037048339844)
    assert histogram.total == pytest.approx(float(histogram.values.sum()))


def test_th1i_as_float64():
    with rootio.open_root(GENERIC / "uproot-issue-880.root") as root:
        histogram = rootio.read_histogram(root, "WhichLAV")
    assert histogram.classname == "TH1I"
    assert histogram.values.dtype == np.float64


def test_variable_bin_widths():
    with rootio.open_root(GENERIC / "uproot-issue-222.root") as root:
        histogram = rootio.read_histogram(root, "hist")
    assert histogram.xedges.tolist() == [0.0, 1.0, 3.0]
    assert histogram.values.tolist() == [2.0, 1.0]


def test_not_a_histogram_classes():
    with rootio.open_root(GENERIC / "uproot-hepdata-example.root") as root:
        assert rootio.list_objects(root)["ntuple"] == "TNtuple"
        assert "ntuple" not in rootio.list_histograms(root)
        with pytest.raises(RootReadError, match="TNtuple is not a 1D or 2D histogram"):
            rootio.read_histogram(root, "ntuple")


def test_histogram_class_names():
    for classname in ("TH1F", "TH1D", "TH1I", "TH1S", "TH2F", "TH2D", "TH2I", "TH2S", "TProfile", "TProfile2D"):
        assert rootio.is_histogram_class(classname)
    for classname in ("TH3F", "TProfile3D", "TH2Poly", "TObjString", "TDirectory", "TTree", "TH1"):
        assert not rootio.is_histogram_class(classname)


def test_written_file_reads(tiny_file):
    with rootio.open_root(tiny_file) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/", 5)
        line = rootio.read_histogram(folder, "recHits/hRHGlobalp1")
        square = rootio.read_histogram(folder, "/recHits/hMap")
        empty = rootio.read_histogram(folder, "recHits/hEmpty")
    assert line.name == "hRHGlobalp1"
    assert line.path == "recHits/hRHGlobalp1"
    assert line.values.tolist() == [1.0, -2.0, 3.0]
    assert line.xedges.tolist() == [0.0, 1.0, 2.0, 4.0]
    assert line.total == pytest.approx(2.0)
    assert line.yedges is None
    assert square.ndim == 2
    assert square.values.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert square.yedges.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert empty.total == 0.0


def test_list_histograms_skips_strings(tiny_file):
    with rootio.open_root(tiny_file) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/", 5)
        objects = rootio.list_objects(rootio.find_folder(folder, "recHits"))
        histograms = rootio.list_histograms(folder, "recHits")
        with pytest.raises(RootReadError, match="folder not found"):
            rootio.list_histograms(folder, "Segments")
    assert objects["nEvents"] == "TObjString"
    assert histograms == {"hRHGlobalp1": "TH1D", "hMap": "TH2D", "hEmpty": "TH1D"}


def test_missing_histogram_names_file_and_path(tiny_file):
    with rootio.open_root(tiny_file) as root:
        folder = rootio.resolve_folder(root, "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/", 5)
        with pytest.raises(RootReadError, match="histogram not found") as caught:
            rootio.read_histogram(folder, "recHits/hMissing")
    assert caught.value.path == "DQMData/Run 5/CSC/Run summary/CSCOfflineMonitor/recHits/hMissing"
    assert tiny_file.name in str(caught.value)
    assert "recHits/hMissing" in str(caught.value)


def test_folder_is_not_a_histogram(tiny_file):
    with rootio.open_root(tiny_file) as root:
        with pytest.raises(RootReadError, match="TDirectory is not a 1D or 2D histogram"):
            rootio.read_histogram(root, "DQMData/Run 5")


def test_truncated_file(tmp_path):
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes(RUN_67141.read_bytes()[:400_000])
    with pytest.raises(RootReadError) as caught:
        rootio.open_root(truncated)
    assert "truncated.root" in str(caught.value)
    assert caught.value.path is None
    readable, reason = rootio.is_readable_root(truncated)
    assert not readable
    assert reason


def test_text_file_named_root(tmp_path):
    fake = tmp_path / "notes.root"
    fake.write_text("run 355200 looked fine\n" * 50)
    with pytest.raises(RootReadError, match="not a ROOT file") as caught:
        rootio.open_root(fake)
    assert "notes.root" in str(caught.value)
    assert rootio.is_readable_root(fake) == (False, "not a ROOT file (it does not start with 'root')")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(RootReadError, match="file not found") as caught:
        rootio.open_root(tmp_path / "absent.root")
    assert "absent.root" in str(caught.value)
    empty = tmp_path / "empty.root"
    empty.write_bytes(b"")
    assert rootio.is_readable_root(empty)[0] is False
    assert rootio.is_readable_root(tmp_path)[0] is False


def test_header_only_file(tmp_path):
    short = tmp_path / "short.root"
    short.write_bytes(COSMICS.read_bytes()[:100])
    with pytest.raises(RootReadError, match="cannot open as a ROOT file") as caught:
        rootio.open_root(short)
    assert "short.root" in str(caught.value)


def test_corrupt_histogram_names_path(tmp_path):
    corrupt = tmp_path / "corrupt.root"
    data = bytearray(HCAL_NOV.read_bytes())
    data[2000:60000] = b"\x55" * 58000
    corrupt.write_bytes(bytes(data))
    with rootio.open_root(corrupt) as root:
        results = dict(rootio.iter_all_histograms(root))
        failed = [path for path, result in results.items() if isinstance(result, str) and "read failed" in result]
        assert failed
        with pytest.raises(RootReadError, match="read failed") as caught:
            rootio.read_histogram(root, failed[0])
    assert caught.value.path == failed[0]
    assert "corrupt.root" in str(caught.value)


def test_readable_real_file():
    assert rootio.is_readable_root(COSMICS) == (True, None)
    assert rootio.is_readable_root(str(HLT_RUN_1)) == (True, None)


def test_open_root_closes(tmp_path):
    copy = tmp_path / "copy.root"
    shutil.copyfile(COSMICS, copy)
    with rootio.open_root(copy) as root:
        assert "CSC" in rootio.list_objects(root)
    assert root.file.closed
