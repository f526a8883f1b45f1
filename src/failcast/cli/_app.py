"""The bare Typer application; the command modules add their commands to it on import."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="failcast",
    help="Failcast: predict failures of services, ML models and data pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Failcast: predict failures of services, ML models and data pipelines."""
