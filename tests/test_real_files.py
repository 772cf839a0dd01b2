"""Real CMS DQM files through the same path as the demo runs: register, compare, report."""

import json

import pytest
from django.core.management import call_command

from comparisons.config_io import import_config
from tests.conftest import CONFIGS, FIXTURES, REAL_CMS, need_shared_data

pytestmark = pytest.mark.django_db


def _register(path, run, dataset):
    call_command("scan_runs", str(path), run=run, dataset=dataset, verbosity=0)


def _compare(capsys, subsystem, data_run, ref_runs, data_dataset, ref_dataset):
    capsys.readouterr()
    call_command(
        "compare", "--subsystem", subsystem, "--data-run", str(data_run), "--ref-runs", str(ref_runs),
        "--data-dataset", data_dataset, "--ref-dataset", ref_dataset, "--json",
    )
    return json.loads(capsys.readouterr().out)


def test_hcal_release_validation(site_dirs, capsys):
    call_command("load_configs", str(CONFIGS), verbosity=0)
    _register(FIXTURES / "real" / "HcalRecHitsValidationHB__2007-08-24.root", 1, "RelValHcal/CMSSW_1_6_0_pre10")
    _register(FIXTURES / "real" / "HcalRecHitsValidationHB__2007-11-16.root", 1, "RelValHcal/CMSSW_1_7_0_pre12")
    document = _compare(
        capsys, "HcalRecHits", 1, 1, "RelValHcal/CMSSW_1_7_0_pre12", "RelValHcal/CMSSW_1_6_0_pre10"
    )
    rows = {(row["histogram"], row["comparator"]): row for row in document["results"]}
    assert document["status"] == "done"
    assert ("map_depth1", "pull_values") in rows
    # Eight histograms exist only in the newer release.
    only_new = [row for row in document["results"] if "missing from every reference file" in (row["reason"] or "")]
    assert len(only_new) == 8
    scored = [row for row in document["results"] if row["comparable"]]
    assert len(scored) > 20
    assert "/compare/HcalRecHits/RelValHcal/CMSSW_1_7_0_pre12/1/vs/RelValHcal/CMSSW_1_6_0_pre10/1/" in document["url"]


def test_csc_reporting_without_dqmdata_folder(site_dirs, capsys, tmp_path):
    need_shared_data()
    import_config("CSCSummary", {
        "main_gdir": "DQMData/Run {0}/CSC/Run summary/Summary/",
        "comparators": ["beta_binomial", "pull_values"],
        "hists": [{"path": "CSC_Reporting"}],
    })
    # This file starts at CSC/Run summary/ (no DQMData, no Run level) and
    # contains two cycles of CSC_Reporting; the highest one is read.
    copy = tmp_path / "cosmics_copy.root"
    copy.write_bytes((REAL_CMS / "csc_reference_cosmics.root").read_bytes())
    _register(REAL_CMS / "csc_reference_cosmics.root", 100, "Cosmics/CRAFT-Online")
    _register(copy, 101, "Cosmics/CRAFT-Online")
    document = _compare(capsys, "CSCSummary", 101, 100, "Cosmics/CRAFT-Online", "Cosmics/CRAFT-Online")
    assert document["status"] == "done"
    assert len(document["results"]) == 2
    for row in document["results"]:
        assert row["comparable"] is True, row["reason"]
        assert row["chi2"] == 0
        assert row["outlier"] is False


def test_csc_reporting_layout_mismatch_named(site_dirs, capsys):
    need_shared_data()
    import_config("CSCSummary", {
        "main_gdir": "DQMData/Run {0}/CSC/Run summary/Summary/",
        "hists": [{"path": "CSC_Reporting/CSC_Reporting"}],
    })
    # In the collisions file CSC_Reporting is a folder holding the histogram;
    # in the cosmics file it is the histogram itself.
    _register(REAL_CMS / "csc_reference_collisions.root", 132601, "Cosmics/Collisions2010-Online")
    _register(REAL_CMS / "csc_reference_cosmics.root", 100, "Cosmics/CRAFT-Online")
    document = _compare(capsys, "CSCSummary", 132601, 100, "Cosmics/Collisions2010-Online", "Cosmics/CRAFT-Online")
    (row,) = document["results"]
    assert row["comparable"] is False
    assert "csc_reference_cosmics.root" in row["reason"]
    assert "reference run 100" in row["reason"]
    assert "not found" in row["reason"]


def test_sistrip_binning_mismatch_reported(site_dirs, capsys):
    need_shared_data()
    import_config("SiStripTracks", {"main_gdir": "DQMData/SiStrip/", "hists": [{"path": "Tracks/*"}]})
    _register(REAL_CMS / "SiStrip_Reference__2008-08-09_CRUZET3.root", 2, "Cosmics/CRUZET3-v1")
    _register(REAL_CMS / "SiStrip_Reference__2008-08-06.root", 1, "Cosmics/CRUZET-v1")
    document = _compare(capsys, "SiStripTracks", 2, 1, "Cosmics/CRUZET3-v1", "Cosmics/CRUZET-v1")
    rows = {row["histogram"]: row for row in document["results"]}
    assert document["status"] == "done"
    mismatch = rows["Tracks/NumberOfRecHitsPerTrack_CKFTk"]
    assert mismatch["comparable"] is False
    assert "binning" in mismatch["reason"]
