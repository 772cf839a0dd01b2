"""Write the plain-text summary placed beside each histogram's PDF.

The summary is a block of ``key: value`` lines that a shifter can paste into
the shift log: which runs and datasets were compared, with which comparator,
the scores, the cuts, the entries and the verdict. Every key is written on
every summary, with ``n/a`` for values that do not apply, so summaries of
different histograms line up and diff cleanly.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from datetime import datetime, timezone

logger = logging.getLogger(__name__)

HEADER = "# AutoDQM histogram comparison"
MISSING = "n/a"
# Cuts listed first, in this order. Other threshold keys follow alphabetically.
THRESHOLD_ORDER = ("chi2_cut", "pull_cut", "ks_cut", "min_entries", "pull_cap")


def format_result_text(
    *,
    subsystem,
    histogram,
    data_run,
    comparator,
    data_dataset=None,
    data_file=None,
    reference_runs=(),
    chi2=None,
    max_pull=None,
    ks=None,
    p_value=None,
    n_used=None,
    thresholds=None,
    entries_data=None,
    entries_refs=None,
    outlier=None,
    comparable=True,
    reason=None,
    note=None,
    config_version=None,
    generated_at=None,
):
    """Return the summary text of one histogram comparison.

    ``data_run`` is a run number, or a label "<run> <dataset>" that is split
    when ``data_dataset`` is not given. ``reference_runs`` holds one label or
    one ``(run, dataset)`` pair per reference, in the order the shifter chose
    them, and ``entries_refs`` the entries of each, in the same order. With
    ``comparable`` false, or ``outlier`` left as None, the verdict is
    "not comparable" followed by ``reason``. ``generated_at`` is a datetime or
    an ISO 8601 string and defaults to now; a time without a zone is taken as UTC.
    """
    run, dataset = _run_and_dataset(data_run, data_dataset)
    references = [_reference_label(item) for item in reference_runs]
    lines = [HEADER]
    lines += _pairs([
        ("subsystem", subsystem),
        ("histogram", histogram),
        ("data run", run),
        ("data dataset", dataset),
        ("data file", data_file),
    ])
    lines += _pairs((f"reference {i}", label) for i, label in enumerate(references, 1))
    lines += _pairs([
        ("comparator", comparator),
        ("verdict", _verdict(outlier, comparable, reason)),
        ("chi2", chi2),
        ("max pull", max_pull),
        ("ks", ks),
        ("p-value", p_value),
        ("bins used", n_used),
    ])
    lines += _pairs((f"threshold {key}", value) for key, value in _ordered_thresholds(thresholds))
    lines += _pairs([("entries data", entries_data)])
    lines += _pairs(_reference_entries(len(references), entries_refs))
    lines += _pairs([
        ("note", note),
        ("config version", config_version),
        ("generated", _utc_iso(generated_at)),
    ])
    return "\n".join(lines) + "\n"


def write_result_text(path, **fields):
    """Write the summary of one comparison to ``path``; see ``format_result_text``.

    The file is written to a temporary name in the same folder and renamed,
    so a reader never sees half a file.
    """
    text = format_result_text(**fields)
    path = os.fspath(path)
    handle, tmp = tempfile.mkstemp(prefix=".result-", suffix=".txt", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError:
        logger.exception("Writing the result text of histogram %s to %s failed",
                         fields.get("histogram"), path)
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_result_text(text):
    """Return the ``key: value`` lines of a summary as a dict of strings.

    Blank lines and lines starting with ``#`` are skipped. Raises ValueError
    naming the line number for a line without a colon or a repeated key.
    """
    fields = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            msg = f"line {number} of the result text has no 'key: value' form: {line!r}"
            raise ValueError(msg)
        key = key.strip()
        if key in fields:
            msg = f"line {number} of the result text repeats the key {key!r}"
            raise ValueError(msg)
        fields[key] = value.strip()
    return fields


def fields_from_result(result):
    """Return the score, threshold and entry fields of a comparator result.

    The returned dict is meant to be passed on with ``**`` to
    ``format_result_text`` or ``write_result_text``.
    """
    return {
        "comparator": result.comparator,
        "chi2": result.chi2,
        "max_pull": result.max_pull,
        "ks": result.ks,
        "p_value": result.p_value,
        "n_used": result.n_used,
        "thresholds": dict(result.thresholds or {}),
        "entries_data": result.entries_data,
        "entries_refs": list(result.entries_refs or []),
        "outlier": result.is_outlier,
        "comparable": True,
        "note": result.note,
    }


def _verdict(outlier, comparable, reason):
    if not comparable or outlier is None:
        return f"not comparable: {reason or 'no reason recorded'}"
    return "OUTLIER" if outlier else "ok"


def _run_and_dataset(data_run, data_dataset):
    if data_dataset is not None or data_run is None:
        return data_run, data_dataset
    run, _, dataset = str(data_run).strip().partition(" ")
    return run, dataset.strip() or None


def _reference_label(item):
    if isinstance(item, (tuple, list)):
        return " ".join(str(part) for part in item if part not in (None, ""))
    return str(item)


def _ordered_thresholds(thresholds):
    thresholds = dict(thresholds or {})
    known = [(key, thresholds.pop(key)) for key in THRESHOLD_ORDER if key in thresholds]
    return known + sorted(thresholds.items(), key=lambda item: str(item[0]))


def _reference_entries(n_references, entries_refs):
    entries = list(entries_refs or [])
    count = max(n_references, len(entries))
    return [(f"entries reference {i}", entries[i - 1] if i <= len(entries) else None)
            for i in range(1, count + 1)]


def _pairs(items):
    # A colon in a key would move the split point that parse_result_text relies on.
    return [f"{_one_line(key).replace(':', '_')}: {_format_value(value)}" for key, value in items]


def _format_value(value):
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) or hasattr(value, "dtype"):
        return _format_number(float(value))
    return _one_line(str(value)) or MISSING


def _format_number(value):
    if math.isnan(value):
        return "nan"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".6g")


def _one_line(text):
    """Collapse line breaks and runs of spaces so each field stays on one line."""
    return " ".join(str(text).split()) if text is not None else ""


def _utc_iso(moment):
    moment = moment or datetime.now(timezone.utc)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
