import pytest

from runs.naming import DqmName, parse_dqm_filename, split_dataset


def test_offline_name():
    name = parse_dqm_filename("DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root")
    assert name == DqmName(
        run=355200,
        primary_dataset="ZeroBias",
        era="Run2022C",
        processing="PromptReco-v1",
        kind="offline",
        folder="",
        tier="DQMIO",
    )
    assert name.dataset == "ZeroBias/Run2022C-PromptReco-v1"


def test_offline_name_from_path_and_url():
    base = "DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root"
    from_path = parse_dqm_filename(f"/data/dqm/000355xx/{base}")
    from_url = parse_dqm_filename(f"https://example.invalid/ROOT/OfflineData/Run2022/ZeroBias/{base}")
    assert from_path.run == 355200
    assert from_url.dataset == "ZeroBias/Run2022C-PromptReco-v1"


def test_online_name():
    name = parse_dqm_filename("DQM_V0001_L1T_R000355200.root")
    assert name.kind == "online"
    assert name.folder == "L1T"
    assert name.run == 355200
    assert name.primary_dataset == ""
    assert name.era == ""
    assert name.processing == ""
    assert name.dataset == ""


def test_online_folder_with_underscore():
    name = parse_dqm_filename("DQM_V0001_Pixel_Phase1_R000355200.root")
    assert name.folder == "Pixel_Phase1"
    assert name.run == 355200


def test_prefixed_reco_name():
    name = parse_dqm_filename(
        "reference_DQM_V0001_R000067141__GlobalCruzet4-A__CMSSW_2_1_X-Testing__RECO.root"
    )
    assert name.kind == "offline"
    assert name.run == 67141
    assert name.primary_dataset == "GlobalCruzet4-A"
    assert name.era == "CMSSW_2_1_X"
    assert name.processing == "Testing"
    assert name.tier == "RECO"
    assert name.dataset == "GlobalCruzet4-A/CMSSW_2_1_X-Testing"


def test_old_online_style_with_dataset():
    name = parse_dqm_filename("DQM_V0001_HLTOffline_R000000001_RelValZeeZmmMinBias.root")
    assert name.kind == "online"
    assert name.folder == "HLTOffline"
    assert name.run == 1
    assert name.primary_dataset == "RelValZeeZmmMinBias"
    assert name.dataset == "RelValZeeZmmMinBias"


def test_era_without_processing():
    name = parse_dqm_filename("DQM_V0001_R000000001__RelValHcal__CMSSW_1_7_0_pre12__DQMIO.root")
    assert name.era == "CMSSW_1_7_0_pre12"
    assert name.processing == ""
    assert name.dataset == "RelValHcal/CMSSW_1_7_0_pre12"


def test_relval_processing_keeps_later_dashes():
    name = parse_dqm_filename(
        "DQM_V0001_R000000001__RelValTTbar__CMSSW_12_0_0-120X_mcRun3_2021_realistic_v1-v1__DQMIO.root"
    )
    assert name.era == "CMSSW_12_0_0"
    assert name.processing == "120X_mcRun3_2021_realistic_v1-v1"


@pytest.mark.parametrize(
    "filename",
    [
        "csc_reference_cosmics.root",
        "SiStrip_Reference__2008-08-06.root",
        "DQM_V0001_R000355200.root",
        "DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root.gz",
        "DQM_V0001_L1T_R.root",
        "",
    ],
)
def test_unrecognised_names_give_none(filename):
    assert parse_dqm_filename(filename) is None


def test_split_dataset():
    assert split_dataset("ZeroBias/Run2022C-PromptReco-v1") == ("ZeroBias", "Run2022C", "PromptReco-v1")
    assert split_dataset("RelValHcal/CMSSW_1_7_0_pre12") == ("RelValHcal", "CMSSW_1_7_0_pre12", "")


def test_split_dataset_das_form():
    assert split_dataset("/ZeroBias/Run2023C-PromptReco-v1/DQMIO") == (
        "ZeroBias",
        "Run2023C",
        "PromptReco-v1",
    )


@pytest.mark.parametrize("text", ["ZeroBias", "", "/", "ZeroBias/", "a/b/c/d", "ZeroBias/-v1"])
def test_split_dataset_rejects(text):
    with pytest.raises(ValueError, match="invalid dataset name"):
        split_dataset(text)


def test_dataset_round_trip():
    name = parse_dqm_filename("DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root")
    assert split_dataset(name.dataset) == (name.primary_dataset, name.era, name.processing)
