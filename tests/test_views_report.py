"""The report page: toolbar choices, one histogram's panel, annotations, run quality, versions and permalinks."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from comparisons import views
from comparisons.models import Annotation, Comparison, HistogramResult, RunQuality
from comparisons.permalinks import versioned_url
from tests.ui_site import csc_configs, demo_folder, run_demo_comparison, ui_site  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]
OUTLIERS = {"Occupancy/hOWires", "Segments/hSTimeCombined", "recHits/hRHGlobalp2"}
FRAGMENT = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


@pytest.fixture
def comparison(ui_site):
    return run_demo_comparison()


@pytest.fixture
def shifter(client):
    user = get_user_model().objects.create_user("shifter", password="pass-for-tests")
    client.force_login(user)
    return user


def result(comparison, histogram):
    return comparison.results.get(histogram=histogram, comparator="beta_binomial")


def visible(response):
    return [row.histogram for row in response.context["results"] if row.visible]


def test_report_shows_outliers_by_default(client, comparison):
    response = client.get(versioned_url(comparison))
    assert response.status_code == 200
    assert response.context["state"].filter == "outliers"
    assert set(visible(response)) == OUTLIERS
    page = response.content.decode()
    assert "Outliers <span class=\"count\">3</span>" in page
    assert "All <span class=\"count\">44</span>" in page
    # Three tiles and the legend.
    assert page.count('<span class="badge outlier">Outlier</span>') == 4
    assert "Config <strong>version 1</strong>" in page
    assert "Report <strong>version 1</strong> of 1" in page


def test_report_all_sorted_by_chi2(client, comparison):
    response = client.get(versioned_url(comparison), {"filter": "all", "sort": "chi2"})
    names = visible(response)
    assert len(names) == 44
    chi2 = [row.chi2 for row in response.context["results"]]
    assert chi2 == sorted(chi2, reverse=True)
    assert names[0] == "Segments/hSTimeCombined"


def test_report_sort_by_pull_and_name(client, comparison):
    by_pull = visible(client.get(versioned_url(comparison), {"filter": "outliers", "sort": "max_pull"}))
    # |max pull|: 36.86, 36.83 and 33.97.
    assert by_pull == ["Segments/hSTimeCombined", "Occupancy/hOWires", "recHits/hRHGlobalp2"]
    by_name = visible(client.get(versioned_url(comparison), {"filter": "all", "sort": "name"}))
    assert by_name == sorted(by_name, key=str.lower)


def test_report_search_by_name(client, comparison):
    response = client.get(versioned_url(comparison), {"filter": "all", "q": "stime"})
    assert all("stime" in name.lower() for name in visible(response))
    assert "Segments/hSTimeCombined" in visible(response)


def test_report_comparator_choice(client, comparison):
    HistogramResult.objects.create(comparison=comparison, histogram="Segments/hSnhits", comparator="ks_test", ks=0.5)
    response = client.get(versioned_url(comparison), {"filter": "all", "comparator": "ks_test"})
    assert visible(response) == ["Segments/hSnhits"]
    assert response.context["comparators"] == ["beta_binomial", "ks_test"]
    fallback = client.get(versioned_url(comparison), {"comparator": "unknown"})
    assert fallback.context["state"].comparator == "beta_binomial"


def test_report_not_comparable_filter(client, comparison):
    row = result(comparison, "Digis/hStripNFired")
    HistogramResult.objects.filter(pk=row.pk).update(comparable=False, reason="missing from every reference file")
    response = client.get(versioned_url(comparison), {"filter": "not_comparable"})
    assert visible(response) == ["Digis/hStripNFired"]
    assert "missing from every reference file" in response.content.decode()


def test_report_without_outliers_shows_all(client, ui_site):
    quiet = run_demo_comparison(data_run=355201)
    response = client.get(versioned_url(quiet))
    assert response.context["state"].filter == "all"
    assert len(visible(response)) == 44


def test_filter_helpers():
    row = HistogramResult(histogram="A/hOne", comparator="c", outlier=True, comparable=True)
    state = views.ReportState(filter="outliers", query="hone", sort="chi2", comparator="c")
    assert views.row_matches(row, state)
    assert not views.row_matches(row, views.ReportState("annotated", "", "chi2", "c"))
    assert views.row_matches(row, views.ReportState("annotated", "", "chi2", "c"), annotation=object())
    assert not views.row_matches(row, views.ReportState("all", "", "chi2", "other"))
    nan = HistogramResult(histogram="b", chi2=float("nan"))
    high = HistogramResult(histogram="c", chi2=5.0)
    assert sorted([nan, high], key=views.sort_key("chi2")) == [high, nan]


def test_neighbour_runs_with_same_references(client, ui_site):
    before = run_demo_comparison(data_run=355200)
    middle = run_demo_comparison(data_run=355201)
    after = run_demo_comparison(data_run=355202)
    run_demo_comparison(data_run=355202, references=(355100,))
    page = client.get(versioned_url(middle)).content.decode()
    assert f'rel="prev" href="{before.get_absolute_url()}?version=1"' in page
    assert f'rel="next" href="{after.get_absolute_url()}?version=1"' in page
    first = client.get(versioned_url(before)).content.decode()
    assert 'rel="prev"' not in first


def test_panel_fragment_shows_text_and_links(client, comparison):
    row = result(comparison, "Segments/hSTimeCombined")
    response = client.get(reverse("result-panel", args=[row.pk]), **FRAGMENT)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert "histogram: Segments/hSTimeCombined" in page
    assert "verdict: OUTLIER" in page
    for kind in ("png", "pdf", "txt"):
        assert f'href="/results/{row.pk}.{kind}"' in page
    assert "Log in</a> to annotate" in page


def test_panel_without_script_opens_report(client, comparison):
    row = result(comparison, "Segments/hSTimeCombined")
    response = client.get(reverse("result-panel", args=[row.pk]))
    assert response.status_code == 302
    assert response.url == f"{versioned_url(comparison)}&h={row.pk}"
    page = client.get(response.url).content.decode()
    assert 'id="panel"' in page
    assert "histogram: Segments/hSTimeCombined" in page


def test_panel_shows_score_context(client, comparison, monkeypatch):
    row = result(comparison, "Segments/hSTimeCombined")
    monkeypatch.setattr(
        "comparisons.score_context.rank_scores", lambda rows: {row.pk: {"chi2": 97.0, "max_pull": 88.0, "count": 31}}
    )
    page = client.get(reverse("result-panel", args=[row.pk]), **FRAGMENT).content.decode()
    assert "higher than 97 % of this histogram's 31 earlier scores" in page
    assert "higher than 88 % of this histogram's 31 earlier scores" in page
    report = client.get(versioned_url(comparison)).content.decode()
    assert "chi2 higher than 97 % of this histogram's 31 earlier scores" in report


def test_panel_links_trend_when_page_exists(client, comparison, monkeypatch):
    row = result(comparison, "Segments/hSTimeCombined")
    monkeypatch.setattr(views, "optional_url", lambda name, query=None, **kwargs: f"/{name}/")
    page = client.get(reverse("result-panel", args=[row.pk]), **FRAGMENT).content.decode()
    assert 'href="/histogram-trend/"' in page


def test_optional_url_missing_name():
    assert views.optional_url("no-such-page", pk=1) == ""
    assert views.optional_url("comparison-status", pk=3) == "/comparisons/3/"


def test_annotate_keeps_history(client, comparison, shifter):
    row = result(comparison, "Segments/hSTimeCombined")
    url = reverse("result-annotate", args=[row.pk])
    first = client.post(url, {"verdict": "problem", "comment": "late segments"}, **FRAGMENT)
    assert first.status_code == 200
    second = client.post(url, {"verdict": "known_issue", "comment": "timing constant, fixed in run 355210"}, **FRAGMENT)
    page = second.content.decode()
    assert 'data-verdict="known_issue"' in page
    assert "timing constant, fixed in run 355210" in page
    assert "late segments" in page
    assert "(replaced)" in page
    assert row.annotations.count() == 2
    current = row.current_annotation()
    assert current.verdict == "known_issue"
    assert current.author == shifter
    assert row.annotations.get(verdict="problem").superseded_by == current


def test_annotation_shown_in_report(client, comparison, shifter):
    row = result(comparison, "Segments/hSTimeCombined")
    client.post(reverse("result-annotate", args=[row.pk]), {"verdict": "false_alarm", "comment": "beam splash"})
    response = client.get(versioned_url(comparison), {"filter": "annotated"})
    assert visible(response) == ["Segments/hSTimeCombined"]
    page = response.content.decode()
    assert '<span class="verdict false_alarm" title="beam splash">false alarm · shifter</span>' in page


def test_annotate_without_script_redirects(client, comparison, shifter):
    row = result(comparison, "Segments/hSTimeCombined")
    response = client.post(reverse("result-annotate", args=[row.pk]), {"verdict": "fine"})
    assert response.status_code == 302
    assert response.url == f"{versioned_url(comparison)}&h={row.pk}"
    assert row.current_annotation().verdict == "fine"


def test_annotate_rejects_bad_verdict(client, comparison, shifter):
    row = result(comparison, "Segments/hSTimeCombined")
    response = client.post(reverse("result-annotate", args=[row.pk]), {"verdict": "meh"}, **FRAGMENT)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Annotation.objects.exists()


def test_annotate_needs_login(client, comparison):
    row = result(comparison, "Segments/hSTimeCombined")
    url = reverse("result-annotate", args=[row.pk])
    assert client.post(url, {"verdict": "problem"}, **FRAGMENT).status_code == 403
    response = client.post(url, {"verdict": "problem"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Annotation.objects.exists()


def test_annotate_needs_csrf(comparison):
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_user("strict"))
    row = result(comparison, "Segments/hSTimeCombined")
    assert client.post(reverse("result-annotate", args=[row.pk]), {"verdict": "problem"}).status_code == 403
    assert not Annotation.objects.exists()


def test_report_forms_carry_csrf_token(client, comparison, shifter):
    page = client.get(versioned_url(comparison)).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3


def test_mark_run_quality(client, comparison, shifter):
    url = reverse("comparison-run-quality", args=[comparison.pk])
    response = client.post(url, {"verdict": "good", "comment": "stable beams"})
    assert response.status_code == 302
    client.post(url, {"verdict": "bad", "comment": "CSC HV trip"})
    current = RunQuality.objects.get(superseded_by__isnull=True)
    assert current.verdict == "bad"
    assert current.run == comparison.data_run
    assert current.subsystem == comparison.subsystem
    assert RunQuality.objects.count() == 2
    page = client.get(versioned_url(comparison)).content.decode()
    assert '<span class="badge bad">marked bad</span> by shifter' in page
    assert "CSC HV trip" in page


def test_mark_run_quality_needs_login(client, comparison):
    response = client.post(reverse("comparison-run-quality", args=[comparison.pk]), {"verdict": "good"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not RunQuality.objects.exists()


def test_rerun_keeps_older_version(client, comparison, shifter, monkeypatch):
    queued = []
    monkeypatch.setattr(views, "queue_comparison", lambda item: queued.append(item.pk))
    response = client.post(reverse("comparison-rerun", args=[comparison.pk]))
    newer = Comparison.objects.get(version=2)
    assert response.status_code == 302
    assert response.url == reverse("comparison-status", args=[newer.pk])
    assert queued == [newer.pk]
    assert newer.permalink_key == comparison.permalink_key
    assert [run.number for run in newer.reference_runs()] == [355100, 355101, 355102]
    # The newer version is queued, so the permalink still shows the finished one and links the newer.
    page = client.get(comparison.get_absolute_url()).content.decode()
    assert "Report <strong>version 1</strong> of 2" in page
    assert "Version 2 of this comparison is queued" in page


def test_permalink_versions(client, comparison, shifter):
    rule = comparison.subsystem.rules.get(path="Segments/hSTimeCombined*")
    rule.opts = ["chi2_cut=200"]
    rule.save()
    comparison.subsystem.record_version(note="changed cuts")
    newer = run_demo_comparison(user=shifter)
    assert newer.version == 2
    assert newer.config_version.number == 2
    latest = client.get(comparison.get_absolute_url())
    assert latest.context["comparison"] == newer
    older = client.get(comparison.get_absolute_url(), {"version": 1})
    assert older.context["comparison"] == comparison
    page = older.content.decode()
    assert "Config <strong>version 1</strong>" in page
    assert "version 2</a> is newer" in page
    missing = client.get(comparison.get_absolute_url(), {"version": 7})
    assert missing.context["comparison"] == newer
    assert "Version 7 of this comparison does not exist" in missing.content.decode()


def test_permalink_unknown_is_404(client, ui_site):
    assert client.get("/compare/CSC/ZeroBias/Run2022C-PromptReco-v1/1/vs/ZeroBias/Run2022C-PromptReco-v1/2/").status_code == 404


def test_report_by_id_redirects_to_permalink(client, comparison):
    response = client.get(reverse("comparison-report", args=[comparison.pk]))
    assert response.status_code == 302
    assert response.url == versioned_url(comparison)
    assert "/CSC/ZeroBias/Run2022C-PromptReco-v1/355200/vs/ZeroBias/Run2022C-PromptReco-v1/355100_355101_355102/" in (
        response.url
    )


def test_artifacts_drawn_on_request(client, comparison):
    row = result(comparison, "Digis/hStripNFired")
    for kind, content_type in (("png", "image/png"), ("pdf", "application/pdf"), ("txt", "text/plain; charset=utf-8")):
        response = client.get(reverse("result-artifact", args=[row.pk, kind]))
        # Reading the whole stream lets the test client close the file.
        body = b"".join(response.streaming_content)
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert body
    assert client.get(reverse("result-artifact", args=[row.pk, "svg"])).status_code == 404
