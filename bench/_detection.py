"""What the detection benchmarks share: scoring through `failcast score` exactly as a user runs
it, the two labelled data sets, and the figures computed from scores and labels."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from failcast.cli import app
from failcast.detect.tail import ALARM_THRESHOLD

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
NAB = SHARED / "nab"
ASD = SHARED / "asd" / "csv"
ASD_STEP_MS = 300_000
# ASD rows carry no timestamps; a fixed origin gives them a calendar for hour-of-day baselines.
ASD_ORIGIN_MS = 1_577_836_800_000
ASD_SERVERS = list(range(1, 13))
BASELINE = "mad-zscore"
ASD_BASELINE = "reference-zscore"


@dataclass(frozen=True)
class Run:
    """One `failcast score` run: the anomaly scores (NaN where there is none) and statuses."""

    score: np.ndarray
    status: list[str]
    message: str


def cli_score(
    source: Path,
    detector: str | None = None,
    params: dict[str, Any] | None = None,
    train: Path | None = None,
) -> Run:
    """Run `failcast score` in this process, with the user's defaults where not given."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.csv"
        args = ["score", str(source), "--output", str(out)]
        if detector is not None:
            args += ["--detector", detector]
        for key, value in (params or {}).items():
            args += ["--set", f"{key}={json.dumps(value)}"]
        if train is not None:
            args += ["--train", str(train)]
        captured = io.StringIO()
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            code = app(args, standalone_mode=False)
        if code:  # an error exit comes back as its code outside standalone mode
            raise RuntimeError(f"failcast score failed: {captured.getvalue()}")
        with out.open(newline="") as handle:
            rows = list(csv.reader(handle))[1:]
    score = np.array([float(r[1]) if r[1] else np.nan for r in rows])
    return Run(score, [r[3] for r in rows], captured.getvalue().strip())


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AP with absent scores ranked last; NaN when there is no positive."""
    if not labels.any():
        return float("nan")
    s = np.where(np.isnan(scores), -1.0, scores)
    return float(average_precision_score(labels, s))


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (start, end) of each run of True."""
    padded = np.concatenate(([False], flags.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass(frozen=True)
class Alarms:
    """Alarm figures at the documented threshold: labelled events with at least one alarm,
    alarm episodes that touch no event, and the share of points at or above the threshold."""

    events: int
    detected: int
    false_episodes: int
    days: float
    share: float

    @property
    def recall(self) -> float:
        return self.detected / self.events if self.events else float("nan")

    @property
    def false_per_day(self) -> float:
        return self.false_episodes / self.days if self.days else float("nan")


def alarms(
    scores: np.ndarray,
    labels: np.ndarray,
    step_ms: float,
    threshold: float = ALARM_THRESHOLD,
    start: int = 0,
) -> Alarms:
    """Alarm figures over rows from `start` on (NAB's probation and warm-up are left out)."""
    s = np.nan_to_num(scores[start:], nan=0.0)
    y = labels[start:].astype(bool)
    on = s >= threshold
    events = runs(y)
    detected = sum(1 for a, b in events if on[a : b + 1].any())
    false = sum(1 for a, b in runs(on) if not y[a : b + 1].any())
    return Alarms(len(events), detected, false, len(s) * step_ms / 86_400_000, float(on.mean()))


# -- NAB -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NabFile:
    name: str
    path: Path
    timestamps: np.ndarray  # epoch ms
    windows: tuple[tuple[int, int], ...]

    @property
    def labels(self) -> np.ndarray:
        y = np.zeros(len(self.timestamps), dtype=bool)
        for a, b in self.windows:
            y[a : b + 1] = True
        return y

    @property
    def step_ms(self) -> float:
        return float(np.median(np.diff(self.timestamps)))


def nab_split(names: Sequence[str], split: str) -> list[str]:
    """ "tune" is every other file in sorted order from the first, "holdout" the rest, "all"
    every file: fixed before any score was looked at."""
    ordered = sorted(names)
    if split == "all":
        return ordered
    if split == "tune":
        return ordered[0::2]
    if split == "holdout":
        return ordered[1::2]
    raise ValueError("split must be 'all', 'tune' or 'holdout'")


def nab_files(split: str = "all") -> list[NabFile]:
    from failcast.detect.nab import window_rows

    windows = json.loads((NAB / "labels" / "combined_windows.json").read_text())
    files = []
    for name in nab_split(list(windows), split):
        frame = pd.read_csv(NAB / "data" / name)
        stamps = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S").to_numpy()
        ms = stamps.astype("datetime64[ms]").astype(np.int64)
        rows = window_rows(stamps, [(a, b) for a, b in windows[name]])
        files.append(NabFile(name, NAB / "data" / name, ms, rows))
    return files


# -- ASD -------------------------------------------------------------------------------------


def asd_split(split: str) -> list[int]:
    """Odd-numbered servers tune, even-numbered ones are held out."""
    if split == "all":
        return ASD_SERVERS
    if split == "tune":
        return ASD_SERVERS[0::2]
    if split == "holdout":
        return ASD_SERVERS[1::2]
    raise ValueError("split must be 'all', 'tune' or 'holdout'")


@dataclass(frozen=True)
class AsdServer:
    server: int
    train: Path
    test: Path
    labels: np.ndarray


@contextlib.contextmanager
def asd_servers(split: str = "all") -> Iterator[list[AsdServer]]:
    """Each server's train and test split as `timestamp,m1,...,m19` CSV files, five minutes
    apart, the test split right after the train split."""
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        for server in asd_split(split):

            def read(kind: str, server: int = server) -> np.ndarray:
                path = ASD / f"omi-{server}_{kind}.csv.gz"
                return pd.read_csv(path, header=None).to_numpy(np.float64)

            train, test = read("train"), read("test")
            labels = read("test_label")[:, 0].astype(bool)
            paths = []
            for kind, rows, offset in (("train", train, 0), ("test", test, len(train))):
                path = Path(tmp) / f"omi-{server}_{kind}.csv"
                ts = (ASD_ORIGIN_MS + (offset + np.arange(len(rows))) * ASD_STEP_MS) // 1000
                frame = pd.DataFrame(rows, columns=[f"m{j + 1}" for j in range(rows.shape[1])])
                frame.insert(0, "timestamp", ts)
                frame.to_csv(path, index=False, float_format="%.9g")
                paths.append(path)
            servers.append(AsdServer(server, paths[0], paths[1], labels))
        yield servers
