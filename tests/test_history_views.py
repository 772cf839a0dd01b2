from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comparisons.models import Annotation, Comparison, ComparisonReference, HistogramResult, RunQuality
from runs import history as run_history
from runs.models import Run, RunFile
from tests.history_factory import HISTOGRAMS, START, build_history, make_subsystem

pytestmark = pytest.mark.django_db

RUN_LIST = reverse("run-list")


@pytest.fixture(autouse=True)
def static_root(settings, tmp_path):
    # WhiteNoise warns about a missing STATIC_ROOT, and warnings fail the tests.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def history():
    """Ten CSC runs with scores, verdicts and annotations, and five GEM comparisons of the same runs."""
    built = build_history(n_runs=10)
    gem = make_subsystem("GEM", histograms=("GEMEfficiency/eff",))
    gem_version = gem.current_version()
    for index, run in enumerate(built.runs[:5]):
        comparison = Comparison.objects.create(
            subsystem=gem, config_version=gem_version, data_run=run, status=Comparison.DONE,
            permalink_key=f"GEM/{run.number}", created_at=START + timedelta(days=1, hours=index),
        )
        HistogramResult.objects.create(comparison=comparison, histogram="GEMEfficiency/eff",
                                       comparator="beta_binomial", chi2=1.0, max_pull=0.5)
    RunQuality.record(built.runs[0], built.subsystem, RunQuality.GOOD, "", None)
    RunQuality.record(built.runs[1], built.subsystem, RunQuality.BAD, "HV trip", None)
    Annotation.record(built.result(built.runs[2].number), Annotation.PROBLEM, "dead chambers", None)
    Annotation.record(built.result(built.runs[2].number, HISTOGRAMS[1]), Annotation.FINE, "", None)
    built.gem = gem
    return built


def _flag(comparison, histogram, outlier=False, comparable=True, max_pull=None):
    rows = HistogramResult.objects.filter(comparison=comparison, histogram=histogram)
    fields = {"outlier": outlier, "comparable": comparable}
    if max_pull is not None:
        fields["max_pull"] = max_pull
    rows.update(**fields)


def _clear_flags(comparison):
    HistogramResult.objects.filter(comparison=comparison).update(outlier=False, comparable=True)


def _run_numbers(response):
    return [row.run.number for row in response.context["rows"]]


# --- run list -----------------------------------------------------------------------------


def test_run_list_shows_latest_per_subsystem(client, history):
    response = client.get(RUN_LIST)
    assert response.status_code == 200
    rows = {row.run.number: row for row in response.context["rows"]}
    first = rows[history.runs[0].number]
    assert [entry.subsystem for entry in first.entries] == ["CSC", "GEM"]
    last = rows[history.runs[-1].number]
    assert [entry.subsystem for entry in last.entries] == ["CSC"]
    reference = rows[history.reference.number]
    assert reference.entries == []
    assert "no comparison of this run as data run" in response.content.decode()


def test_run_list_health_figure(client, history):
    comparison = history.comparisons[4]
    _clear_flags(comparison)
    _flag(comparison, HISTOGRAMS[0], outlier=True, max_pull=-12.0)
    _flag(comparison, HISTOGRAMS[1], comparable=False)
    HistogramResult.objects.filter(comparison=comparison, histogram=HISTOGRAMS[2]).update(max_pull=5.0)
    HistogramResult.objects.filter(comparison=comparison, histogram=HISTOGRAMS[3]).update(max_pull=None)
    response = client.get(RUN_LIST)
    row = next(row for row in response.context["rows"] if row.run.number == history.runs[4].number)
    entry = row.entries[0]
    assert entry.comparison.n_outliers == 1
    assert entry.flagged == 2
    assert entry.fraction_flagged == pytest.approx(0.5)
    assert [result.histogram for result in entry.worst][:2] == [HISTOGRAMS[0], HISTOGRAMS[2]]
    assert len(entry.worst) == 3
    assert "50.0 %" in response.content.decode()


def test_run_list_annotation_counts(client, history):
    response = client.get(RUN_LIST)
    row = next(row for row in response.context["rows"] if row.run.number == history.runs[2].number)
    entry = row.entries[0]
    assert entry.annotations == {"problem": 1, "fine": 1}
    assert entry.annotation_counts() == [("problem", 1), ("fine", 1)]
    assert entry.annotation_total == 2


def test_run_list_replaced_annotation_not_counted(client, history):
    result = history.result(history.runs[2].number)
    Annotation.record(result, Annotation.FALSE_ALARM, "a noisy chamber", None)
    response = client.get(RUN_LIST)
    row = next(row for row in response.context["rows"] if row.run.number == history.runs[2].number)
    assert row.entries[0].annotations == {"false_alarm": 1, "fine": 1}


def test_run_list_quality_column(client, history):
    response = client.get(RUN_LIST)
    rows = {row.run.number: row for row in response.context["rows"]}
    assert rows[history.runs[0].number].entries[0].quality == RunQuality.GOOD
    assert rows[history.runs[1].number].entries[0].quality == RunQuality.BAD
    assert rows[history.runs[3].number].entries[0].quality == ""


def test_run_list_uses_latest_comparison(client, history):
    run = history.runs[6]
    newer = Comparison.objects.create(
        subsystem=history.subsystem, config_version=history.subsystem.current_version(), data_run=run,
        status=Comparison.RUNNING, permalink_key=f"CSC/rerun/{run.number}", created_at=START + timedelta(days=30),
    )
    response = client.get(RUN_LIST)
    row = next(row for row in response.context["rows"] if row.run.number == run.number)
    assert row.entries[0].comparison.pk == newer.pk
    assert row.entries[0].fraction_flagged is None


def test_run_list_query_count_fixed(client, history):
    build_history(n_runs=40, subsystem=history.subsystem, first_run=history.runs[-1].number + 100, seed=9)
    counts = []
    for query in ({"run_max": history.runs[4].number}, {}):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(RUN_LIST, query)
        assert response.status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


def test_run_list_paginates(client, history):
    build_history(n_runs=55, subsystem=history.subsystem, first_run=history.runs[-1].number + 100, seed=9)
    first = client.get(RUN_LIST)
    assert len(first.context["rows"]) == 50
    second = client.get(RUN_LIST, {"page": 2})
    # 55 + 10 data runs and the two reference runs of the two histories
    assert len(second.context["rows"]) == 55 + 10 + 2 - 50
    assert "page 2 of 2" in second.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"dataset": "ZeroBias/Run2022C-PromptReco-v1"}, "all"),
        ({"dataset": "JetHT/Run2022D-PromptReco-v2"}, "jet"),
        ({"era": "Run2022D"}, "jet"),
        ({"subsystem": "GEM"}, "gem"),
    ],
)
def test_run_list_filters_dataset(client, history, query, expected):
    jet = Run.objects.create(number=360000, primary_dataset="JetHT", era="Run2022D", processing="PromptReco-v2")
    numbers = _run_numbers(client.get(RUN_LIST, query))
    everything = sorted([run.number for run in history.runs] + [history.reference.number], reverse=True)
    wanted = {"all": everything, "jet": [jet.number], "gem": [run.number for run in reversed(history.runs[:5])]}
    assert numbers == wanted[expected]


def test_run_list_filters_run_range(client, history):
    low, high = history.runs[2].number, history.runs[5].number
    numbers = _run_numbers(client.get(RUN_LIST, {"run_min": low, "run_max": high}))
    assert numbers == [run.number for run in reversed(history.runs[2:6])]


def test_run_list_rejects_empty_range(client, history):
    response = client.get(RUN_LIST, {"run_min": 10, "run_max": 5})
    assert response.context["rows"] == []
    assert "the run range is empty" in response.content.decode()


def test_run_list_status_flagged_and_clean(client, history):
    for comparison in history.comparisons:
        _clear_flags(comparison)
    _flag(history.comparisons[3], HISTOGRAMS[0], outlier=True)
    _flag(history.comparisons[5], HISTOGRAMS[1], comparable=False)
    flagged = _run_numbers(client.get(RUN_LIST, {"status": "flagged"}))
    assert flagged == [history.runs[5].number, history.runs[3].number]
    outliers = _run_numbers(client.get(RUN_LIST, {"status": "outliers"}))
    assert outliers == [history.runs[3].number]
    clean = _run_numbers(client.get(RUN_LIST, {"status": "clean", "subsystem": "CSC"}))
    assert clean == [run.number for run in reversed(history.runs) if run not in (history.runs[3], history.runs[5])]


def test_run_list_status_failed_and_pending(client, history):
    Comparison.objects.filter(pk=history.comparisons[1].pk).update(status=Comparison.FAILED)
    Comparison.objects.filter(pk=history.comparisons[2].pk).update(status=Comparison.QUEUED)
    assert _run_numbers(client.get(RUN_LIST, {"status": "failed"})) == [history.runs[1].number]
    assert _run_numbers(client.get(RUN_LIST, {"status": "pending"})) == [history.runs[2].number]
    clean = _run_numbers(client.get(RUN_LIST, {"status": "clean"}))
    assert history.runs[1].number not in clean
    assert history.runs[2].number not in clean


def test_run_list_status_verdicts(client, history):
    assert _run_numbers(client.get(RUN_LIST, {"status": "good"})) == [history.runs[0].number]
    assert _run_numbers(client.get(RUN_LIST, {"status": "bad"})) == [history.runs[1].number]
    assert _run_numbers(client.get(RUN_LIST, {"status": "problem"})) == [history.runs[2].number]
    assert _run_numbers(client.get(RUN_LIST, {"status": "not_compared"})) == [history.reference.number]
    not_gem = _run_numbers(client.get(RUN_LIST, {"status": "not_compared", "subsystem": "GEM"}))
    assert not_gem == [run.number for run in reversed(history.runs[5:])] + [history.reference.number]


def test_run_list_unknown_status_rejected(client, history):
    response = client.get(RUN_LIST, {"status": "bogus"})
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "bogus" in response.content.decode()


def test_run_list_links(client, history):
    content = client.get(RUN_LIST).content.decode()
    assert reverse("run-detail", kwargs={"pk": history.runs[0].pk}) in content
    assert reverse("subsystem-trend", kwargs={"subsystem": "CSC"}) in content
    assert reverse("histogram-trend", kwargs={"subsystem": "CSC"}) + "?histogram=" in content
    assert history.comparisons[0].permalink_key in content


def test_worst_results_one_query(history, django_assert_num_queries):
    ids = [comparison.pk for comparison in history.comparisons]
    with django_assert_num_queries(1):
        worst = run_history.worst_results(ids)
    for comparison_id in ids:
        pulls = [abs(result.max_pull) for result in worst[comparison_id]]
        assert len(pulls) == 3
        assert pulls == sorted(pulls, reverse=True)
        everything = HistogramResult.objects.filter(comparison_id=comparison_id).values_list("max_pull", flat=True)
        assert pulls[0] == pytest.approx(max(abs(value) for value in everything))


# --- run detail -----------------------------------------------------------------------------------


def test_run_detail_lists_comparisons(client, history):
    run = history.runs[2]
    RunFile.objects.create(run=run, path="/data/DQM_V0001_R000355005__ZeroBias__Run2022C-PromptReco-v1__DQMIO.root",
                           size=2048)
    response = client.get(reverse("run-detail", kwargs={"pk": run.pk}))
    assert response.status_code == 200
    comparisons = response.context["comparisons"]
    assert [comparison.subsystem.name for comparison in comparisons] == ["CSC", "GEM"]
    assert comparisons[0].n_results == 4
    assert [reference.run for reference in comparisons[0].ordered_references] == [history.reference]
    content = response.content.decode()
    assert "DQM_V0001_R000355005" in content
    assert comparisons[0].url in content.replace("&amp;", "&")


def test_run_detail_lists_annotations(client, history):
    run = history.runs[2]
    result = history.result(run.number)
    Annotation.record(result, Annotation.KNOWN_ISSUE, "known since Tuesday", None)
    response = client.get(reverse("run-detail", kwargs={"pk": run.pk}))
    annotations = response.context["annotations"]
    assert [annotation.verdict for annotation in annotations] == ["known_issue", "fine", "problem"]
    assert [annotation.is_current for annotation in annotations] == [True, True, False]
    content = response.content.decode()
    assert "known since Tuesday" in content
    assert "dead chambers" in content
    assert "(replaced)" in content
    assert f"&h={result.pk}" in content.replace("&amp;", "&")


def test_run_detail_lists_verdicts(client, history):
    run = history.runs[1]
    RunQuality.record(run, history.subsystem, RunQuality.GOOD, "recovered", None)
    response = client.get(reverse("run-detail", kwargs={"pk": run.pk}))
    verdicts = response.context["verdicts"]
    assert [verdict.verdict for verdict in verdicts] == ["good", "bad"]
    assert "HV trip" in response.content.decode()


def test_run_detail_of_reference_run(client, history):
    response = client.get(reverse("run-detail", kwargs={"pk": history.reference.pk}))
    assert response.status_code == 200
    assert response.context["comparisons"] == []
    assert len(response.context["as_reference"]) == 10
    assert "No comparison has this run as data run." in response.content.decode()


def test_run_detail_unknown_run(client, history):
    assert client.get(reverse("run-detail", kwargs={"pk": 999999})).status_code == 404


def test_run_detail_query_count_fixed(client, history):
    run = history.runs[0]
    for hours in range(5):
        comparison = Comparison.objects.create(
            subsystem=history.subsystem, config_version=history.subsystem.current_version(), data_run=run,
            status=Comparison.DONE, permalink_key=f"CSC/extra/{hours}", created_at=START + timedelta(days=40, hours=hours),
        )
        ComparisonReference.objects.create(comparison=comparison, run=history.reference, position=0)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("run-detail", kwargs={"pk": run.pk}))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("run-detail", kwargs={"pk": history.runs[7].pk}))
    assert len(many.captured_queries) == len(few.captured_queries)
