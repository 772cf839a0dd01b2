"""Fixtures of the web interface tests: the demo runs, written once per session, and finished comparisons.

Test modules import the fixtures they use from here.
"""

import shutil

import pytest
from django.core.management import call_command

from runs.demo import write_demo_files
from runs.registry import scan_folder
from tests.conftest import CONFIGS

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
