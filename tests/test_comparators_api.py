"""The comparator API section of the README (docs/comparators.md) runs as written and prints what its comments state."""

import contextlib
import io
import os
import re
import subprocess
import sys

import pytest

from comparisons.comparators import registry
from tests.conftest import REPO

DOC = REPO / "docs" / "comparators.md"
ABOUT = "about "


def _code_blocks():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def _expected_outputs(block):
    """Return the comment of every print line of a block, in order."""
    return [line.split("  # ", 1)[1] for line in block.splitlines() if line.startswith("print(")]


def _decimals(token):
    return len(token.partition(".")[2])


def _check_line(printed, comment):
    if not comment.startswith(ABOUT):
        assert printed == comment
        return
    expected_tokens, printed_tokens = comment[len(ABOUT):].split(), printed.split()
    assert len(printed_tokens) == len(expected_tokens), printed
    for got, expected in zip(printed_tokens, expected_tokens):
        try:
            number = float(expected)
        except ValueError:
            assert got == expected
            continue
        # "about 16.73" holds for any value that rounds to 16.73.
        assert float(got) == pytest.approx(number, abs=0.5 * 10 ** -_decimals(expected) + 1e-12), printed


@pytest.fixture
def clean_registry():
    saved = dict(registry._registry)
    yield
    registry._registry.clear()
    registry._registry.update(saved)


def test_doc_examples_print_as_commented(clean_registry):
    namespace = {}
    blocks = _code_blocks()
    assert len(blocks) == 3
    for block in blocks:
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, str(DOC), "exec"), namespace)
        printed = output.getvalue().splitlines()
        expected = _expected_outputs(block)
        assert len(printed) == len(expected)
        for line, comment in zip(printed, expected):
            _check_line(line, comment)


def test_doc_example_registers_comparator(clean_registry):
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for block in _code_blocks():
            exec(compile(block, str(DOC), "exec"), namespace)
    assert registry.comparator_info("mean_shift").dims == (1,)
    assert "mean_shift" in registry.available_comparators()
    assert namespace["result"].is_outlier is True


def test_doc_examples_run_without_django():
    script = "\n".join(_code_blocks()) + "\nimport sys\nassert 'django' not in sys.modules, 'django was imported'\n"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert finished.returncode == 0, finished.stderr


def test_public_names_importable():
    from comparisons.comparators import (  # noqa: F401
        ComparatorResult,
        Evaluation,
        UnavailableComparator,
        available_comparators,
        beta_binomial,
        comparator_info,
        evaluate,
        get_comparator,
        ks_test,
        pull_values,
        register,
    )

    assert isinstance(get_comparator("pca"), UnavailableComparator)
    assert get_comparator("pca").reason in DOC.read_text(encoding="utf-8")
