"""The test tree's own rules: pytest imports test modules by basename (folders are not
packages), so two modules with the same name break a whole-suite run."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_names_are_unique() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []


def test_the_import_contracts_hold() -> None:
    """pyproject.toml's import-linter contracts: no cycle between failcast's packages, and the
    detection and prediction cores import nothing of the web, the database or the dashboard."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=TESTS.parent, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
