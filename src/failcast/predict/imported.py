"""Imported history: the files `failcast simulate --out DIR` writes, or an export of a team's
own telemetry in the same shape, read onto a prediction grid.

- `samples.csv` (or `samples.parquet`): `ts, service, metric, value`, one sample per row;
  `ts` in Unix seconds (milliseconds when larger than 1e11) or RFC 3339;
- `incidents.csv`: `service, type, start, end` and optionally `root_cause_service`; times
  as for samples, an empty `end` meaning not known;
- `topology.json` (optional): `{"services": [{"name", "kind", "dependencies"}]}`.

Samples are averaged per grid step; a step without samples is missing (NaN).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from failcast.predict.dataset import STEP_MS, FleetData, ServiceData
from failcast.predict.labels import IncidentRecord

SAMPLE_COLUMNS = ("ts", "service", "metric", "value")
INCIDENT_COLUMNS = ("service", "type", "start")


class ImportedHistory(NamedTuple):
    fleet: FleetData
    incidents: list[IncidentRecord]


def _epoch_ms(values: pd.Series) -> np.ndarray:
    """Epoch milliseconds from Unix seconds, milliseconds or RFC 3339 text (NaN stays NaN)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() == values.notna().sum():
        raw = numeric.to_numpy(dtype=np.float64)
        finite = raw[np.isfinite(raw)]
        scale = 1.0 if finite.size and np.nanmedian(finite) > 1e11 else 1000.0
        out: np.ndarray = raw * scale
        return out
    parsed = pd.to_datetime(values, utc=True, errors="raise")
    stamps = parsed.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64) / 1e6
    return np.where(parsed.isna().to_numpy(), np.nan, stamps)


def _need(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the column(s) {', '.join(missing)}")


def read_samples(directory: Path) -> pd.DataFrame:
    parquet, csv = directory / "samples.parquet", directory / "samples.csv"
    if parquet.exists():
        frame = pd.read_parquet(parquet)
    elif csv.exists():
        frame = pd.read_csv(csv, dtype={"service": str, "metric": str})
    else:
        raise ValueError(f"no samples.csv or samples.parquet in {directory}")
    _need(frame, SAMPLE_COLUMNS, "samples")
    return frame


def load_history(directory: Path, step_ms: int = STEP_MS) -> ImportedHistory:
    """The fleet on a grid of `step_ms` from its first sample, with its incidents."""
    if step_ms <= 0:
        raise ValueError("the grid step must be positive")
    frame = read_samples(directory)
    ts = _epoch_ms(frame["ts"])
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(ts)
    if not ok.any():
        raise ValueError("samples hold no valid timestamp")
    start = int(np.nanmin(ts)) // step_ms * step_ms
    bucket = ((ts[ok] - start) // step_ms).astype(np.int64)
    n = int(bucket.max()) + 1
    grid = start + np.arange(n, dtype=np.int64) * step_ms
    keys = pd.DataFrame(
        {
            "service": frame["service"].to_numpy()[ok],
            "metric": frame["metric"].to_numpy()[ok],
            "bucket": bucket,
            "value": values[ok],
        }
    )
    means = keys.groupby(["service", "metric", "bucket"], sort=True)["value"].mean()
    topology = _topology(directory / "topology.json")
    services: dict[str, ServiceData] = {}
    for (service, metric), part in means.groupby(level=[0, 1], sort=True):
        row = np.full(n, np.nan)
        row[part.index.get_level_values(2).to_numpy()] = part.to_numpy()
        kind, deps = topology.get(str(service), ("microservice", ()))
        data = services.setdefault(str(service), ServiceData(kind, {}, deps))
        data.metrics[str(metric)] = row
    for name, (kind, deps) in topology.items():
        services.setdefault(name, ServiceData(kind, {}, deps))
    return ImportedHistory(FleetData(grid, services), read_incidents(directory / "incidents.csv"))


def _topology(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {
        str(s["name"]): (str(s.get("kind", "microservice")), tuple(s.get("dependencies", ())))
        for s in data.get("services", [])
    }


def read_incidents(path: Path) -> list[IncidentRecord]:
    """The incidents of `incidents.csv`, times in Unix seconds; none when the file is absent."""
    if not path.exists():
        return []
    frame = pd.read_csv(path, dtype={"service": str, "type": str})
    _need(frame, INCIDENT_COLUMNS, "incidents.csv")
    starts = _epoch_ms(frame["start"]) / 1000.0
    ends = _epoch_ms(frame["end"]) / 1000.0 if "end" in frame else np.full(len(frame), np.nan)
    causes = frame.get("root_cause_service", frame["service"]).fillna(frame["service"])
    out = []
    for service, kind, start, end, cause in zip(
        frame["service"], frame["type"], starts, ends, causes, strict=True
    ):
        if not math.isfinite(start):
            continue
        finish = end if math.isfinite(end) else start
        out.append(IncidentRecord(str(service), str(kind), float(start), float(finish), str(cause)))
    return out
