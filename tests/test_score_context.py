from datetime import timedelta

import pytest

from comparisons.models import Annotation, Comparison, HistogramResult, RunQuality
from comparisons.score_context import MIN_EARLIER, attach_ranks, describe_rank, rank_scores
from runs.models import Run
from tests.history_factory import START, build_history, make_subsystem

pytestmark = pytest.mark.django_db

HISTOGRAM = "Occupancy/hOWires"


class Scores:
    """Comparisons of one subsystem built one result at a time, to control every score and date."""

    def __init__(self, name="CSC"):
        self.subsystem = make_subsystem(name)
        self.version = self.subsystem.current_version()
        self.count = 0

    def add(self, run_number, chi2, max_pull=1.0, hours=None, histogram=HISTOGRAM, comparator="beta_binomial",
            quality=None, annotation=None, run=None):
        self.count += 1
        run = run or Run.objects.get_or_create(number=run_number, primary_dataset="ZeroBias", era="Run2022C",
                                               processing="PromptReco-v1")[0]
        comparison = Comparison.objects.create(
            subsystem=self.subsystem, config_version=self.version, data_run=run, status=Comparison.DONE,
            permalink_key=f"{self.subsystem.name}/{run_number}/{self.count}",
            created_at=START + timedelta(hours=self.count if hours is None else hours),
        )
        result = HistogramResult.objects.create(
            comparison=comparison, histogram=histogram, comparator=comparator, chi2=chi2, max_pull=max_pull,
        )
        if quality:
            RunQuality.record(run, self.subsystem, quality, "", None)
        if annotation:
            Annotation.record(result, annotation, "", None)
        return result

    def good_history(self, chi2_values, first_run=1000, pulls=None):
        pulls = pulls or [1.0] * len(chi2_values)
        return [
            self.add(first_run + index, chi2, pull, quality=RunQuality.GOOD)
            for index, (chi2, pull) in enumerate(zip(chi2_values, pulls))
        ]


@pytest.fixture
def scores():
    return Scores()


def test_rank_counts_strictly_lower_scores(scores):
    scores.good_history([float(value) for value in range(1, 13)])
    target = scores.add(2000, chi2=11.5, max_pull=-0.5)
    rank = rank_scores([target])[target.pk]
    assert rank["count"] == 12
    assert rank["chi2"] == pytest.approx(100 * 11 / 12)
    assert rank["max_pull"] == pytest.approx(0.0)


def test_equal_scores_are_not_lower(scores):
    scores.good_history([5.0] * 12)
    target = scores.add(2000, chi2=5.0)
    assert rank_scores([target])[target.pk]["chi2"] == pytest.approx(0.0)


def test_max_pull_ranked_by_absolute_value(scores):
    pulls = [-10.0, 9.0, -8.0, 7.0, -6.0, 5.0, -4.0, 3.0, -2.0, 1.0]
    scores.good_history([1.0] * 10, pulls=pulls)
    target = scores.add(2000, chi2=1.0, max_pull=-6.5)
    assert rank_scores([target])[target.pk]["max_pull"] == pytest.approx(60.0)


def test_fewer_than_ten_give_no_rank(scores):
    scores.good_history([1.0] * (MIN_EARLIER - 1))
    target = scores.add(2000, chi2=3.0)
    rank = rank_scores([target])[target.pk]
    assert rank["count"] == MIN_EARLIER - 1
    assert rank["chi2"] is None
    assert rank["max_pull"] is None


def test_ten_earlier_results_give_rank(scores):
    scores.good_history([1.0] * MIN_EARLIER)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["chi2"] == pytest.approx(100.0)


def test_later_runs_compared_later_excluded(scores):
    history = scores.good_history([1.0] * 10)
    target = scores.add(1005, chi2=3.0, hours=0)
    for index in range(5):
        scores.add(3000 + index, chi2=0.5, quality=RunQuality.GOOD)
    # Runs 1000 to 1004 have lower numbers; the later runs 3000+ were compared after the target.
    assert rank_scores([target])[target.pk]["count"] == 5
    assert len(history) == 10


def test_later_run_compared_earlier_included(scores):
    scores.good_history([1.0] * 10, first_run=5000)
    target = scores.add(100, chi2=3.0, hours=1000)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_run_without_good_verdict_excluded(scores):
    scores.good_history([1.0] * 10)
    scores.add(1500, chi2=0.1)
    scores.add(1501, chi2=0.1, quality=RunQuality.BAD)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_replaced_good_verdict_excluded(scores):
    history = scores.good_history([1.0] * 11)
    RunQuality.record(history[0].comparison.data_run, scores.subsystem, RunQuality.BAD, "", None)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_fine_annotation_counts_without_run_verdict(scores):
    scores.good_history([1.0] * 9)
    scores.add(1500, chi2=0.2, annotation=Annotation.FINE)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_problem_annotation_in_good_run_excluded(scores):
    scores.good_history([1.0] * 10)
    scores.add(1500, chi2=50.0, quality=RunQuality.GOOD, annotation=Annotation.PROBLEM)
    scores.add(1501, chi2=50.0, quality=RunQuality.GOOD, annotation=Annotation.KNOWN_ISSUE)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_false_alarm_in_good_run_counts(scores):
    scores.good_history([1.0] * 9)
    scores.add(1500, chi2=0.2, quality=RunQuality.GOOD, annotation=Annotation.FALSE_ALARM)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_other_histogram_comparator_subsystem_excluded(scores):
    scores.good_history([1.0] * 10)
    for index in range(3):
        scores.add(1500 + index, chi2=0.1, histogram="Occupancy/hOStrips", quality=RunQuality.GOOD)
        scores.add(1600 + index, chi2=0.1, comparator="ks_test", quality=RunQuality.GOOD)
    other = Scores("GEM")
    for index in range(3):
        other.add(1700 + index, chi2=0.1, quality=RunQuality.GOOD)
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_same_comparison_never_counts(scores):
    scores.good_history([1.0] * 10)
    target = scores.add(2000, chi2=3.0)
    HistogramResult.objects.create(comparison=target.comparison, histogram=HISTOGRAM, comparator="pull_values",
                                   chi2=0.1)
    assert rank_scores([target])[target.pk]["count"] == 10


def test_missing_score_has_no_rank(scores):
    scores.good_history([1.0] * 10)
    target = scores.add(2000, chi2=None, max_pull=None)
    rank = rank_scores([target])[target.pk]
    assert rank["chi2"] is None
    assert rank["max_pull"] is None


def test_result_without_history_absent(scores):
    target = scores.add(2000, chi2=3.0)
    assert rank_scores([target]) == {}
    assert rank_scores([]) == {}


def test_one_query_for_a_whole_page(django_assert_num_queries):
    history = build_history(n_runs=30)
    for run in history.runs[:20]:
        RunQuality.record(run, history.subsystem, RunQuality.GOOD, "", None)
    page = list(HistogramResult.objects.all())
    assert len(page) == 120
    with django_assert_num_queries(1):
        ranks = rank_scores(page)
    ranked = [rank for rank in ranks.values() if rank["chi2"] is not None]
    assert ranked, "the last runs have at least ten earlier good runs"


def test_queryset_and_ids_agree():
    history = build_history(n_runs=25)
    for run in history.runs:
        RunQuality.record(run, history.subsystem, RunQuality.GOOD, "", None)
    queryset = HistogramResult.objects.filter(comparison__data_run__number__gte=history.runs[15].number)
    from_ids = rank_scores(list(queryset.values_list("pk", flat=True)))
    assert rank_scores(queryset) == from_ids
    assert len(from_ids) == 10 * 4


def test_attach_ranks_sets_text(scores):
    scores.good_history([float(value) for value in range(1, 21)])
    target = scores.add(2000, chi2=19.5)
    plain = scores.add(2001, chi2=1.0, histogram="Occupancy/hOStrips")
    rows = attach_ranks(HistogramResult.objects.filter(pk__in=[target.pk, plain.pk]).order_by("pk"))
    assert rows[0].score_rank.chi2_text == "higher than 95 % of this histogram's earlier scores"
    assert rows[0].score_rank.count == 20
    assert rows[1].score_rank is None


def test_describe_rank_without_value():
    assert describe_rank(None) == ""
    assert describe_rank(97.2) == "higher than 97 % of this histogram's earlier scores"
