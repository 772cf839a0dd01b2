import json

import pytest
from django.core.management import call_command

from comparisons.config_io import ConfigError, import_config, load_config_folder, validate_config
from comparisons.models import Subsystem
from tests.conftest import CONFIGS, SHARED_DATA, need_shared_data

pytestmark = pytest.mark.django_db

SHARED_CONFIGS = SHARED_DATA / "autodqm-configs"


def _config_files(folder):
    return sorted(path for path in folder.glob("*.json") if path.name != "main.json")


def test_shipped_configs_match_shared_copies():
    need_shared_data()
    for path in _config_files(SHARED_CONFIGS):
        assert (CONFIGS / path.name).read_bytes() == path.read_bytes(), path.name


def test_every_real_config_round_trips(tmp_path):
    need_shared_data()
    loaded, errors = load_config_folder(SHARED_CONFIGS)
    assert errors == []
    assert len(loaded) == 15
    for path in _config_files(SHARED_CONFIGS):
        out = tmp_path / path.name
        call_command("export_config", path.stem, output=str(out))
        assert json.loads(out.read_text()) == json.loads(path.read_text()), path.name


def test_export_keeps_key_order():
    config = {"run_reg": "x", "main_gdir": "A/", "hists": [{"path": "h", "jar_dir": "J", "always_show": True}]}
    subsystem = import_config("Ordered", config)
    exported = subsystem.to_config()
    assert list(exported) == ["run_reg", "main_gdir", "hists"]
    assert list(exported["hists"][0]) == ["path", "jar_dir", "always_show"]


def test_integer_range_exported_as_integer():
    subsystem = import_config("Ints", {"main_gdir": "A/", "hists": [{"path": "h", "xmin": 60, "xmax": 2.5}]})
    rule = subsystem.to_config()["hists"][0]
    assert rule["xmin"] == 60 and isinstance(rule["xmin"], int)
    assert rule["xmax"] == 2.5


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"hists": []}, "missing 'main_gdir'"),
        ({"main_gdir": "A/"}, "missing 'hists'"),
        ({"main_gdir": "A/", "hists": [{}]}, "hists[0] has no 'path'"),
        ({"main_gdir": "A/", "hists": [{"path": "h", "norm_type": "diag"}]}, "norm_type must be all, row or col"),
        ({"main_gdir": "A/", "hists": [{"path": "h", "comparators": ["chi3"]}]}, "unknown comparators"),
        ({"main_gdir": "A/", "hists": [{"path": "h", "xmin": "low"}]}, "xmin must be a number"),
        ({"main_gdir": "A/", "hists": [{"path": "h", "opts": ["chi2_cut=abc"]}]}, "opts"),
    ],
)
def test_bad_config_rejected(config, message):
    with pytest.raises(ConfigError) as error:
        validate_config("Bad", config)
    assert message in str(error.value)
    assert "config Bad" in str(error.value)


def test_bad_file_reported_and_others_loaded(tmp_path):
    (tmp_path / "Good.json").write_text(json.dumps({"main_gdir": "A/", "hists": [{"path": "h"}]}))
    (tmp_path / "Broken.json").write_text("{not json")
    loaded, errors = load_config_folder(tmp_path)
    assert loaded == ["Good"]
    assert len(errors) == 1
    assert "Broken.json" in errors[0]


def test_reimport_unchanged_keeps_version():
    config = {"main_gdir": "A/", "hists": [{"path": "h"}]}
    import_config("Same", config)
    import_config("Same", config)
    assert Subsystem.objects.get(name="Same").versions.count() == 1
    import_config("Same", {**config, "hists": [{"path": "h2"}]})
    assert Subsystem.objects.get(name="Same").versions.count() == 2


def test_load_configs_command_defaults_to_fixtures(settings, capsys):
    settings.ADQM_CONFIG = ""
    call_command("load_configs")
    assert Subsystem.objects.filter(name="HcalRecHits").exists()
    assert Subsystem.objects.count() == 16


def test_rule_clean_rejects_unknown_comparator():
    from django.core.exceptions import ValidationError

    subsystem = import_config("Edited", {"main_gdir": "A/", "hists": [{"path": "h"}]})
    rule = subsystem.rules.get()
    rule.comparators = ["chi3"]
    with pytest.raises(ValidationError, match="unknown comparators"):
        rule.clean()
    rule.comparators = ["ks_test"]
    rule.opts = ["pull_cut=high"]
    with pytest.raises(ValidationError, match="opts"):
        rule.clean()
    rule.opts = ["pull_cut=5"]
    rule.clean()


def test_only_new_keeps_edited_subsystem(tmp_path):
    (tmp_path / "Kept.json").write_text(json.dumps({"main_gdir": "A/", "hists": [{"path": "h"}]}))
    load_config_folder(tmp_path)
    subsystem = Subsystem.objects.get(name="Kept")
    subsystem.main_gdir = "Edited/"
    subsystem.save()
    (tmp_path / "Added.json").write_text(json.dumps({"main_gdir": "B/", "hists": [{"path": "g"}]}))
    loaded, errors = load_config_folder(tmp_path, only_new=True)
    assert loaded == ["Added"]
    assert errors == []
    assert Subsystem.objects.get(name="Kept").main_gdir == "Edited/"
