import shutil

import pytest
from django.core.management import CommandError, call_command

from runs.models import Run, RunFile
from tests.conftest import FIXTURES, REAL_CMS, need_shared_data

pytestmark = pytest.mark.django_db

HCAL_NEW = FIXTURES / "real" / "HcalRecHitsValidationHB__2007-11-16.root"


def test_offline_and_online_names_registered(tmp_path, capsys):
    need_shared_data()
    shutil.copy(REAL_CMS / "csc_reference_collisions.root", tmp_path / "DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root")
    shutil.copy(REAL_CMS / "csc_reference_collisions.root", tmp_path / "DQM_V0001_CSC_R000355201.root")
    call_command("scan_runs", str(tmp_path))
    offline = Run.objects.get(number=355200)
    assert offline.dataset == "ZeroBias/Run2022C-PromptReco-v1"
    assert offline.files.get().kind == RunFile.OFFLINE
    online = Run.objects.get(number=355201)
    assert online.files.get().online_folder == "CSC"
    assert "2 registered" in capsys.readouterr().out


def test_unreadable_file_skipped_by_name(tmp_path, capsys):
    good = tmp_path / "DQM_V0001_R000355100__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root"
    shutil.copy(HCAL_NEW, good)
    bad = tmp_path / "DQM_V0001_R000355204__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root"
    bad.write_text("this is not a ROOT file\n")
    truncated = tmp_path / "DQM_V0001_R000355203__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root"
    truncated.write_bytes(HCAL_NEW.read_bytes()[:20000])
    call_command("scan_runs", str(tmp_path))
    output = capsys.readouterr()
    assert Run.objects.filter(number=355100).exists()
    assert not Run.objects.filter(number__in=[355203, 355204]).exists()
    assert bad.name in output.err
    assert truncated.name in output.err
    assert "1 registered" in output.out


def test_file_with_other_name_needs_run(tmp_path, capsys):
    path = tmp_path / "HcalRecHitsValidationHB__2007-11-16.root"
    shutil.copy(HCAL_NEW, path)
    call_command("scan_runs", str(path))
    assert "--run N --dataset" in capsys.readouterr().err
    call_command("scan_runs", str(path), run=1, dataset="RelValHcal/CMSSW_1_7_0_pre12")
    run = Run.objects.get(number=1)
    assert run.dataset == "RelValHcal/CMSSW_1_7_0_pre12"
    assert run.files.get().kind == RunFile.LOCAL


def test_rescan_keeps_runs(tmp_path, capsys):
    shutil.copy(HCAL_NEW, tmp_path / "DQM_V0001_R000355100__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root")
    call_command("scan_runs", str(tmp_path))
    call_command("scan_runs", str(tmp_path))
    assert Run.objects.count() == 1
    assert "1 already known" in capsys.readouterr().out


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("scan_runs", str(tmp_path / "nowhere"))
