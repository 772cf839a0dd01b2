"""The comparison form, its pickers, the input preview and starting a comparison."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_q.models import OrmQ

from comparisons.models import Comparison, RunQuality, Subsystem
from runs.models import Run
from tests.ui_site import DATASET, csc_configs, demo_folder, online_folder, online_runs, ui_site  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.django_db,
    # WhiteNoise warns when STATIC_ROOT was never filled by collectstatic; the tests need no static files.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

GOOD_INPUT = {
    "source": "offline",
    "subsystem": "CSC",
    "data_dataset": DATASET,
    "data_run": "355200",
    "ref_dataset": "",
    "ref_runs": "355100,355101",
}


@pytest.fixture
def shifter(client):
    user = get_user_model().objects.create_user("shifter", password="pass-for-tests")
    client.force_login(user)
    return user


@pytest.fixture
def queued(monkeypatch):
    """Record the comparisons handed to the task queue instead of queueing them."""
    calls = []
    monkeypatch.setattr("comparisons.views.queue_comparison", lambda comparison: calls.append(comparison.pk))
    return calls


def assert_nothing_queued(queued):
    assert Comparison.objects.count() == 0
    assert queued == []
    assert OrmQ.objects.count() == 0


def test_form_page_lists_subsystems_and_datasets(client, ui_site):
    response = client.get(reverse("comparison-new"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="CSC">CSC</option>' in page
    assert f'<option value="{DATASET}">' in page
    assert 'name="source" value="online"' in page


def test_form_page_keeps_input_from_query(client, ui_site):
    response = client.get(reverse("comparison-new"), {"subsystem": "CSC", "data_run": "355200", "ref_runs": "355100"})
    page = response.content.decode()
    assert 'value="355200"' in page
    assert 'value="355100"' in page
    assert '<option value="CSC" selected>' in page


def test_preview_shows_files_and_rules(client, ui_site):
    response = client.get(reverse("comparison-preview"), GOOD_INPUT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Check the input: CSC run 355200" in page
    assert "DQM_V0001_R000355200__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root" in page
    assert "DQM_V0001_R000355101__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root" in page
    assert "<code>Occupancy/hOWires</code>" in page
    assert "36 × 20" in page
    assert "Entries, 355101" in page
    assert "Comparator pca will be skipped" in page
    assert response.context["preview"].histogram_count == 44


def test_preview_offers_login_to_anonymous(client, ui_site):
    page = client.get(reverse("comparison-preview"), GOOD_INPUT).content.decode()
    assert "Log in to start" in page
    assert 'action="/comparisons/start/"' not in page


def test_preview_has_start_form_with_csrf(client, ui_site, shifter):
    page = client.get(reverse("comparison-preview"), GOOD_INPUT).content.decode()
    assert 'action="/comparisons/start/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="ref_runs" value="355100,355101"' in page


def test_start_queues_and_redirects(client, ui_site, shifter, queued):
    response = client.post(reverse("comparison-start"), GOOD_INPUT)
    comparison = Comparison.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("comparison-status", args=[comparison.pk])
    assert queued == [comparison.pk]
    assert comparison.created_by == shifter
    assert [run.number for run in comparison.reference_runs()] == [355100, 355101]


def test_start_needs_login(client, ui_site, queued):
    response = client.post(reverse("comparison-start"), GOOD_INPUT)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert_nothing_queued(queued)


def test_start_rejects_get(client, ui_site, shifter):
    assert client.get(reverse("comparison-start"), GOOD_INPUT).status_code == 405


def test_start_needs_csrf_token(ui_site, queued):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_user("strict"))
    response = client.post(reverse("comparison-start"), GOOD_INPUT)
    assert response.status_code == 403
    assert_nothing_queued(queued)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data_run": "999999"}, "unknown data run 999999"),
        ({"ref_runs": ""}, "choose at least one reference run"),
        ({"ref_runs": "355200"}, "reference run 355200 is the data run itself"),
        ({"ref_runs": "355100,abc"}, "reference run &#x27;abc&#x27; is not a run number"),
        ({"ref_runs": "355100,355100"}, "a reference run is listed twice"),
        ({"ref_runs": "123"}, "unknown reference run 123"),
        ({"data_run": "x"}, "The data run must be a run number"),
        ({"subsystem": "NOPE"}, "Unknown subsystem"),
        ({"data_dataset": "ZeroBias"}, "invalid dataset name"),
        ({"source": "online"}, "has no readable online DQM file"),
    ],
)
def test_bad_input_gets_message_and_nothing_queued(client, ui_site, shifter, queued, changes, message):
    response = client.post(reverse("comparison-start"), {**GOOD_INPUT, **changes})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert_nothing_queued(queued)


def test_bad_input_in_preview_shows_form(client, ui_site):
    response = client.get(reverse("comparison-preview"), {**GOOD_INPUT, "ref_runs": "355200"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "reference run 355200 is the data run itself" in page
    assert 'id="compare-form"' in page
    assert Comparison.objects.count() == 0


def test_choices_runs_search(client, ui_site):
    response = client.get(reverse("choices-runs"), {"source": "offline", "dataset": DATASET, "q": "3551"})
    assert response.status_code == 200
    assert [item["number"] for item in response.json()["runs"]] == [355102, 355101, 355100]


def test_choices_reject_unknown_source(client, ui_site):
    response = client.get(reverse("choices-runs"), {"source": "tape"})
    assert response.status_code == 400
    assert "unknown source 'tape'" in response.json()["error"]
    assert client.get(reverse("choices-datasets"), {"source": "tape"}).status_code == 400


def test_choices_datasets(client, ui_site):
    response = client.get(reverse("choices-datasets"), {"source": "offline"})
    assert response.json() == {"source": "offline", "datasets": [DATASET]}


def test_choices_references(client, ui_site):
    subsystem = Subsystem.objects.get(name="CSC")
    RunQuality.record(Run.objects.get(number=355100), subsystem, "good", "", None)
    response = client.get(
        reverse("choices-references"), {"subsystem": "CSC", "data_run": "355200", "data_dataset": DATASET}
    )
    body = response.json()
    assert response.status_code == 200
    assert [item["number"] for item in body["suggestions"]] == [355100, 355102, 355101]
    assert body["suggestions"][0]["good"] is True
    assert body["probe"] == "recHits/hRHnrechits"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"data_run": "355200"}, "choose the subsystem first"),
        ({"subsystem": "CSC"}, "choose the data run first"),
        ({"subsystem": "CSC", "data_run": "42"}, "data run 42 is not known"),
    ],
)
def test_choices_references_errors(client, ui_site, params, message):
    response = client.get(reverse("choices-references"), params)
    assert response.status_code == 400
    assert response.json()["error"] == message


def test_online_source_preview_and_start(client, online_runs, shifter, queued):
    online = {"source": "online", "subsystem": "CSC", "data_run": "355301", "ref_runs": "355300"}
    page = client.get(reverse("comparison-preview"), online).content.decode()
    assert "DQM_V0001_CSC_R000355301.root" in page
    assert "<td>online</td>" in page
    response = client.post(reverse("comparison-start"), online)
    assert response.status_code == 302
    assert queued == [Comparison.objects.get().pk]


def test_offline_run_rejected_for_online_source(client, online_runs, shifter, queued):
    mixed = {"source": "online", "subsystem": "CSC", "data_run": "355301", "ref_runs": "355100"}
    response = client.post(reverse("comparison-start"), mixed)
    assert response.status_code == 400
    assert "reference run 355100 ZeroBias/Run2022C-PromptReco-v1 has no readable online DQM file" in (
        response.content.decode()
    )
    assert_nothing_queued(queued)
