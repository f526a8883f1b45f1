"""The `failcast` command.

Each command module adds its commands to the Typer app in `_app`. `main` imports only the
module of the command it runs, so that `failcast version` or `failcast login` start without
loading the prediction stack; `failcast.cli.app` (and `failcast --help`) loads them all.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

RESOURCE_GROUPS = (
    "account", "admin", "alert", "billing", "channel", "chaos", "detect", "health", "incident",
    "log", "maintenance", "model", "org", "playbook", "report", "rule", "scrape", "service",
    "silence", "slo", "team", "topology",
)  # fmt: skip

# The module that defines each top-level command or command group; kept sorted by module.
# tests/cli/test_lazy_cli.py checks that it names every registered command.
COMMAND_MODULES: dict[str, str] = {
    "apikey": "account_commands",
    "config": "account_commands",
    "login": "account_commands",
    "ingest": "client_commands",
    "alerts": "data_commands",
    "export": "data_commands",
    "predict": "data_commands",
    "query": "data_commands",
    "services": "data_commands",
    "openapi": "docs",
    "backtest": "predict_commands",
    "models": "predict_commands",
    "train": "predict_commands",
    "rca": "rca",
    # The resource groups; `org` too, whose commands both it and account_commands add.
    **dict.fromkeys(RESOURCE_GROUPS, "resource_table"),
    "api": "scaleout",
    "scheduler": "scaleout",
    "worker": "scaleout",
    "detectors": "score",
    "score": "score",
    "db": "server",
    "up": "server",
    "version": "server",
    "simulate": "simulate",
    "user": "users",
}


def load_commands(command: str | None = None) -> Any:
    """The Typer app with `command`'s module loaded, or every module when it is unknown."""
    modules = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else COMMAND_MODULES.values()
    for module in dict.fromkeys(modules):
        import_module(f"failcast.cli.{module}")
    from failcast.cli._app import app

    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    words = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    load_commands(words[0] if words else None)()
