"""How a score ranks among the same histogram's earlier scores against runs known to be fine.

A result's baseline is every earlier result of the same subsystem, histogram
and comparator that counts as fine:

* earlier: its data run number is strictly lower, or its comparison was
  created before this result's comparison (ties broken by comparison id).
  Results of the same comparison never count.
* fine: its own current annotation is "fine", or its data run has a current
  "good" verdict for the subsystem and its own current annotation is not
  "problem" or "known issue". A histogram that a shifter flagged as a real
  problem is not a fine score, even in a run marked good.

The rank is the percentage of baseline scores strictly lower than this one;
max pulls are compared by absolute value. A rank is given only when at least
MIN_EARLIER baseline scores exist, because a percentage of three numbers
reads as more than it is.

`rank_scores` sends one SQL query for the whole page: the database joins
each result to its baseline through the (histogram, comparator) index and
returns the counts, so no score list travels to Python.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models.query import QuerySet

from comparisons.models import Annotation, Comparison, HistogramResult, RunQuality
from runs.models import Run

MIN_EARLIER = 10
# SQLite (32,766 from version 3.32) and PostgreSQL (65,535) cap the bound
# parameters of one statement, so a longer list of results is ranked in
# several queries. A QuerySet argument has no such limit.
MAX_IDS_PER_QUERY = 20000

_RANK_SQL = """
SELECT t.id,
       COUNT(b.id),
       SUM(CASE WHEN b.chi2 IS NOT NULL AND t.chi2 IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN b.chi2 < t.chi2 THEN 1 ELSE 0 END),
       SUM(CASE WHEN b.max_pull IS NOT NULL AND t.max_pull IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN ABS(b.max_pull) < ABS(t.max_pull) THEN 1 ELSE 0 END)
FROM {result} t
JOIN {comparison} tc ON tc.id = t.comparison_id
JOIN {run} tr ON tr.id = tc.data_run_id
JOIN {result} b ON b.histogram = t.histogram AND b.comparator = t.comparator
     AND b.comparison_id <> t.comparison_id
JOIN {comparison} bc ON bc.id = b.comparison_id AND bc.subsystem_id = tc.subsystem_id
JOIN {run} br ON br.id = bc.data_run_id
WHERE t.id IN ({targets})
  AND (br.number < tr.number
       OR bc.created_at < tc.created_at
       OR (bc.created_at = tc.created_at AND bc.id < tc.id))
  AND (EXISTS (SELECT 1 FROM {annotation} a
               WHERE a.result_id = b.id AND a.superseded_by_id IS NULL AND a.verdict = %s)
       OR (EXISTS (SELECT 1 FROM {quality} q
                   WHERE q.run_id = bc.data_run_id AND q.subsystem_id = bc.subsystem_id
                     AND q.superseded_by_id IS NULL AND q.verdict = %s)
           AND NOT EXISTS (SELECT 1 FROM {annotation} a
                           WHERE a.result_id = b.id AND a.superseded_by_id IS NULL
                             AND a.verdict IN (%s, %s))))
GROUP BY t.id
"""


@dataclass(frozen=True)
class ScoreRank:
    """Ranks of one result's chi2 and max pull among its baseline, as percentages or None."""

    chi2: float | None
    max_pull: float | None
    count: int

    @property
    def chi2_text(self):
        return describe_rank(self.chi2)

    @property
    def max_pull_text(self):
        return describe_rank(self.max_pull)


def describe_rank(percentage):
    """Return the sentence shown beside a score, or "" when there is no rank."""
    if percentage is None:
        return ""
    return f"higher than {percentage:.0f} % of this histogram's earlier scores"


def _table_names():
    quote = connection.ops.quote_name
    return {
        "result": quote(HistogramResult._meta.db_table),
        "comparison": quote(Comparison._meta.db_table),
        "run": quote(Run._meta.db_table),
        "annotation": quote(Annotation._meta.db_table),
        "quality": quote(RunQuality._meta.db_table),
    }


def _verdict_params():
    return [Annotation.FINE, RunQuality.GOOD, Annotation.PROBLEM, Annotation.KNOWN_ISSUE]


def _percentage(lower, total):
    if not total or total < MIN_EARLIER:
        return None
    return 100.0 * (lower or 0) / total


def _fetch(targets_sql, target_params):
    sql = _RANK_SQL.format(targets=targets_sql, **_table_names())
    with connection.cursor() as cursor:
        cursor.execute(sql, [*target_params, *_verdict_params()])
        return cursor.fetchall()


def _rows_for(results):
    """Run the rank query for `results` (a QuerySet, or results and ids) and return its rows."""
    if isinstance(results, QuerySet):
        # A queryset becomes a subquery, so its size does not matter.
        sql, params = results.values("pk").query.sql_with_params()
        return _fetch(sql, params)
    ids = sorted({getattr(item, "pk", item) for item in results})
    rows = []
    for start in range(0, len(ids), MAX_IDS_PER_QUERY):
        chunk = ids[start:start + MAX_IDS_PER_QUERY]
        rows.extend(_fetch(", ".join(["%s"] * len(chunk)), chunk))
    return rows


def rank_scores(results):
    """Rank each result's chi2 and max pull among its histogram's earlier fine scores.

    `results` is a QuerySet of HistogramResult, or an iterable of results or
    result ids. Returns {result id: {"chi2": percentage or None,
    "max_pull": percentage or None, "count": number of baseline results}} for
    every result that has at least one baseline result.
    """
    if not isinstance(results, QuerySet):
        results = list(results)
        if not results:
            return {}
    ranks = {}
    for result_id, count, chi2_total, chi2_lower, pull_total, pull_lower in _rows_for(results):
        ranks[result_id] = {
            "chi2": _percentage(chi2_lower, chi2_total),
            "max_pull": _percentage(pull_lower, pull_total),
            "count": count,
        }
    return ranks


def attach_ranks(rows):
    """Set `row.score_rank` (a ScoreRank or None) on each result of `rows` with one query; return rows."""
    rows = list(rows)
    ranks = rank_scores(rows)
    for row in rows:
        entry = ranks.get(row.pk)
        row.score_rank = ScoreRank(**entry) if entry else None
    return rows
