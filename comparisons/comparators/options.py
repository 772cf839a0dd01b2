"""Comparator options: defaults, the `opts` strings of a subsystem configuration, fitted cuts.

A histogram rule in an AutoDQM subsystem configuration lists options as
strings such as "pull_cap=25" or "logy". `parse_opts` turns them into a dict
that can be passed to any comparator as keyword arguments. `fitted_thresholds`
computes the cuts of a `thresholds_fit` entry (used by the DT subsystem).
"""

from __future__ import annotations

import math

# Defaults per comparator. A None option value means "use this default".
DEFAULTS = {
    "beta_binomial": {"chi2_cut": 10.0, "pull_cut": 10.0, "min_entries": 1, "pull_cap": 10.0, "tol": 0.01},
    "pull_values": {"chi2_cut": 500.0, "pull_cut": 20.0, "min_entries": 10000, "pull_cap": 25.0},
    "ks_test": {"ks_cut": 0.1, "min_entries": 10000},
}

NORM_TYPES = ("all", "row", "col")

NUMERIC_OPTS = ("pull_cap", "chi2_cut", "pull_cut", "ks_cut", "min_entries")
FLAG_OPTS = ("logx", "logy")
TEXT_OPTS = ("plot_title", "xaxis_title", "yaxis_title")

# The look-elsewhere correction of beta_binomial limits |max_pull| to about 37,
# so a fitted pull cut above that could never flag a histogram.
MAX_FITTED_PULL_CUT = 36.0


def resolve_thresholds(comparator: str, options: dict) -> dict:
    """Return the cuts of `comparator`, taking each from `options` unless it is None there."""
    resolved = {}
    for name, default in DEFAULTS[comparator].items():
        value = options.get(name)
        resolved[name] = default if value is None else value
    resolved["min_entries"] = _as_min_entries(resolved["min_entries"])
    for name in resolved:
        if name != "min_entries":
            resolved[name] = _as_number(name, resolved[name])
    return resolved


def resolve_norm_type(options: dict) -> str:
    norm_type = options.get("norm_type") or "all"
    if norm_type not in NORM_TYPES:
        msg = f"invalid norm_type {norm_type!r}; expected one of {', '.join(NORM_TYPES)}"
        raise ValueError(msg)
    return norm_type


def _as_number(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        msg = f"invalid {name} {value!r}; expected a number"
        raise ValueError(msg) from None
    if math.isnan(number):
        msg = f"invalid {name} {value!r}; expected a number"
        raise ValueError(msg)
    return number


def _as_min_entries(value) -> int:
    number = _as_number("min_entries", value)
    if not number.is_integer() or number < 0:
        msg = f"invalid min_entries {value!r}; expected a whole number of entries, 0 or more"
        raise ValueError(msg)
    return int(number)


def parse_opts(opts) -> dict:
    """Parse the `opts` strings of a histogram rule into keyword options.

    "pull_cap=25", "chi2_cut=500", "pull_cut=10" and "ks_cut=0.2" give floats,
    "min_entries=100" gives an int, "logx" and "logy" give True, and
    "plot_title=...", "xaxis_title=..." and "yaxis_title=..." give the text
    after the first "=". Raises ValueError naming the string for an unknown
    option, a missing value or a value that is not a number.
    """
    parsed = {}
    for text in opts or ():
        if not isinstance(text, str):
            msg = f"invalid option {text!r}: options are strings such as 'pull_cap=25'"
            raise ValueError(msg)
        name, has_value, value = (part.strip() for part in text.partition("="))
        parsed[name] = _parse_one(text, name, bool(has_value), value)
    return parsed


def _parse_one(text: str, name: str, has_value: bool, value: str):
    if name in FLAG_OPTS:
        if has_value:
            msg = f"invalid option {text!r}: {name} takes no value"
            raise ValueError(msg)
        return True
    if name in TEXT_OPTS:
        if not has_value:
            msg = f"invalid option {text!r}: expected {name}=<text>"
            raise ValueError(msg)
        return value
    if name in NUMERIC_OPTS:
        if not value:
            msg = f"invalid option {text!r}: expected {name}=<number>"
            raise ValueError(msg)
        try:
            return _as_min_entries(value) if name == "min_entries" else _as_number(name, value)
        except ValueError:
            msg = f"invalid option {text!r}: {value!r} is not a valid {name}"
            raise ValueError(msg) from None
    known = ", ".join(NUMERIC_OPTS + FLAG_OPTS + TEXT_OPTS)
    msg = f"unknown option {text!r}; known options: {known}"
    raise ValueError(msg)


def fitted_thresholds(thresholds_fit, hist_name: str, n_refs: int) -> dict:
    """Return the pull and chi2 cuts fitted for a histogram, or {} when no entry applies.

    The first entry of `thresholds_fit` whose `name` occurs in `hist_name`
    applies. With `n` the number of references and `a, b` the first two
    parameters, `pull_cut = a/n + b**2` from `param_MaxPull` (capped at 36) and
    `chi2_cut = 0.8 * (a/n + b**2)` from `param_Chi2`. A cut whose parameters
    are missing is left out of the dict, so the comparator default applies.
    """
    entry = next((e for e in thresholds_fit or () if e.get("name") and e["name"] in hist_name), None)
    if entry is None:
        return {}
    if n_refs < 1:
        msg = f"fitted thresholds for {hist_name!r} need at least one reference, got {n_refs}"
        raise ValueError(msg)

    cuts = {}
    if entry.get("param_MaxPull"):
        cuts["pull_cut"] = min(_fitted_value(entry, "param_MaxPull", n_refs), MAX_FITTED_PULL_CUT)
    if entry.get("param_Chi2"):
        cuts["chi2_cut"] = 0.8 * _fitted_value(entry, "param_Chi2", n_refs)
    return cuts


def _fitted_value(entry: dict, key: str, n_refs: int) -> float:
    params = entry[key]
    if len(params) < 2:
        msg = f"thresholds_fit entry {entry.get('name')!r}: {key} needs two parameters [a, b], got {params!r}"
        raise ValueError(msg)
    a, b = float(params[0]), float(params[1])
    return a / n_refs + b**2
