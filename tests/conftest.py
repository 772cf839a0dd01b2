"""Shared fixtures: paths to the shipped and shared data, and a site loaded with demo runs."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
CONFIGS = FIXTURES / "configs"
# The read-only project data sits beside the checkout (../shared) locally and in CI.
SHARED_DATA = Path(os.environ.get("ADQM_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_CMS = SHARED_DATA / "real" / "cms-dqm"
REAL_GENERIC = SHARED_DATA / "real" / "root-generic"
VECTORS = SHARED_DATA / "vectors" / "comparators.json"


@pytest.fixture(autouse=True, scope="session")
def static_root_exists():
    """Create STATIC_ROOT: WhiteNoise warns when it is missing, and warnings fail the tests."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def need_shared_data():
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared test data folder {SHARED_DATA} is missing")
        pytest.skip(f"the shared test data folder {SHARED_DATA} is missing")


@pytest.fixture
def site_dirs(tmp_path, settings):
    """Point ADQM_DB and ADQM_TMP at empty folders of this test."""
    settings.ADQM_DB = tmp_path / "dqm"
    settings.ADQM_TMP = tmp_path / "artifacts"
    settings.ADQM_DB.mkdir()
    settings.ADQM_TMP.mkdir()
    return settings


@pytest.fixture
def demo_site(site_dirs, db):
    """A site with the shipped configs loaded and the demo CSC runs registered."""
    from django.core.management import call_command

    from runs.demo import write_demo_files
    from runs.registry import scan_folder

    call_command("load_configs", str(CONFIGS), verbosity=0)
    write_demo_files(site_dirs.ADQM_DB)
    scan_folder(site_dirs.ADQM_DB)
    return site_dirs


def demo_description():
    import json

    return json.loads((FIXTURES / "demo.json").read_text())


def demo_reference_runs():
    return [entry["run"] for entry in demo_description()["reference_runs"]]
