"""Fixtures of the web interface tests: the demo runs, written once per session, and finished comparisons.

Test modules import the fixtures they use from here.
"""

import shutil

import pytest
from django.core.management import call_command

from runs.demo import write_demo_files
from runs.registry import scan_folder
from tests.conftest import CONFIGS, demo_description

DATASET = "ZeroBias/Run2022C-PromptReco-v1"
REFERENCES = (355100, 355101, 355102)


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    """The demo CSC DQM files; tests only read them."""
    folder = tmp_path_factory.mktemp("demo-dqm")
    write_demo_files(folder)
    return folder


@pytest.fixture(scope="session")
def csc_configs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("configs")
    for name in ("CSC.json", "main.json"):
        shutil.copy(CONFIGS / name, folder / name)
    return folder


@pytest.fixture
def ui_site(site_dirs, demo_folder, csc_configs):
    """A site with the CSC config and the demo runs; the test module marks the database use."""
    call_command("load_configs", str(csc_configs), verbosity=0)
    scan_folder(demo_folder)
    return site_dirs


def run_demo_comparison(data_run=355200, references=REFERENCES, user=None, draw_plots=False):
    """Store and run one CSC comparison of the demo runs; return it finished."""
    from comparisons.requests import create_comparison, resolve_request
    from comparisons.tasks import run_comparison

    comparison = create_comparison(resolve_request("CSC", data_run, list(references)), user=user)
    run_comparison(comparison.pk, draw_plots=draw_plots)
    comparison.refresh_from_db()
    return comparison


@pytest.fixture(scope="session")
def online_folder(tmp_path_factory):
    """Demo CSC files of runs 355300 and 355301 under online DQM file names."""
    folder = tmp_path_factory.mktemp("online")
    description = demo_description()
    description["reference_runs"] = [
        {"run": 355300, "luminosity_scale": 1.0, "note": "online good run"},
        {"run": 355301, "luminosity_scale": 0.9, "note": "online good run"},
    ]
    description["data_runs"] = []
    for path in write_demo_files(folder, description):
        number = path.name.split("_R000", 1)[1][:6]
        path.rename(folder / f"DQM_V0001_CSC_R000{number}.root")
    return folder


@pytest.fixture
def online_runs(ui_site, online_folder):
    """Register the online files of runs 355300 and 355301 besides the offline demo runs."""
    scan_folder(online_folder)
    return online_folder
