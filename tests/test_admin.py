import io
import json
import zipfile

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from comparisons.admin import INLINE_RULE_LIMIT
from comparisons.config_io import import_config
from comparisons.models import Annotation, HistogramRule, RunQuality, Subsystem, SubsystemVersion
from comparisons.requests import ComparisonRequest, create_comparison
from runs.models import Run
from tests.conftest import SHARED_DATA, need_shared_data
from tests.history_factory import build_history

pytestmark = pytest.mark.django_db

SHARED_CONFIGS = SHARED_DATA / "autodqm-configs"
IMPORT_URL = reverse("admin:comparisons_subsystem_import")
SUBSYSTEMS_URL = reverse("admin:comparisons_subsystem_changelist")
SMALL_CONFIG = {
    "comparators": ["beta_binomial"],
    "hists": [
        {"path": "Occupancy/hOWires", "opts": ["logy"]},
        {"path": "Segments/hSTimeCombined", "always_show": True},
    ],
    "main_gdir": "DQMData/Run {0}/CSC/Run summary/CSCOfflineMonitor/",
    "run_reg": "csc",
}


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    # WhiteNoise warns about a missing STATIC_ROOT, and warnings fail the tests.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()
    # The admin user of every test gets a password; a fast hasher saves most of the setup time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _config_files():
    need_shared_data()
    files = sorted(path for path in SHARED_CONFIGS.glob("*.json") if path.name != "main.json")
    assert len(files) == 15
    return files


def _upload(name, content):
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    return SimpleUploadedFile(name, data, content_type="application/json")


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def _export(client, subsystem):
    response = client.get(reverse("admin:comparisons_subsystem_export", args=[subsystem.pk]))
    assert response.status_code == 200
    return json.loads(response.content)


# --- import and export ----------------------------------------------------------------


def test_fifteen_configs_round_trip(admin_client):
    files = _config_files()
    handles = [path.open("rb") for path in files]
    try:
        response = admin_client.post(IMPORT_URL, {"files": handles})
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 302
    assert all(" imported subsystem " in message for message in _messages(response))
    for path in files:
        subsystem = Subsystem.objects.get(name=path.stem)
        assert _export(admin_client, subsystem) == json.loads(path.read_text()), path.name


def test_export_action_zips_several(admin_client):
    files = _config_files()
    for path in files:
        with path.open("rb") as handle:
            admin_client.post(IMPORT_URL, {"files": [handle]})
    selected = [str(pk) for pk in Subsystem.objects.values_list("pk", flat=True)]
    response = admin_client.post(SUBSYSTEMS_URL, {"action": "export_json", "_selected_action": selected})
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(path.name for path in files)
    for path in files:
        assert json.loads(archive.read(path.name)) == json.loads(path.read_text()), path.name


def test_export_action_one_gives_json(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    response = admin_client.post(SUBSYSTEMS_URL, {"action": "export_json", "_selected_action": [subsystem.pk]})
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="CSC.json"'
    assert json.loads(response.content) == SMALL_CONFIG


def test_import_page_renders(admin_client):
    response = admin_client.get(IMPORT_URL)
    assert response.status_code == 200
    assert "Import AutoDQM JSON configs" in response.content.decode()
    listing = admin_client.get(SUBSYSTEMS_URL).content.decode()
    assert IMPORT_URL in listing


def test_import_without_files_shows_form(admin_client):
    response = admin_client.post(IMPORT_URL, {})
    assert response.status_code == 200
    assert response.context["form"].errors["files"]


def test_import_rejects_invalid_json(admin_client):
    response = admin_client.post(IMPORT_URL, {"files": [_upload("Broken.json", b"{not json")]})
    messages = _messages(response)
    assert len(messages) == 1
    assert "Broken.json" in messages[0]
    assert "not valid JSON" in messages[0]
    assert not Subsystem.objects.filter(name="Broken").exists()


def test_import_names_file_and_key(admin_client):
    config = {"main_gdir": "A/", "hists": [{"path": "h1"}, {"path": "h2", "norm_type": "diag"}]}
    response = admin_client.post(IMPORT_URL, {"files": [_upload("Bad.json", config)]})
    [message] = _messages(response)
    assert message.startswith("Bad.json not imported")
    assert "hists[1] (h2).norm_type" in message
    assert not Subsystem.objects.filter(name="Bad").exists()


def test_import_keeps_good_files_beside_bad(admin_client):
    uploads = [_upload("CSC.json", SMALL_CONFIG), _upload("Bad.json", {"hists": []})]
    response = admin_client.post(IMPORT_URL, {"files": uploads})
    messages = _messages(response)
    assert any("imported subsystem CSC with 2 rules" in message for message in messages)
    assert any("Bad.json" in message and "main_gdir" in message for message in messages)
    assert list(Subsystem.objects.values_list("name", flat=True)) == ["CSC"]


def test_import_existing_needs_replace(admin_client):
    import_config("CSC", SMALL_CONFIG)
    changed = {**SMALL_CONFIG, "hists": SMALL_CONFIG["hists"][:1]}
    response = admin_client.post(IMPORT_URL, {"files": [_upload("CSC.json", changed)]})
    [message] = _messages(response)
    assert "exists already" in message
    assert Subsystem.objects.get(name="CSC").rules.count() == 2
    response = admin_client.post(IMPORT_URL, {"files": [_upload("CSC.json", changed)], "replace": "on"})
    subsystem = Subsystem.objects.get(name="CSC")
    assert subsystem.rules.count() == 1
    assert subsystem.version == 2
    assert subsystem.versions.get(number=2).note == "imported from CSC.json in the admin"


def test_import_skips_main_json(admin_client):
    response = admin_client.post(IMPORT_URL, {"files": [_upload("main.json", {"OnlineDataMap": {}})]})
    [message] = _messages(response)
    assert "main.json skipped" in message
    assert not Subsystem.objects.exists()


def test_import_needs_permission(client):
    staff = get_user_model().objects.create_user("viewer", password="viewer", is_staff=True)
    client.force_login(staff)
    assert client.get(IMPORT_URL).status_code == 403


# --- editing and versions ---------------------------------------------------------------


def _post_value(bound):
    value = bound.value()
    widget = bound.field.widget
    if isinstance(widget, forms.NullBooleanSelect):
        return {True: "true", False: "false"}.get(value, "unknown")
    if isinstance(widget, forms.CheckboxInput):
        return "on" if value else None
    return "" if value is None else value


def _form_data(form):
    data = {}
    for bound in form:
        value = _post_value(bound)
        if value is not None:
            data[bound.html_name] = value
    return data


def _change_form_data(response):
    """Return the POST data of an admin change form as the browser would send it unchanged."""
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(_form_data(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(_form_data(form))
    return data


def _change_url(subsystem):
    return reverse("admin:comparisons_subsystem_change", args=[subsystem.pk])


def test_unchanged_save_keeps_version(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    url = _change_url(subsystem)
    response = admin_client.post(url, _change_form_data(admin_client.get(url)))
    assert response.status_code == 302
    assert subsystem.versions.count() == 1
    subsystem.refresh_from_db()
    assert subsystem.version == 1
    assert subsystem.to_config() == SMALL_CONFIG


def test_inline_rule_edit_records_version(admin_client, admin_user):
    subsystem = import_config("CSC", SMALL_CONFIG)
    url = _change_url(subsystem)
    data = _change_form_data(admin_client.get(url))
    data["rules-0-opts"] = '["logy", "chi2_cut=20"]'
    response = admin_client.post(url, data)
    assert response.status_code == 302
    subsystem.refresh_from_db()
    assert subsystem.version == 2
    latest = subsystem.versions.get(number=2)
    assert latest.config["hists"][0]["opts"] == ["logy", "chi2_cut=20"]
    assert latest.created_by == admin_user
    assert latest.note == "edited in the admin"


def test_comparison_records_version_used(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    data_run, reference = Run.objects.create(number=2), Run.objects.create(number=1)
    before = create_comparison(ComparisonRequest(subsystem, data_run, [reference]))
    url = _change_url(subsystem)
    data = _change_form_data(admin_client.get(url))
    data["main_gdir"] = "DQMData/Run {0}/CSC/Run summary/Other/"
    admin_client.post(url, data)
    after = create_comparison(ComparisonRequest(subsystem, data_run, [reference]))
    assert before.config_version.number == 1
    assert after.config_version.number == 2
    assert after.config_version.config["main_gdir"] == "DQMData/Run {0}/CSC/Run summary/Other/"


def test_new_inline_rule_goes_last(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    url = _change_url(subsystem)
    data = _change_form_data(admin_client.get(url))
    data.update({
        "rules-TOTAL_FORMS": "3", "rules-2-position": "0", "rules-2-path": "Digis/hWireTBin_*",
        "rules-2-comparators": "", "rules-2-opts": '["logy"]', "rules-2-always_show": "unknown",
        "rules-2-subsystem": str(subsystem.pk),
    })
    response = admin_client.post(url, data)
    assert response.status_code == 302
    exported = Subsystem.objects.get(pk=subsystem.pk).to_config()
    assert [rule["path"] for rule in exported["hists"]] == [
        "Occupancy/hOWires", "Segments/hSTimeCombined", "Digis/hWireTBin_*",
    ]
    assert exported["hists"][2] == {"path": "Digis/hWireTBin_*", "opts": ["logy"]}


def test_emptied_json_fields_stay_valid(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    url = _change_url(subsystem)
    data = _change_form_data(admin_client.get(url))
    assert data["thresholds_fit"] == ""
    data["extra"] = ""
    data["rules-0-opts"] = ""
    assert admin_client.post(url, data).status_code == 302
    exported = Subsystem.objects.get(pk=subsystem.pk).to_config()
    assert "run_reg" not in exported
    assert exported["hists"][0] == {"path": "Occupancy/hOWires"}


def test_large_subsystem_edited_in_rule_list(admin_client):
    config = {"main_gdir": "DT/", "hists": [{"path": f"Wheel{index}/h"} for index in range(INLINE_RULE_LIMIT + 1)]}
    subsystem = import_config("DT_big", config)
    response = admin_client.get(_change_url(subsystem))
    assert response.context["inline_admin_formsets"] == []
    assert "too many to edit on this page" in response.content.decode()
    rule = subsystem.rules.get(path="Wheel3/h")
    rule_url = reverse("admin:comparisons_histogramrule_change", args=[rule.pk])
    data = _form_data(admin_client.get(rule_url).context["adminform"].form)
    data["opts"] = '["pull_cut=6"]'
    assert admin_client.post(rule_url, data).status_code == 302
    subsystem.refresh_from_db()
    assert subsystem.version == 2
    assert subsystem.versions.get(number=2).config["hists"][3] == {"path": "Wheel3/h", "opts": ["pull_cut=6"]}


def test_rule_delete_records_version(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    rule = subsystem.rules.get(path="Occupancy/hOWires")
    url = reverse("admin:comparisons_histogramrule_changelist")
    response = admin_client.post(url, {"action": "delete_selected", "_selected_action": [rule.pk], "post": "yes"})
    assert response.status_code == 302
    subsystem.refresh_from_db()
    assert subsystem.version == 2
    assert [rule["path"] for rule in subsystem.versions.get(number=2).config["hists"]] == ["Segments/hSTimeCombined"]


def test_version_restore_action(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    import_config("CSC", {**SMALL_CONFIG, "hists": []})
    first = subsystem.versions.get(number=1)
    url = reverse("admin:comparisons_subsystemversion_changelist")
    response = admin_client.post(url, {"action": "restore", "_selected_action": [first.pk]})
    assert response.status_code == 302
    subsystem.refresh_from_db()
    assert subsystem.version == 3
    assert subsystem.to_config() == SMALL_CONFIG


def test_version_page_shows_changes(admin_client):
    subsystem = import_config("CSC", SMALL_CONFIG)
    import_config("CSC", {**SMALL_CONFIG, "run_reg": "csc-2"})
    second = subsystem.versions.get(number=2)
    content = admin_client.get(reverse("admin:comparisons_subsystemversion_change", args=[second.pk])).content
    assert '+  &quot;run_reg&quot;: &quot;csc-2&quot;' in content.decode()


# --- read-only history ---------------------------------------------------------------------


@pytest.fixture
def history():
    built = build_history(n_runs=5)
    RunQuality.record(built.runs[0], built.subsystem, RunQuality.GOOD, "", None)
    Annotation.record(built.result(built.runs[1].number), Annotation.PROBLEM, "dead chambers", None)
    return built


@pytest.mark.parametrize("model", ["annotation", "subsystemversion"])
def test_history_is_read_only(admin_client, history, model):
    obj = Annotation.objects.get() if model == "annotation" else SubsystemVersion.objects.get()
    change_url = reverse(f"admin:comparisons_{model}_change", args=[obj.pk])
    assert admin_client.get(change_url).status_code == 200
    assert admin_client.post(change_url, {}).status_code == 403
    assert admin_client.get(reverse(f"admin:comparisons_{model}_add")).status_code == 403
    assert admin_client.post(reverse(f"admin:comparisons_{model}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert Annotation.objects.count() == 1


def test_annotation_page_shows_history(admin_client, history):
    result = history.result(history.runs[1].number)
    newer = Annotation.record(result, Annotation.FALSE_ALARM, "noisy chamber", None)
    content = admin_client.get(reverse("admin:comparisons_annotation_change", args=[newer.pk])).content.decode()
    assert "dead chambers" in content
    assert "noisy chamber" in content


def test_run_quality_added_as_new_verdict(admin_client, history):
    run = history.runs[0]
    data = {"run": run.pk, "subsystem": history.subsystem.pk, "verdict": RunQuality.BAD, "comment": "HV trip"}
    response = admin_client.post(reverse("admin:comparisons_runquality_add"), data)
    assert response.status_code == 302
    verdicts = RunQuality.objects.filter(run=run).order_by("created_at")
    assert [verdict.verdict for verdict in verdicts] == ["good", "bad"]
    assert verdicts[0].superseded_by == verdicts[1]
    change_url = reverse("admin:comparisons_runquality_change", args=[verdicts[1].pk])
    assert admin_client.post(change_url, {**data, "verdict": "good"}).status_code == 403


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("admin:comparisons_subsystem_changelist", {"q": "CSC"}),
        ("admin:comparisons_histogramrule_changelist", {"q": "hOWires"}),
        ("admin:comparisons_subsystemversion_changelist", {"subsystem__id__exact": "1"}),
        ("admin:comparisons_comparison_changelist", {"q": "355003"}),
        ("admin:comparisons_comparison_changelist", {"status__exact": "done", "data_run__era": "Run2022C"}),
        ("admin:comparisons_histogramresult_changelist", {"q": "Occupancy", "outlier__exact": "0"}),
        ("admin:comparisons_histogramresult_changelist", {"comparison__subsystem__id__exact": "1"}),
        ("admin:comparisons_annotation_changelist", {"current": "yes", "verdict__exact": "problem"}),
        ("admin:comparisons_annotation_changelist", {"q": "dead"}),
        ("admin:comparisons_runquality_changelist", {"current": "no"}),
        ("admin:runs_run_changelist", {"q": "355003"}),
        ("admin:runs_run_changelist", {"era": "Run2022C"}),
        ("admin:runs_runfile_changelist", {"kind__exact": "offline"}),
    ],
)
def test_list_pages_with_filters(admin_client, history, name, query):
    response = admin_client.get(reverse(name), query)
    assert response.status_code == 200
    assert "errornote" not in response.content.decode()


def test_comparison_list_columns(admin_client, history):
    response = admin_client.get(reverse("admin:comparisons_comparison_changelist"))
    content = response.content.decode()
    assert str(history.reference.number) in content
    assert reverse("admin:comparisons_subsystemversion_change", args=[history.comparisons[0].config_version_id]) in content
    assert history.comparisons[0].permalink_key in content


def test_result_list_links_trend(admin_client, history):
    content = admin_client.get(reverse("admin:comparisons_histogramresult_changelist")).content.decode()
    assert reverse("histogram-trend", kwargs={"subsystem": "CSC"}) + "?histogram=Occupancy%2FhOWires" in content
    assert ">problem<" in content


def test_run_admin_links_run_page(admin_client, history):
    run = history.runs[0]
    response = admin_client.get(reverse("admin:runs_run_change", args=[run.pk]))
    assert reverse("run-detail", kwargs={"pk": run.pk}) in response.content.decode()


def test_subsystem_list_links(admin_client, history):
    content = admin_client.get(SUBSYSTEMS_URL).content.decode()
    assert reverse("admin:comparisons_subsystem_export", args=[history.subsystem.pk]) in content
    assert reverse("subsystem-trend", kwargs={"subsystem": "CSC"}) in content
    assert HistogramRule.objects.filter(subsystem=history.subsystem).count() == 4
