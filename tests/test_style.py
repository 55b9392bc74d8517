"""Ruff's lint and format checks (configured in pyproject.toml), so CI runs them as the tests do."""

import shutil
import subprocess

import pytest
from conftest import ROOT


@pytest.mark.parametrize("check", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_passes(check):
    if shutil.which("ruff") is None:
        pytest.skip("ruff is in the test extra: pip install '.[test]'")
    result = subprocess.run(["ruff", *check, "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
