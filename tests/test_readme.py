"""The README's comparator example runs as written."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _python_block(containing):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return next(block for block in blocks if containing in block)


def test_registered_comparator_example_runs():
    script = _python_block("@register(") + """
import numpy as np
from comparisons.comparators import evaluate
ref = np.full(10, 100.0)
print(evaluate("total_ratio", ref * 3, [ref, ref]).result.is_outlier)
print(evaluate("total_ratio", ref, [ref]).result.max_pull)
"""
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["True", "1.0"]
