"""`failcast version` and the API client commands start without the prediction stack; the
lazy command table names every command there is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from failcast.cli import COMMAND_MODULES, app

SRC = Path(__file__).resolve().parents[2] / "src"
MODEL_STACK = ("xgboost", "sklearn", "torch", "pandas", "scipy", "nicegui")

_PROBE = """
import json, sys
sys.argv = ["failcast", *sys.argv[1:]]
from failcast.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_after(*args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.strip().splitlines()[-1])}


@pytest.mark.parametrize("args", [("version",), ("login", "--help"), ("export", "--help")])
def test_commands_that_need_no_model_do_not_import_the_model_stack(args: tuple[str, ...]) -> None:
    loaded = modules_after(*args)
    assert "failcast" in loaded
    assert [name for name in MODEL_STACK if name in loaded] == []


def test_the_command_table_names_every_command_and_group() -> None:
    names = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    names |= {g.name for g in app.registered_groups if g.name}
    assert names == set(COMMAND_MODULES)
