"""The `failcast` command. Each module in this package adds its commands to `app`."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="failcast",
    help="Failcast: predict failures of services, ML models and data pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Command modules register themselves on import; keep this list sorted.
from failcast.cli import (  # noqa: E402, F401
    api_commands,
    client_commands,
    docs,
    predict_commands,
    rca,
    resource_table,
    scaleout,
    score,
    server,
    simulate,
    users,
)


def main() -> None:
    app()
