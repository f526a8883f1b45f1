"""The documentation says what the code does: docs/api.md is the generated reference."""

from __future__ import annotations

from pathlib import Path

from failcast.cli.docs import markdown, openapi_document

ROOT = Path(__file__).resolve().parent.parent


def test_api_reference_is_up_to_date() -> None:
    expected = markdown(openapi_document())
    actual = (ROOT / "docs" / "api.md").read_text()
    assert actual == expected, "regenerate with: failcast openapi --markdown -o docs/api.md"
