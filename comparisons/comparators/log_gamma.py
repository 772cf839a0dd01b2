"""Differences of log-gamma values without cancellation, for beta-binomial ratios.

The beta-binomial comparator needs log Gamma(x + d) - log Gamma(x). Here x
can be as large as the total entries of a reference (1e9 and more in large DQM
histograms), and d is the distance between the data content and the most
likely content. The difference of two `gammaln` values loses about
x*log(x)*1e-16 in absolute terms, which is 1e-5 at x = 1e9: too much for a
probability ratio that must be reproduced to 1e-6. The Stirling series,
subtracted term by term, keeps the error near |d|*log(x)*1e-16.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# Above this the Stirling series below is accurate to double precision: its next
# term, 1/(1680 x**7), is below 1e-17 for x >= 100.
STIRLING_MIN = 100.0


def _stirling_tail(inv_x):
    """Return log Gamma(x) - [(x - 1/2) log x - x + log(2 pi)/2] from 1/x, for x >= 100."""
    inv_x2 = inv_x * inv_x
    return inv_x * (1.0 / 12.0 - inv_x2 * (1.0 / 360.0 - inv_x2 * (1.0 / 1260.0)))


def log_gamma_ratio(x, d):
    """Return log(Gamma(x + d)/Gamma(x)) elementwise, for x >= 1 and x + d >= 1.

    Where both arguments are 100 or more, the Stirling expansions are
    subtracted analytically, with an absolute error of about
    |d|*log(x)*1e-16. Elsewhere one of the arguments is below 100, so
    `gammaln(x + d) - gammaln(x)` does not cancel badly.
    """
    x, d = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(d, dtype=np.float64))
    y = x + d
    small = np.minimum(x, y) < STIRLING_MIN
    if not small.any():
        return _stirling_difference(x, d, y)
    if small.all():
        return special.gammaln(y) - special.gammaln(x)

    result = np.empty(x.shape)
    result[small] = special.gammaln(y[small]) - special.gammaln(x[small])
    large = ~small
    result[large] = _stirling_difference(x[large], d[large], y[large])
    return result


def _stirling_difference(x, d, y):
    """Return log Gamma(y) - log Gamma(x) for y = x + d, both 100 or more.

    The leading terms (y - 1/2) log y - (x - 1/2) log x - d are rewritten as
    d*(log(x) - 1) + (y - 1/2)*log1p(d/x), which does not cancel.
    """
    inv_x = 1.0 / x
    result = d * (np.log(x) - 1.0)
    result += (y - 0.5) * np.log1p(d * inv_x)
    result += _stirling_tail(1.0 / y) - _stirling_tail(inv_x)
    return result
