"""Rows into bytes, chunk by chunk: CSV, a JSON array, JSON lines, and Excel (xlsx).

CSV and JSON write times as RFC 3339 in UTC and labels as JSON objects. Excel cannot hold a
time zone, so its times are UTC with the zone removed (the column headers say so); openpyxl's
write-only mode keeps one row in memory at a time and spills the sheet to a temporary file.

Text comes from users (alert and incident titles, imported fields), and a spreadsheet opening
an export runs a cell that starts with `=`, `+`, `-` or `@` as a formula (CSV injection). In
CSV such text gets a leading `'`, which spreadsheets show as text and do not evaluate; in
Excel it is written as a text cell, never a formula. Numbers are numbers in both, negative
ones included.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import anyio
import orjson

Row = dict[str, Any]
EXCEL_ROWS_PER_SHEET = 1_000_000
READ_BLOCK = 64 * 1024
# A cell starting with one of these is a formula to a spreadsheet (tab and carriage return
# too: some spreadsheets skip them and read on).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """`text` as a spreadsheet shows it but never runs it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class Format(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    xlsx = "xlsx"


MEDIA_TYPES = {
    Format.csv: "text/csv; charset=utf-8",
    Format.json: "application/json",
    Format.jsonl: "application/x-ndjson",
    Format.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, str):
        return neutralised(value)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _json(row: Row) -> bytes:
    # orjson writes aware datetimes itself, but as +00:00; RFC 3339 with Z matches the API.
    fixed = {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in row.items()}
    return orjson.dumps(fixed, default=_json_default)


def _excel(sheet: Any, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        from openpyxl.cell import WriteOnlyCell

        # openpyxl would store "=..." as a formula; a text cell shows it and runs nothing.
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


async def encode(
    fmt: Format, columns: Sequence[str], chunks: AsyncIterator[list[Row]]
) -> AsyncIterator[bytes]:
    """The export's bytes as they are produced."""
    if fmt is Format.xlsx:
        async for block in _xlsx(columns, chunks):
            yield block
        return
    if fmt is Format.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        yield buffer.getvalue().encode()
        async for rows in chunks:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([_text(row[c]) for c in columns] for row in rows)
            yield buffer.getvalue().encode()
        return
    if fmt is Format.jsonl:
        async for rows in chunks:
            yield b"".join(_json(row) + b"\n" for row in rows)
        return
    first = True
    yield b"["
    async for rows in chunks:
        parts = []
        for row in rows:
            parts.append((b"\n" if first else b",\n") + _json(row))
            first = False
        yield b"".join(parts)
    yield b"\n]\n"


def _headers(columns: Sequence[str], datetime_columns: set[str]) -> list[str]:
    return [f"{c} (UTC)" if c in datetime_columns else c for c in columns]


async def _xlsx(columns: Sequence[str], chunks: AsyncIterator[list[Row]]) -> AsyncIterator[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet: Any = None
    written = 0
    sheets = 0
    # Time columns are known from the first row; a time column that starts empty keeps its name.
    datetime_columns: set[str] = set()

    def append(rows: list[Row]) -> None:
        nonlocal sheet, written, sheets
        for row in rows:
            if sheet is None or written >= EXCEL_ROWS_PER_SHEET:
                sheets += 1
                sheet = workbook.create_sheet("export" if sheets == 1 else f"export {sheets}")
                sheet.append(_headers(columns, datetime_columns))
                written = 0
            sheet.append([_excel(sheet, row[c]) for c in columns])
            written += 1

    async for rows in chunks:
        if not datetime_columns and rows:
            datetime_columns = {c for c in columns if isinstance(rows[0][c], datetime)}
        await anyio.to_thread.run_sync(append, rows)
    if sheet is None:
        sheet = workbook.create_sheet("export")
        sheet.append(list(columns))
    with tempfile.TemporaryFile() as handle:
        await anyio.to_thread.run_sync(workbook.save, handle)
        handle.seek(0)
        while block := await anyio.to_thread.run_sync(handle.read, READ_BLOCK):
            yield block
