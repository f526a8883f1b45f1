"""`failcast openapi`: the API description, as JSON or as the Markdown reference in docs/api.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from failcast.cli._app import app

HEADER = """# API reference

Every endpoint lives under `/api/v1` (the operations endpoints `/health`, `/ready` and
`/metrics`, the OTLP receiver `/v1/metrics` and Prometheus' query API under `/prometheus`,
excepted). The interactive reference is served at `/docs` (Swagger UI) and `/redoc` (ReDoc),
both from the installed package with nothing fetched from the internet, and the
machine-readable one at `/openapi.json`; this page is generated from the
same description with `failcast openapi --markdown > docs/api.md`.

## Conventions

- **Authentication**: `Authorization: Bearer <token>`, where the token is an access token from
  `POST /api/v1/login` (15 minutes; renew with `POST /api/v1/token/refresh`) or an API key
  (`fc_...`, scopes `ingest`, `read`, `write`, `admin`). Browsers' WebSocket clients pass
  `?token=` to `/api/v1/stream`. Prometheus sends the key as the basic-auth password.
- **Tenancy**: everything is scoped to the caller's organisation; another organisation's ids
  answer 404 exactly like ids that do not exist.
- **Errors**: one shape, `{"error": "<Name>", "detail": ...}`. A 422's detail lists every problem
  as `{"index"?, "field", "msg"}`; a batch with any problem stores nothing. Every operation's
  description lists the errors it can answer. A 429 or 503 (the store is busy) says when to
  retry in `Retry-After`; an unexpected failure is a 500 whose body carries the `request_id`
  to quote.
- **Sizes**: request bodies are refused (413) above 1 MiB, or 16 MiB on the bulk routes
  (ingest, remote write, OTLP, ML events, imports, scoring); both are settings.
- **Time**: timestamps are RFC 3339 with a zone (`2026-11-20T10:00:00Z`) or Unix seconds;
  durations are seconds or text such as `90s`, `5m`, `1h`.
- **Pages**: list endpoints that can grow return `next_cursor`; pass it back as `cursor`.

## Endpoints
"""


def openapi_document() -> dict[str, Any]:
    from failcast.app import create_app
    from failcast.config import Settings

    settings = Settings(dashboard_enabled=False, run_migrations_on_start=False)
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def markdown(document: dict[str, Any]) -> str:
    """One table per tag: method, path and the first paragraph of each operation's description."""
    by_tag: dict[str, list[tuple[str, str, str]]] = {}
    for path, operations in sorted(document["paths"].items()):
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            text = operation.get("description") or operation.get("summary") or ""
            first = " ".join(text.strip().split("\n\n")[0].split())
            by_tag.setdefault(tag, []).append((method.upper(), path, first.replace("|", "\\|")))
    lines = [HEADER]
    for tag in sorted(by_tag):
        lines += [f"\n### {tag}\n", "| method | path | what it does |", "|---|---|---|"]
        lines += [f"| {m} | `{p}` | {d} |" for m, p, d in by_tag[tag]]
    return "\n".join(lines) + "\n"


@app.command()
def openapi(
    as_markdown: Annotated[
        bool, typer.Option("--markdown", help="The Markdown reference instead of JSON.")
    ] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Print the API description (OpenAPI JSON, or Markdown for docs/api.md)."""
    document = openapi_document()
    text = markdown(document) if as_markdown else json.dumps(document, indent=2)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
