"""How a score ranks among the same histogram's earlier scores against good runs.

Placeholder until the history features land: returns no ranks.
"""


def rank_scores(results):
    """Return {result id: {"chi2": percentile or None, "max_pull": percentile or None, "count": n}}."""
    return {}
