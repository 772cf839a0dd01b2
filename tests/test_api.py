"""The read-only JSON API."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from comparisons.api import estimate_remaining, finite, format_duration
from comparisons.models import Annotation, Comparison, HistogramResult, RunQuality, Subsystem
from comparisons.requests import create_comparison, resolve_request
from runs.models import Run
from tests.ui_site import DATASET, csc_configs, demo_folder, run_demo_comparison, ui_site  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def comparison(ui_site):
    return run_demo_comparison()


def test_estimate_remaining():
    assert estimate_remaining(10, 40, 30.0) == pytest.approx(90.0)
    assert estimate_remaining(0, 40, 30.0) is None
    assert estimate_remaining(40, 40, 30.0) == 0.0
    assert estimate_remaining(5, 0, 3.0) is None


def test_format_duration():
    assert format_duration(None) == ""
    assert format_duration(4.4) == "4 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(7620) == "2 h 07 min"


def test_finite():
    assert finite(float("nan")) is None
    assert finite(float("inf")) is None
    assert finite(2.5) == 2.5
    assert finite(None) is None


def test_comparison_detail(client, comparison):
    body = client.get(reverse("api-comparison", args=[comparison.pk])).json()
    assert body["status"] == "done"
    assert body["subsystem"] == "CSC"
    assert body["config_version"] == 1
    assert body["version"] == 1
    assert body["data_run"] == {"number": 355200, "dataset": DATASET}
    assert [run["number"] for run in body["reference_runs"]] == [355100, 355101, 355102]
    assert body["progress"]["done"] == body["progress"]["total"] == 44
    assert body["counts"] == {"total": 44, "outliers": 3, "not_comparable": 0}
    assert body["report_url"].startswith("http://testserver/compare/CSC/ZeroBias/")
    assert len(body["results"]) == 44
    first = body["results"][0]
    assert first["outlier"] is True
    assert first["png"] == f"http://testserver/results/{first['id']}.png"
    assert set(first) >= {"histogram", "comparator", "chi2", "max_pull", "thresholds", "entries_refs", "annotation"}


def test_comparison_detail_options(client, comparison):
    url = reverse("api-comparison", args=[comparison.pk])
    assert "results" not in client.get(url, {"results": "0"}).json()
    outliers = client.get(url, {"outliers": "1"}).json()["results"]
    assert {row["histogram"] for row in outliers} == {
        "Occupancy/hOWires", "Segments/hSTimeCombined", "recHits/hRHGlobalp2"
    }


def test_comparison_detail_annotation_and_nan(client, comparison):
    row = comparison.results.get(histogram="Segments/hSTimeCombined")
    author = get_user_model().objects.create_user("shifter")
    Annotation.record(row, "problem", "late", author)
    Annotation.record(row, "known_issue", "timing constant", author)
    HistogramResult.objects.filter(pk=row.pk).update(chi2=float("nan"))
    results = client.get(reverse("api-comparison", args=[comparison.pk]), {"outliers": "1"}).json()["results"]
    found = next(item for item in results if item["id"] == row.pk)
    assert found["annotation"]["verdict"] == "known_issue"
    assert found["annotation"]["author"] == "shifter"
    assert found["annotation"]["comment"] == "timing constant"
    assert found["chi2"] is None


def test_running_progress(client, ui_site):
    comparison = create_comparison(resolve_request("CSC", 355200, [355100]))
    Comparison.objects.filter(pk=comparison.pk).update(
        status="running", started_at=timezone.now() - timedelta(seconds=20), progress_done=5, progress_total=25
    )
    progress = client.get(reverse("api-comparison", args=[comparison.pk]), {"results": "0"}).json()["progress"]
    assert progress["elapsed_seconds"] == pytest.approx(20, abs=2)
    assert progress["remaining_seconds"] == pytest.approx(80, abs=8)
    assert progress["queue_position"] is None


def test_unknown_comparison_is_json_404(client, ui_site):
    response = client.get(reverse("api-comparison", args=[12345]))
    assert response.status_code == 404
    assert response.json() == {"error": "comparison 12345 does not exist"}


def test_comparison_list_paginated(client, ui_site):
    for data_run in (355200, 355201, 355202):
        create_comparison(resolve_request("CSC", data_run, [355100]))
    first = client.get(reverse("api-comparisons"), {"page_size": 2}).json()
    assert first["count"] == 3
    assert first["pages"] == 2
    assert first["previous"] is None
    assert [item["data_run"]["number"] for item in first["results"]] == [355202, 355201]
    second = client.get(first["next"]).json()
    assert [item["data_run"]["number"] for item in second["results"]] == [355200]
    assert second["next"] is None
    assert second["previous"].endswith("page=1&page_size=2")


def test_comparison_list_filters(client, comparison):
    create_comparison(resolve_request("CSC", 355201, [355100]))
    url = reverse("api-comparisons")
    assert client.get(url, {"status": "done"}).json()["count"] == 1
    assert client.get(url, {"status": "active"}).json()["count"] == 1
    assert client.get(url, {"run": "355201"}).json()["count"] == 1
    assert client.get(url, {"subsystem": "HCAL"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"page": "0"}, 400, "page='0' is invalid"),
        ({"page_size": "x"}, 400, "page_size='x' is invalid"),
        ({"page": "9"}, 404, "page 9 does not exist; there are 1 pages"),
        ({"status": "sleeping"}, 400, "status='sleeping' is invalid"),
    ],
)
def test_comparison_list_errors(client, ui_site, params, status, message):
    response = client.get(reverse("api-comparisons"), params)
    assert response.status_code == status
    assert response.json()["error"].startswith(message)


def test_page_size_capped(client, ui_site):
    body = client.get(reverse("api-runs"), {"page_size": "100000"}).json()
    assert body["pages"] == 1
    assert body["count"] == 6


def test_runs_list(client, ui_site):
    RunQuality.record(Run.objects.get(number=355100), Subsystem.objects.get(name="CSC"), "good", "", None)
    body = client.get(reverse("api-runs"), {"dataset": DATASET, "page_size": 3}).json()
    assert body["count"] == 6
    assert [run["number"] for run in body["results"]] == [355202, 355201, 355200]
    run = body["results"][0]
    assert run["dataset"] == DATASET
    assert run["files"][0]["kind"] == "offline"
    assert run["files"][0]["name"].endswith("__DQMIO.root")
    last = client.get(reverse("api-runs"), {"number": "355100"}).json()["results"][0]
    assert last["quality"][0]["verdict"] == "good"
    assert last["quality"][0]["subsystem"] == "CSC"


def test_runs_list_filters(client, ui_site):
    assert client.get(reverse("api-runs"), {"source": "online"}).json()["count"] == 0
    response = client.get(reverse("api-runs"), {"dataset": "ZeroBias"})
    assert response.status_code == 400
    assert "invalid dataset name" in response.json()["error"]


def test_api_is_read_only(client, ui_site):
    assert client.post(reverse("api-comparisons")).status_code == 405
    assert client.post(reverse("api-runs")).status_code == 405


def test_comparison_list_query_count(client, ui_site, django_assert_max_num_queries):
    for data_run in (355200, 355201, 355202):
        create_comparison(resolve_request("CSC", data_run, [355100, 355101]))
    with django_assert_max_num_queries(6):
        body = client.get(reverse("api-comparisons")).json()
    assert [run["number"] for run in body["results"][0]["reference_runs"]] == [355100, 355101]
