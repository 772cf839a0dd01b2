"""Tests of the plain-text summary written beside each histogram's PDF."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from comparisons.artifact_text import (
    HEADER,
    fields_from_result,
    format_result_text,
    parse_result_text,
    write_result_text,
)

GENERATED = datetime(2024, 5, 17, 9, 30, 0, tzinfo=timezone.utc)
DATASET = "ZeroBias/Run2022C-PromptReco-v1"


@dataclass
class FakeResult:
    """Stand-in with the attributes of a comparator result."""

    comparator: str = "beta_binomial"
    chi2: float | None = 12.3456789
    max_pull: float | None = -8.25
    ks: float | None = None
    p_value: float | None = None
    is_outlier: bool = True
    thresholds: dict = field(default_factory=lambda: {"pull_cap": 10.0, "chi2_cut": 10.0,
                                                      "pull_cut": 10.0, "min_entries": 1, "tol": 0.01})
    n_used: int | None = 53
    entries_data: float = 12345.0
    entries_refs: list = field(default_factory=lambda: [1000.0, 2000.5])
    note: str | None = None


def base_fields(**overrides):
    fields = dict(
        subsystem="CSC",
        histogram="CSCOfflineMonitor/Digis/hWireTBin",
        data_run=f"355200 {DATASET}",
        reference_runs=[f"355100 {DATASET}", (355101, DATASET)],
        config_version=3,
        generated_at=GENERATED,
    )
    fields.update(fields_from_result(FakeResult()))
    fields.update(overrides)
    return fields


def test_format_lists_every_field():
    parsed = parse_result_text(format_result_text(**base_fields()))
    assert parsed == {
        "subsystem": "CSC",
        "histogram": "CSCOfflineMonitor/Digis/hWireTBin",
        "data run": "355200",
        "data dataset": DATASET,
        "data file": "n/a",
        "reference 1": f"355100 {DATASET}",
        "reference 2": f"355101 {DATASET}",
        "comparator": "beta_binomial",
        "verdict": "OUTLIER",
        "chi2": "12.3457",
        "max pull": "-8.25",
        "ks": "n/a",
        "p-value": "n/a",
        "bins used": "53",
        "threshold chi2_cut": "10",
        "threshold pull_cut": "10",
        "threshold min_entries": "1",
        "threshold pull_cap": "10",
        "threshold tol": "0.01",
        "entries data": "12345",
        "entries reference 1": "1000",
        "entries reference 2": "2000.5",
        "note": "n/a",
        "config version": "3",
        "generated": "2024-05-17T09:30:00Z",
    }


def test_format_starts_with_header_and_ends_with_newline():
    text = format_result_text(**base_fields())
    assert text.splitlines()[0] == HEADER
    assert text.endswith("\n")


def test_format_cuts_come_first_in_fixed_order():
    keys = [key for key in parse_result_text(format_result_text(**base_fields())) if key.startswith("threshold")]
    assert keys == ["threshold chi2_cut", "threshold pull_cut", "threshold min_entries",
                    "threshold pull_cap", "threshold tol"]


def test_verdict_ok():
    parsed = parse_result_text(format_result_text(**base_fields(outlier=False)))
    assert parsed["verdict"] == "ok"


def test_verdict_not_comparable_with_reason():
    fields = base_fields(comparable=False, outlier=None, reason="no reference with the same binning")
    parsed = parse_result_text(format_result_text(**fields))
    assert parsed["verdict"] == "not comparable: no reference with the same binning"


def test_verdict_not_comparable_without_reason():
    parsed = parse_result_text(format_result_text(**base_fields(outlier=None)))
    assert parsed["verdict"] == "not comparable: no reason recorded"


def test_separate_run_and_dataset():
    fields = base_fields(data_run=355200, data_dataset=DATASET)
    parsed = parse_result_text(format_result_text(**fields))
    assert parsed["data run"] == "355200"
    assert parsed["data dataset"] == DATASET


def test_ks_scores_and_numpy_values():
    fields = base_fields(comparator="ks_test", chi2=None, max_pull=None,
                         ks=np.float64(0.1234567), p_value=np.float64(3.2e-7), n_used=np.int64(40))
    parsed = parse_result_text(format_result_text(**fields))
    assert parsed["ks"] == "0.123457"
    assert parsed["p-value"] == "3.2e-07"
    assert parsed["bins used"] == "40"
    assert parsed["chi2"] == "n/a"


def test_missing_reference_entries_are_na():
    parsed = parse_result_text(format_result_text(**base_fields(entries_refs=[1000.0])))
    assert parsed["entries reference 1"] == "1000"
    assert parsed["entries reference 2"] == "n/a"


def test_note_with_line_breaks_stays_on_one_line():
    parsed = parse_result_text(format_result_text(**base_fields(note="kept the full range\nxmin above data")))
    assert parsed["note"] == "kept the full range xmin above data"


def test_threshold_key_with_colon_stays_parseable():
    parsed = parse_result_text(format_result_text(**base_fields(thresholds={"odd:key": 1.5})))
    assert parsed["threshold odd_key"] == "1.5"


def test_nan_and_infinity():
    parsed = parse_result_text(format_result_text(**base_fields(chi2=float("nan"), max_pull=float("inf"))))
    assert parsed["chi2"] == "nan"
    assert parsed["max pull"] == "inf"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 5, 17, 11, 30, tzinfo=timezone(timedelta(hours=2))), "2024-05-17T09:30:00Z"),
        (datetime(2024, 5, 17, 9, 30), "2024-05-17T09:30:00Z"),
        ("2024-05-17T11:30:00+02:00", "2024-05-17T09:30:00Z"),
    ],
)
def test_generated_time_in_utc(moment, expected):
    parsed = parse_result_text(format_result_text(**base_fields(generated_at=moment)))
    assert parsed["generated"] == expected


def test_generated_time_defaults_to_now():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    parsed = parse_result_text(format_result_text(**base_fields(generated_at=None)))
    generated = datetime.fromisoformat(parsed["generated"].replace("Z", "+00:00"))
    assert before <= generated <= datetime.now(timezone.utc)


def test_unknown_field_raises():
    with pytest.raises(TypeError):
        format_result_text(**base_fields(colour="blue"))


def test_write_result_text(tmp_path):
    path = tmp_path / "h.txt"
    write_result_text(path, **base_fields())
    assert path.read_text(encoding="utf-8") == format_result_text(**base_fields())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.txt"]


def test_write_result_text_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_result_text(tmp_path / "missing" / "h.txt", **base_fields())


def test_parse_rejects_line_without_colon():
    with pytest.raises(ValueError, match="line 3"):
        parse_result_text("# header\nsubsystem: CSC\nno colon here\n")


def test_parse_rejects_repeated_key():
    with pytest.raises(ValueError, match="repeats the key 'chi2'"):
        parse_result_text("chi2: 1\nchi2: 2\n")


def test_parse_keeps_colons_in_values():
    assert parse_result_text("verdict: not comparable: empty\n") == {"verdict": "not comparable: empty"}
