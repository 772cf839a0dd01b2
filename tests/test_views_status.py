"""The status page of one comparison: queued, running, done and failed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from comparisons.models import Comparison
from comparisons.requests import create_comparison, resolve_request
from tests.ui_site import csc_configs, demo_folder, run_demo_comparison, ui_site  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def queued(ui_site):
    return create_comparison(resolve_request("CSC", 355200, [355100, 355101]))


def status_page(client, comparison):
    response = client.get(reverse("comparison-status", args=[comparison.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_queued_shows_waiting(client, queued):
    earlier = create_comparison(resolve_request("CSC", 355201, [355100]))
    Comparison.objects.filter(pk=earlier.pk).update(created_at=queued.created_at - timedelta(seconds=5))
    page = status_page(client, queued)
    assert 'class="status queued"' in page
    assert "waiting for a worker" in page
    assert ", 1 ahead" in page
    assert "This page updates by itself" in page
    assert f'data-api="/api/comparisons/{queued.pk}/?results=0"' in page
    assert 'id="stuck-note" hidden' in page


def test_long_queued_names_the_worker(client, queued):
    Comparison.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    page = status_page(client, queued)
    assert 'id="stuck-note" hidden' not in page
    assert "python manage.py qcluster" in page


def test_running_shows_progress_and_estimate(client, queued):
    started = timezone.now() - timedelta(seconds=30)
    Comparison.objects.filter(pk=queued.pk).update(
        status=Comparison.RUNNING, started_at=started, progress_done=10, progress_total=40, stage="scoring histograms"
    )
    page = status_page(client, queued)
    assert 'class="status running"' in page
    assert "10 / 40" in page
    assert "scoring histograms" in page
    assert "30 s" in page
    # 10 histograms took 30 s, so the 30 left take about 90 s.
    assert "1 min 30 s" in page
    assert 'id="remaining-box" hidden' not in page


def test_failed_shows_reason(client, queued):
    queued.claim()
    queued.fail("data run 355200: /data/x.root: file not found")
    page = status_page(client, queued)
    assert 'class="status failed"' in page
    assert "The comparison failed." in page
    assert "data run 355200: /data/x.root: file not found" in page
    assert 'id="failure" hidden' not in page


def test_done_links_report(client, ui_site):
    comparison = run_demo_comparison()
    page = status_page(client, comparison)
    assert 'class="status done"' in page
    assert "3 outliers" in page
    assert f"{comparison.get_absolute_url()}?version=1" in page
    assert 'id="done-box" hidden' not in page


def test_unknown_comparison_is_404(client, ui_site):
    assert client.get(reverse("comparison-status", args=[999])).status_code == 404


def test_home_lists_active_and_finished(client, queued):
    done = run_demo_comparison(data_run=355201)
    page = client.get(reverse("home")).content.decode()
    assert "Running now" in page
    assert f'href="/comparisons/{queued.pk}/" class="status queued"' in page
    assert f"{done.get_absolute_url()}?version=1" in page
    assert "no outlier of 44" in page
