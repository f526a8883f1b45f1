"""NAB v1.1: Failcast's detectors streamed over the 58 NAB files, scored with failcast.detect.nab.

Each file is scored causally from its first row, with a fresh detector. Reported: the NAB
protocol's corpus-wide threshold sweep, and a threshold fixed in advance (0.5, the point where
every Failcast score means a tail probability of 1e-5), next to the published scoreboard.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench._record import record, table
from failcast.detect import create
from failcast.detect.nab import PROFILES, ScoredFile, score_corpus, window_rows

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "nab"
FIXED_THRESHOLD = 0.5


def _likelihood(inner: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {"name": "likelihood", "params": {"inner": inner, "history": 8000, **params}}


# The fused configuration, chosen on the tune split only (9 configurations tried there, see
# docs/benchmarks.md): the maximum of two HTM-style anomaly likelihoods, each judging the mean of
# its inner detector's last 10 scores against the history of such means - one over the robust
# seasonal baseline (with the spatial rule: a value beyond the range seen so far, widened by
# 2% of it, scores 1), one over windowed novelty (the shape of the last 8 values against every
# shape seen before) - then at most one alarm per 100 points.
FUSED: dict[str, Any] = {
    "name": "rest",
    "params": {
        "rest": 100,
        "threshold": 0.5,
        "inner": {
            "name": "ensemble",
            "params": {
                "members": [
                    _likelihood({"name": "seasonal"}, spatial_tolerance=0.02, averaged=True),
                    _likelihood({"name": "novelty"}, averaged=True),
                ]
            },
        },
    },
}

# The earlier single likelihood over the seasonal baseline; its parameters were picked by about
# twenty trial runs on the whole corpus (holdout included), so its figures are optimistic.
SEASONAL_ONLY: dict[str, Any] = _likelihood(
    {"name": "seasonal"}, spatial_tolerance=0.02, rest=100, rest_threshold=0.5
)

CONFIGS: dict[str, dict[str, Any]] = {
    "failcast fused likelihoods (seasonal + novelty)": FUSED,
    "failcast likelihood(seasonal), tuned on the whole corpus": SEASONAL_ONLY,
    "failcast ensemble, defaults": {"name": "ensemble", "params": {}},
}

PUBLISHED = [
    ("ARTime", 74.85),
    ("Numenta HTM", 70.10),
    ("CAD OSE", 69.90),
    ("earthgecko Skyline", 58.20),
    ("KNN CAD", 57.99),
    ("Relative Entropy", 54.64),
    ("Random Cut Forest", 51.72),
    ("Twitter ADVec", 47.06),
    ("Windowed Gaussian", 39.65),
    ("Etsy Skyline", 35.69),
    ("random", 16.83),
    ("null", 0.0),
]


Corpus = list[tuple[str, np.ndarray, np.ndarray, tuple[tuple[int, int], ...]]]


def split_names(names: list[str], split: str) -> list[str]:
    """Files of a split: "tune" is every other file in sorted order from the first, "holdout"
    the rest, "all" every file. Fixed before any score was looked at, so hyper-parameters can
    be chosen on one half and reported on the other."""
    ordered = sorted(names)
    if split == "all":
        return ordered
    if split == "tune":
        return ordered[0::2]
    if split == "holdout":
        return ordered[1::2]
    raise ValueError("split must be 'all', 'tune' or 'holdout'")


def load_corpus(
    split: str = "all", category: str | None = None, files: list[str] | None = None
) -> Corpus:
    """(name, epoch-ms timestamps, values, window rows) for the NAB files selected by `split`,
    a `category` (e.g. realTweets) and name substrings `files`."""
    windows = json.loads((DATA / "labels" / "combined_windows.json").read_text())
    corpus = []
    for name in split_names(list(windows), split):
        if category is not None and not name.startswith(category + "/"):
            continue
        if files and not any(f in name for f in files):
            continue
        frame = pd.read_csv(DATA / "data" / name)
        stamps = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S").to_numpy()
        ms = stamps.astype("datetime64[ms]").astype(np.int64)
        rows = window_rows(stamps, [(a, b) for a, b in windows[name]])
        corpus.append((name, ms, frame["value"].to_numpy(np.float64), rows))
    return corpus


def run(spec: dict[str, Any], corpus: list[Any]) -> tuple[list[ScoredFile], float]:
    """Stream every file through a fresh detector; (scored files, points per second)."""
    files = []
    points = 0
    start = time.perf_counter()
    for name, ms, values, rows in corpus:
        detector = create(spec["name"], **spec["params"])
        files.append(ScoredFile(name, detector.score(values, ms), rows))
        points += len(values)
    return files, points / (time.perf_counter() - start)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["all", "tune", "holdout"], default="all")
    parser.add_argument("--category", help="only this category, e.g. realTweets")
    parser.add_argument("--files", nargs="*", help="only files whose name contains one of these")
    parser.add_argument(
        "--config", help="a key of CONFIGS or a detector spec as JSON; default: every config"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print only, leave docs/benchmarks.md alone"
    )
    return parser.parse_args(argv)


def selected_configs(choice: str | None) -> dict[str, dict[str, Any]]:
    if choice is None:
        return CONFIGS
    if choice in CONFIGS:
        return {choice: CONFIGS[choice]}
    spec = json.loads(choice)
    return {str(spec["name"]): spec}


def split_rows(label: str, files: list[ScoredFile]) -> list[list[object]]:
    """Standard-profile scores of each split: swept within the split, at the threshold swept
    on the tune split, and at the fixed threshold."""
    tune_names = set(split_names([f.name for f in files], "tune"))
    tune = [f for f in files if f.name in tune_names]
    holdout = [f for f in files if f.name not in tune_names]
    if not tune or not holdout:
        return []
    chosen = score_corpus(tune, "standard").threshold
    rows: list[list[object]] = []
    for name, part in (("tune", tune), ("holdout", holdout), ("all", files)):
        rows.append(
            [
                label,
                name,
                len(part),
                sum(len(f.windows) for f in part),
                f"{score_corpus(part, 'standard').normalised:.2f}",
                f"{score_corpus(part, 'standard', threshold=chosen).normalised:.2f}",
                f"{score_corpus(part, 'standard', threshold=FIXED_THRESHOLD).normalised:.2f}",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not DATA.is_dir():
        print(f"NAB data not found at {DATA}; nothing to do")
        sys.exit(0)
    corpus = load_corpus(args.split, args.category, args.files)
    whole = args.split == "all" and args.category is None and not args.files
    rows: list[list[object]] = []
    splits: list[list[object]] = []
    for label, spec in selected_configs(args.config).items():
        files, rate = run(spec, corpus)
        swept = {p: score_corpus(files, p) for p in PROFILES}
        fixed = {p: score_corpus(files, p, threshold=FIXED_THRESHOLD) for p in PROFILES}
        rows.append(
            [
                f"**{label}** (corpus sweep)",
                *(f"{swept[p].normalised:.2f}" for p in PROFILES),
                f"{swept['standard'].threshold:.4f}",
            ]
        )
        rows.append(
            [
                f"**{label}** (fixed {FIXED_THRESHOLD})",
                *(f"{fixed[p].normalised:.2f}" for p in PROFILES),
                f"{FIXED_THRESHOLD}",
            ]
        )
        print(
            label,
            {p: round(swept[p].normalised, 2) for p in PROFILES},
            {p: round(fixed[p].normalised, 2) for p in PROFILES},
            f"{rate:,.0f} points/s",
        )
        for row in split_rows(label, files):
            print("   ", *row[1:])
            splits.append(row)
    if args.no_record or not whole or args.config is not None:
        return
    published = json.loads((DATA / "results" / "final_results.json").read_text())
    keys = {
        "ARTime": "ARTime",
        "Numenta HTM": "numenta",
        "CAD OSE": "contextOSE",
        "earthgecko Skyline": "earthgeckoSkyline",
        "KNN CAD": "knncad",
        "Relative Entropy": "relativeEntropy",
        "Random Cut Forest": "randomCutForest",
        "Twitter ADVec": "twitterADVec",
        "Windowed Gaussian": "windowedGaussian",
        "Etsy Skyline": "skyline",
        "random": "random",
        "null": "null",
    }
    for label, standard in PUBLISHED:
        entry = published[keys[label]]
        rows.append(
            [
                label,
                f"{standard:.2f}",
                f"{entry['reward_low_FP_rate']:.2f}",
                f"{entry['reward_low_FN_rate']:.2f}",
                "published",
            ]
        )
    header = ["detector", "standard", "reward low FP", "reward low FN", "threshold"]
    split_header = [
        "detector",
        "split",
        "files",
        "windows",
        "swept on the split",
        "at the tune split's threshold",
        f"fixed {FIXED_THRESHOLD}",
    ]
    body = (
        "Every file streamed causally through a fresh detector (no look-ahead, no per-file "
        "tuning), scored by Failcast's NAB v1.1 scorer (which reproduces the published "
        "`final_results.json` to 3 decimals). *Corpus sweep* is NAB's protocol: the best "
        "threshold per profile over the whole corpus, chosen on the labels. *Fixed* uses "
        f"threshold {FIXED_THRESHOLD} set in advance.\n\n"
        "**Held-out protocol.** The 58 files, sorted by name, were split before any score was "
        "looked at: every other file from the first is the *tune* split (29 files, 61 windows), "
        "the rest the *holdout* split (29 files, 55 windows); `--split tune|holdout` runs one. "
        "The fused configuration was chosen from 9 configurations scored on the tune split "
        "only (averaged history or not, novelty window 8 or 16, with or without detrending, "
        "rest 100 or 200 points, spatial tolerance 2% or 5%); the holdout split was scored once, "
        "for the chosen one. The seasonal-only likelihood was tuned earlier on the whole "
        "corpus, so its holdout figure is not held out. The default ensemble, never tuned, "
        "saturates on NAB's noisy files and the sweep keeps it silent (score 0).\n\n"
        + table(header, rows)
        + "\n\nStandard profile per split. *Swept on the split* chooses the threshold on that "
        "split's own labels (NAB's protocol, on fewer files); *at the tune split's threshold* "
        "applies the threshold swept on the tune split, the honest figure for the holdout.\n\n"
        + table(split_header, splits)
    )
    record("nab", "NAB v1.1 (Numenta Anomaly Benchmark)", body)


if __name__ == "__main__":
    main()
