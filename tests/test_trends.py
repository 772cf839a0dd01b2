import csv
import io
import statistics
import time
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse

from comparisons import trend_plot, trends
from comparisons.models import Annotation, Comparison, ComparisonReference, HistogramResult, RunQuality
from runs.models import Run
from tests.history_factory import CHI2_CUT, HISTOGRAMS, PULL_CUT, START, build_history

HISTOGRAM = HISTOGRAMS[0]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def static_root(settings, tmp_path):
    # WhiteNoise warns about a missing STATIC_ROOT, and warnings fail the tests.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def history(db):
    built = build_history(n_runs=50)
    for run in built.runs[:30]:
        RunQuality.record(run, built.subsystem, RunQuality.GOOD, "", None)
    RunQuality.record(built.runs[40], built.subsystem, RunQuality.BAD, "HV trip", None)
    Annotation.record(built.result(built.runs[45].number), Annotation.PROBLEM, "dead chambers", None)
    return built


def _trend_url(name, subsystem="CSC", **query):
    from django.utils.http import urlencode

    url = reverse(name, kwargs={"subsystem": subsystem})
    return f"{url}?{urlencode(query)}" if query else url


def _rerun(history, run, chi2, hours):
    """Compare `run` again later, with one result for HISTOGRAM."""
    comparison = Comparison.objects.create(
        subsystem=history.subsystem, config_version=history.subsystem.current_version(), data_run=run,
        status=Comparison.DONE, permalink_key=f"rerun/{run.number}", created_at=START + timedelta(hours=hours),
    )
    ComparisonReference.objects.create(comparison=comparison, run=history.reference, position=0)
    return HistogramResult.objects.create(comparison=comparison, histogram=HISTOGRAM, comparator="beta_binomial",
                                          chi2=chi2, max_pull=0.5, thresholds={"chi2_cut": 12.0})


# --- queries --------------------------------------------------------------------------


def test_histogram_points_in_run_order(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        points = trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial")
    assert [point.run for point in points] == [run.number for run in history.runs]
    first = history.result(history.runs[0].number)
    assert points[0].chi2 == pytest.approx(first.chi2)
    assert points[0].chi2_cut == CHI2_CUT
    assert points[0].pull_cut == PULL_CUT
    assert points[0].dataset == "ZeroBias/Run2022C-PromptReco-v1"


def test_histogram_points_carry_verdicts(history):
    points = {point.run: point for point in trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial")}
    assert points[history.runs[45].number].annotation == Annotation.PROBLEM
    assert points[history.runs[0].number].run_quality == RunQuality.GOOD
    assert points[history.runs[40].number].run_quality == RunQuality.BAD
    assert points[history.runs[35].number].run_quality == ""


def test_histogram_points_use_latest_comparison(history):
    run = history.runs[10]
    _rerun(history, run, chi2=99.0, hours=500)
    points = trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial")
    assert len(points) == 50
    point = next(point for point in points if point.run == run.number)
    assert point.chi2 == pytest.approx(99.0)
    assert point.chi2_cut == 12.0
    assert point.comparison_url.endswith("?version=1")


def test_histogram_points_skip_unfinished(history):
    Comparison.objects.filter(pk=history.comparisons[3].pk).update(status=Comparison.FAILED)
    points = trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial")
    assert history.runs[3].number not in [point.run for point in points]


def test_histogram_points_filtered(history):
    low, high = history.runs[10].number, history.runs[19].number
    runs = trends.RunFilter(run_min=low, run_max=high)
    points = trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial", runs)
    assert [point.run for point in points] == [run.number for run in history.runs[10:20]]
    latest = trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial", trends.RunFilter(limit=5))
    assert [point.run for point in latest] == [run.number for run in history.runs[-5:]]


def test_histogram_points_by_dataset(history):
    other = build_history(n_runs=5, subsystem=history.subsystem, dataset=("JetHT", "Run2022C", "PromptReco-v1"),
                          first_run=history.runs[-1].number + 10)
    runs = trends.RunFilter(dataset="JetHT/Run2022C-PromptReco-v1")
    points = trends.histogram_points(history.subsystem, HISTOGRAM, "beta_binomial", runs)
    assert [point.run for point in points] == [run.number for run in other.runs]
    assert trends.datasets_of(history.subsystem) == ["JetHT/Run2022C-PromptReco-v1", "ZeroBias/Run2022C-PromptReco-v1"]


def test_subsystem_points_count_flags(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        points = trends.subsystem_points(history.subsystem)
    assert len(points) == 50
    expected = HistogramResult.objects.filter(comparison=history.comparisons[0], outlier=True).count()
    assert points[0].results == 4
    assert points[0].outliers == expected
    assert points[0].fraction_flagged == pytest.approx(expected / 4)


def test_subsystem_points_count_not_comparable(history):
    comparison = history.comparisons[7]
    HistogramResult.objects.filter(comparison=comparison).update(outlier=False, comparable=True)
    HistogramResult.objects.filter(comparison=comparison, histogram=HISTOGRAMS[1]).update(comparable=False)
    point = next(point for point in trends.subsystem_points(history.subsystem) if point.comparison_id == comparison.pk)
    assert (point.outliers, point.not_comparable, point.flagged) == (0, 1, 1)
    assert point.fraction_flagged == pytest.approx(0.25)


def test_most_flagged_orders_by_runs(history):
    ids = [comparison.pk for comparison in history.comparisons]
    found = trends.most_flagged(ids)
    counts = [item.flagged_runs for item in found]
    assert counts == sorted(counts, reverse=True)
    for item in found:
        expected = HistogramResult.objects.filter(comparison_id__in=ids, histogram=item.histogram, outlier=True)
        assert item.flagged_runs == expected.count()


def test_comparators_and_search(history):
    assert trends.comparators_of(history.subsystem, HISTOGRAM) == ["beta_binomial"]
    assert trends.search_histograms(history.subsystem, "hOW") == [(HISTOGRAM, "beta_binomial")]


# --- plots -------------------------------------------------------------------------------


def _plot_trend(n=20, seed=3):
    rng = np.random.default_rng(seed)
    runs = list(355000 + np.cumsum(rng.integers(1, 5, n)))
    chi2 = list(rng.gamma(2.0, 1.5, n))
    chi2[4] = None
    return trend_plot.HistogramTrend(
        title="CSC Occupancy/hOWires (beta_binomial)", runs=runs, chi2=chi2,
        max_pull=list(rng.normal(0, 3, n)), entries=list(np.geomspace(10, 10**6, n)),
        chi2_cut=[10.0] * n, pull_cut=[8.0] * (n // 2) + [6.0] * (n - n // 2),
        outlier=[index == 7 for index in range(n)], comparable=[index != 9 for index in range(n)],
        annotations=["problem" if index == 7 else "" for index in range(n)],
        run_quality=["bad" if index == 3 else "good" for index in range(n)],
    )


@pytest.mark.parametrize("scale", ["even", "linear"])
def test_histogram_figure_panels(scale):
    fig = trend_plot.histogram_trend_figure(_plot_trend(), scale)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["", "chi2", "|max pull|", "entries"]
    assert fig.axes[-1].get_yscale() == "log"
    assert trend_plot.figure_png(fig).startswith(PNG_SIGNATURE)


def test_histogram_figure_adds_ks_panel():
    trend = _plot_trend()
    trend.ks = [0.05] * len(trend.runs)
    trend.ks_cut = [0.1] * len(trend.runs)
    labels = [ax.get_ylabel() for ax in trend_plot.histogram_trend_figure(trend).axes]
    assert "KS distance" in labels


def test_even_scale_labels_runs():
    trend = _plot_trend(n=10)
    fig = trend_plot.histogram_trend_figure(trend, "even")
    fig.canvas.draw()
    labels = [label.get_text() for label in fig.axes[-1].get_xticklabels()]
    assert labels == [str(run) for run in trend.runs]


def test_run_positions():
    assert list(trend_plot.run_positions([5, 9, 20], "even")) == [0.0, 1.0, 2.0]
    assert list(trend_plot.run_positions([5, 9, 20], "linear")) == [5.0, 9.0, 20.0]
    with pytest.raises(ValueError, match="unknown x scale 'log'"):
        trend_plot.run_positions([1], "log")


def test_empty_trend_draws_message():
    fig = trend_plot.histogram_trend_figure(trend_plot.HistogramTrend("empty", [], [], [], []))
    assert any("No finished comparison" in text.get_text() for text in fig.texts)
    fig = trend_plot.subsystem_trend_figure(trend_plot.SubsystemTrend("empty", [], [], []))
    assert trend_plot.figure_png(fig).startswith(PNG_SIGNATURE)


def test_subsystem_figure_stacks_fractions():
    trend = trend_plot.SubsystemTrend("CSC", [1, 2, 3], [0.1, 0.0, None], [0.05, 0.2, None], ["good", "bad", ""])
    fig = trend_plot.subsystem_trend_figure(trend, "linear")
    bars = fig.axes[1].patches
    heights = [round(bar.get_height(), 6) for bar in bars if bar.get_width() > 0]
    assert heights[:3] == [10.0, 0.0, 0.0]
    assert heights[3:6] == [5.0, 20.0, 0.0]


# --- views -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_histogram_page_lists_runs(client, history):
    response = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM, comparator="beta_binomial"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 50
    assert rows[0]["run"] == history.runs[-1].number
    content = response.content.decode()
    assert "dead chambers" not in content  # comments stay on the run page; the table shows the verdict
    assert "problem" in content
    assert _trend_url("histogram-trend-png", histogram=HISTOGRAM, comparator="beta_binomial").replace("&", "&amp;") in content
    assert reverse("run-detail", kwargs={"pk": history.runs[-1].pk}) in content


@pytest.mark.django_db
def test_histogram_page_ranks_scores(client, history):
    response = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM))
    last = response.context["rows"][0]
    assert last["earlier_fine_results"] == 30
    assert last["chi2_percentile"] is not None
    assert "of earlier scores" in response.content.decode()


@pytest.mark.django_db
def test_histogram_page_picks_comparator(client, history):
    response = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM))
    assert response.context["comparator"] == "beta_binomial"


@pytest.mark.django_db
def test_histogram_csv(client, history):
    response = client.get(_trend_url("histogram-trend-csv", histogram=HISTOGRAM, comparator="beta_binomial"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 50
    assert rows[0]["run"] == str(history.runs[0].number)
    assert float(rows[0]["chi2"]) == pytest.approx(history.result(history.runs[0].number).chi2)
    assert rows[45]["annotation"] == "problem"


@pytest.mark.django_db
def test_histogram_json(client, history):
    response = client.get(_trend_url("histogram-trend-json", histogram=HISTOGRAM, scale="linear"))
    assert response.status_code == 200
    document = response.json()
    assert document["histogram"] == HISTOGRAM
    assert document["comparator"] == "beta_binomial"
    assert len(document["points"]) == 50
    assert document["points"][-1]["run"] == history.runs[-1].number
    assert document["points"][-1]["earlier_fine_results"] == 30


@pytest.mark.django_db
def test_format_parameter_matches_variants(client, history):
    by_parameter = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM, format="json"))
    by_route = client.get(_trend_url("histogram-trend-json", histogram=HISTOGRAM))
    assert by_parameter.json() == by_route.json()
    csv_response = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM, format="csv"))
    assert csv_response["Content-Type"].startswith("text/csv")


@pytest.mark.django_db
@pytest.mark.parametrize("scale", ["even", "linear"])
def test_histogram_png(client, history, scale):
    response = client.get(_trend_url("histogram-trend-png", histogram=HISTOGRAM, scale=scale))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)


@pytest.mark.django_db
def test_histogram_page_without_histogram_redirects(client, history):
    response = client.get(_trend_url("histogram-trend"))
    assert response.status_code == 302
    assert response["Location"] == _trend_url("subsystem-trend")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"histogram": HISTOGRAM, "scale": "log"}, "scale"),
        ({"histogram": HISTOGRAM, "run_min": "abc"}, "run_min"),
        ({"histogram": HISTOGRAM, "run_min": "10", "run_max": "5"}, "the run range is empty"),
        ({"histogram": HISTOGRAM, "data_dataset": "ZeroBias"}, "invalid dataset name"),
        ({"histogram": HISTOGRAM, "limit": "0"}, "limit"),
    ],
)
def test_invalid_query_rejected(client, history, query, message):
    response = client.get(_trend_url("histogram-trend-json", **query))
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.django_db
def test_unknown_format_rejected(client, history):
    response = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM, format="xml"))
    assert response.status_code == 400


@pytest.mark.django_db
def test_unknown_histogram(client, history):
    response = client.get(_trend_url("histogram-trend-json", histogram="Occupancy/hNothing"))
    assert response.status_code == 404
    assert "Occupancy/hNothing" in response.json()["error"]
    page = client.get(_trend_url("histogram-trend", histogram="Occupancy/hOWire"))
    assert page.status_code == 200
    assert "No finished comparison of CSC scored Occupancy/hOWire" in page.content.decode()
    assert (HISTOGRAM, "beta_binomial") in page.context["near"]


@pytest.mark.django_db
def test_unknown_subsystem(client, history):
    assert client.get(_trend_url("histogram-trend", subsystem="NOPE", histogram=HISTOGRAM)).status_code == 404
    assert client.get(_trend_url("subsystem-trend", subsystem="NOPE")).status_code == 404


@pytest.mark.django_db
def test_subsystem_page(client, history):
    response = client.get(_trend_url("subsystem-trend", search="hOW"))
    assert response.status_code == 200
    assert len(response.context["points"]) == 50
    assert response.context["found"] == [(HISTOGRAM, "beta_binomial")]
    content = response.content.decode()
    assert reverse("subsystem-trend-png", kwargs={"subsystem": "CSC"}) in content
    assert reverse("histogram-trend", kwargs={"subsystem": "CSC"}) + "?histogram=" in content


@pytest.mark.django_db
def test_subsystem_downloads(client, history):
    document = client.get(_trend_url("subsystem-trend-json")).json()
    assert len(document["points"]) == 50
    assert {"run", "results", "outliers", "fraction_flagged"} <= set(document["points"][0])
    rows = list(csv.DictReader(io.StringIO(client.get(_trend_url("subsystem-trend-csv")).content.decode())))
    assert len(rows) == 50
    png = client.get(_trend_url("subsystem-trend-png", scale="linear"))
    assert png.content.startswith(PNG_SIGNATURE)


@pytest.mark.django_db
def test_subsystem_page_without_comparisons(client, history):
    Run.objects.create(number=1)
    response = client.get(_trend_url("subsystem-trend", run_min=1, run_max=2))
    assert response.status_code == 200
    assert "No finished comparison of CSC in the chosen runs" in response.content.decode()


def _server_times(client, url, repeats=5):
    first_start = time.perf_counter()
    response = client.get(url)
    first = time.perf_counter() - first_start
    assert response.status_code == 200
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


@pytest.mark.django_db
def test_fifty_run_trend_timing(client, history, capsys):
    """Print the server time of the trend page, its PNG and its JSON for 50 runs (measured, not asserted)."""
    query = {"histogram": HISTOGRAM, "comparator": "beta_binomial"}
    lines = []
    for name in ("histogram-trend", "histogram-trend-png", "histogram-trend-json"):
        first, median = _server_times(client, _trend_url(name, **query))
        lines.append(f"{name}: first {first * 1000:.0f} ms, median of 5 {median * 1000:.0f} ms")
    with capsys.disabled():
        print("\n50-run trend server time (Django test client, this machine):\n  " + "\n  ".join(lines))


@pytest.mark.django_db
def test_histogram_page_links_other_comparators(client, history):
    result = history.result(history.runs[0].number)
    HistogramResult.objects.create(comparison=result.comparison, histogram=HISTOGRAM, comparator="ks_test", ks=0.05)
    response = client.get(_trend_url("histogram-trend", histogram=HISTOGRAM, comparator="ks_test"))
    assert response.context["comparator"] == "ks_test"
    assert len(response.context["rows"]) == 1
    links = dict(response.context["comparator_links"])
    assert sorted(links) == ["beta_binomial", "ks_test"]
    assert links["beta_binomial"].endswith("comparator=beta_binomial")
    assert links["beta_binomial"].count("comparator=") == 1
