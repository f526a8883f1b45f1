"""Root-cause analysis on simulated chaos ground truth, next to four baselines.

    python -m bench.rca [--seeds 1 2 3] [--sizes 10 16 24] [--no-record]
    python -m bench.rca --dev        # the development seeds; prints, records nothing

For every seed and fleet size, four days of history (one sample a minute, organic failures
included) get one injected fault every 75 minutes over the last day and a half, cycling
through every fault kind on random targets where it applies (slow kinds with a precursor of 6
to 24 hours). Each fault gives questions with a known answer (the fault's target):

- its own incident (symptom: the target);
- for a cascade, the incident of every service it reached (symptom: that caller);
- for a fault that hurts callers, the entry point above the target a minute after the hit
  (symptom: "the frontend went bad").

Every question goes through `failcast.rca.analyse` with the defaults the CLI and the API use,
once with the simulator's own metric names and once with Prometheus-style names, units and
counters. The baselines read the same per-service anomalies and rank differently.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bench._record import record, table
from failcast.chaos import Fault, FaultKind, history_matrix
from failcast.chaos.faults import applicable
from failcast.chaos.fleet import FleetSpec, build_fleet
from failcast.chaos.naming import renamed
from failcast.chaos.signals import SeriesMatrix
from failcast.rca import Analysis, Question, Series, analyse
from failcast.rca.rank import EVIDENCE_FLOOR

DEV_SEEDS = (101, 102)
REPORT_SEEDS = (1, 2, 3)
SIZES = (10, 16, 24)
STYLES = ("builtin", "prometheus")
DAYS = 4.0
STEP_S = 60
FIRST_FAULT_S = 2.5 * 86400
SPACING_S = 75 * 60
# Kinds whose failure reaches the target's callers (a drifting model or a creeping bill does
# not slow anyone down).
REACHES_CALLERS = set(FaultKind) - {FaultKind.data_drift, FaultKind.cost_creep, FaultKind.cascade}
SLOW = {
    FaultKind.memory_leak_oom,
    FaultKind.disk_fill,
    FaultKind.data_drift,
    FaultKind.cost_creep,
    FaultKind.pipeline_degradation,
    FaultKind.connection_pool_exhaustion,
}
METHODS = (
    "failcast",
    "failcast, no topology",
    "random",
    "most anomalous",
    "anomaly traversal",
    "personalised PageRank",
)


@dataclass(frozen=True)
class Case:
    kind: FaultKind
    symptom: str
    at_s: float
    cause: str
    shape: str  # "own", "cascade", "frontend"


def plan_faults(fleet: FleetSpec, seed: int, start: float) -> list[Fault]:
    rng = np.random.default_rng([seed, 0x4CA])
    kinds = list(FaultKind)
    faults = []
    hit = start + FIRST_FAULT_S
    end = start + DAYS * 86400 - 3600
    number = 0
    last: dict[str, float] = {}
    while hit < end:
        kind = kinds[number % len(kinds)]
        # A target rests three hours between faults, so one fault's normal period is not the
        # previous fault's failure.
        targets = [
            s.name
            for s in fleet
            if applicable(kind, s, fleet) and hit - last.get(s.name, -1e12) > 3 * 3600
        ]
        number += 1
        if not targets:
            continue
        target = targets[int(rng.integers(len(targets)))]
        last[target] = hit
        lead = float(rng.uniform(6, 24)) * 3600 if kind in SLOW else 0.0
        duration = float(rng.uniform(20, 45)) * 60
        faults.append(
            Fault(
                kind, target, hit - lead, duration, intensity=float(rng.uniform(0.6, 1.0)),
                lead_s=lead, id=f"bench-{number}",
            )
        )  # fmt: skip
        hit += SPACING_S
    return faults


def cases_for(fleet: FleetSpec, faults: Sequence[Fault], incidents: Sequence[object]) -> list[Case]:
    topology = fleet.topology
    out: list[Case] = []
    by_fault: dict[str, list[object]] = defaultdict(list)
    for incident in incidents:
        by_fault[getattr(incident, "fault_id", "")].append(incident)
    for fault in faults:
        for incident in by_fault.get(fault.id, []):
            service = str(getattr(incident, "service", ""))
            shape = "own" if service == fault.target else "cascade"
            out.append(
                Case(
                    fault.kind, service, float(getattr(incident, "start", 0.0)), fault.target, shape
                )
            )
        if fault.kind in REACHES_CALLERS:
            above = topology.upstream(fault.target)
            entries = [s for s in above if not topology.dependents(s)]
            if entries:
                top = max(entries, key=lambda s: (above[s], s))
                out.append(Case(fault.kind, top, fault.hit + 60.0, fault.target, "frontend"))
    return out


def to_series(matrix: SeriesMatrix) -> list[Series]:
    ts = (matrix.ts * 1000).astype(np.int64)
    return [
        Series(service, metric, ts, values)
        for (service, metric), values in zip(matrix.series, matrix.values, strict=True)
    ]


# ---------------------------------------------------------------- baselines
# Each returns services best first, from the same per-service anomalies Failcast ranks.


def _anomalies(analysis: Analysis) -> dict[str, float]:
    return {c.service: c.anomaly.score for c in analysis.candidates}


def by_random(
    analysis: Analysis, deps: Mapping[str, Sequence[str]], rng: np.random.Generator
) -> list[str]:
    names = sorted(_anomalies(analysis))
    order = rng.permutation(len(names))
    return [names[i] for i in order]


def most_anomalous(
    analysis: Analysis, deps: Mapping[str, Sequence[str]], rng: np.random.Generator
) -> list[str]:
    a = _anomalies(analysis)
    return sorted(a, key=lambda s: (-a[s], s))


def traversal(
    analysis: Analysis, deps: Mapping[str, Sequence[str]], rng: np.random.Generator
) -> list[str]:
    """From the symptom, step to the most anomalous anomalous dependency until none is."""
    a = _anomalies(analysis)
    path = [analysis.question.service]
    while True:
        nxt = [
            d for d in deps.get(path[-1], ()) if a.get(d, 0.0) >= EVIDENCE_FLOOR and d not in path
        ]
        if not nxt:
            break
        path.append(max(nxt, key=lambda d: (a[d], d)))
    rest = sorted((s for s in a if s not in path), key=lambda s: (-a[s], s))
    return [*reversed(path), *rest]


def pagerank(
    analysis: Analysis, deps: Mapping[str, Sequence[str]], rng: np.random.Generator
) -> list[str]:
    """Personalised PageRank from the symptom over dependency edges weighted by the anomaly
    of the service they lead to, with a way back up (MicroRCA-style), damping 0.85."""
    a = _anomalies(analysis)
    names = sorted(set(a) | {analysis.question.service})
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    weights = np.zeros((n, n))
    for caller, callees in deps.items():
        for callee in callees:
            if caller in index and callee in index:
                i, j = index[caller], index[callee]
                weights[j, i] += a.get(callee, 0.0) + 1e-3  # down to the callee
                weights[i, j] += 0.1 * (a.get(caller, 0.0) + 1e-3)  # a weaker way back up
    for i, name in enumerate(names):
        weights[i, i] += max(
            0.0, a.get(name, 0.0) - max((a.get(d, 0.0) for d in deps.get(name, ())), default=0.0)
        )
    totals = weights.sum(axis=0)
    transition = np.divide(weights, totals, out=np.full_like(weights, 1.0 / n), where=totals > 0)
    personal = np.array([a.get(s, 0.0) + 1e-3 for s in names])
    personal[index[analysis.question.service]] += 1.0
    personal /= personal.sum()
    p = personal.copy()
    for _ in range(100):
        p = 0.85 * transition @ p + 0.15 * personal
    return [names[i] for i in np.argsort(-p, kind="stable")]


BASELINES: dict[
    str, Callable[[Analysis, Mapping[str, Sequence[str]], np.random.Generator], list[str]]
] = {
    "random": by_random,
    "most anomalous": most_anomalous,
    "anomaly traversal": traversal,
    "personalised PageRank": pagerank,
}


@dataclass
class Tally:
    total: int = 0
    top1: int = 0
    top3: int = 0
    inconclusive: int = 0
    conclusive_right: int = 0

    def add(self, ranked: Sequence[str], cause: str, inconclusive: bool = False) -> None:
        self.total += 1
        self.top3 += cause in ranked[:3]
        if inconclusive:
            self.inconclusive += 1
            return
        right = bool(ranked) and ranked[0] == cause
        self.top1 += right
        self.conclusive_right += right

    def figures(self) -> tuple[float, float, float, float]:
        n = max(self.total, 1)
        answered = self.total - self.inconclusive
        return (
            self.top1 / n,
            self.top3 / n,
            self.inconclusive / n,
            self.conclusive_right / answered if answered else float("nan"),
        )


@dataclass
class Results:
    by_method: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_shape: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    questions: int = 0
    seconds: float = 0.0


def run(seeds: Sequence[int], sizes: Sequence[int], results: Results, verbose: bool) -> None:
    for seed in seeds:
        for size in sizes:
            fleet = build_fleet(size)
            deps = {k: tuple(v) for k, v in fleet.topology.dependencies.items()}
            faults = plan_faults(fleet, seed, 1_704_067_200)
            history = history_matrix(DAYS, fleet, STEP_S, seed, start=1_704_067_200, faults=faults)
            cases = cases_for(fleet, history.faults[: len(faults)], history.incidents)
            for style in STYLES:
                series = to_series(renamed(history.matrix, style))
                rng = np.random.default_rng([seed, size])
                wrong: list[str] = []
                for case in cases:
                    question = Question(case.symptom, round(case.at_s * 1000))
                    began = time.perf_counter()
                    analysis = analyse(series, deps, question)
                    results.seconds += time.perf_counter() - began
                    results.questions += 1
                    ranked = [c.service for c in analysis.candidates]
                    inconclusive = analysis.verdict == "inconclusive"
                    results.by_method[("failcast", style)].add(ranked, case.cause, inconclusive)
                    results.by_kind[str(case.kind)].add(ranked, case.cause, inconclusive)
                    results.by_shape[case.shape].add(ranked, case.cause, inconclusive)
                    # The same question without the call graph, as when none is known.
                    blind = analyse(series, {}, question)
                    results.by_method[("failcast, no topology", style)].add(
                        [c.service for c in blind.candidates],
                        case.cause,
                        blind.verdict == "inconclusive",
                    )
                    for name, baseline in BASELINES.items():
                        results.by_method[(name, style)].add(
                            baseline(analysis, deps, rng), case.cause
                        )
                    if verbose and (inconclusive or ranked[0] != case.cause):
                        top = ", ".join(
                            f"{c.service} {c.score:.2f}" for c in analysis.candidates[:3]
                        )
                        wrong.append(
                            f"  {case.kind} {case.shape} {case.symptom} <- {case.cause}: "
                            f"{analysis.verdict} [{top}]"
                        )
                print(f"seed {seed}, {size} services, {style}: {len(cases)} questions")
                for line in wrong:
                    print(line)


def pct(x: float) -> str:
    return "-" if x != x else f"{x:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(REPORT_SEEDS))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--dev", action="store_true", help="development seeds; record nothing")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every miss")
    args = parser.parse_args()
    seeds = list(DEV_SEEDS) if args.dev else args.seeds
    began = time.perf_counter()
    results = Results()
    run(seeds, args.sizes, results, args.verbose)

    rows = []
    for method in METHODS:
        for style in STYLES:
            t1, t3, inc, conc = results.by_method[(method, style)].figures()
            mine = method.startswith("failcast")
            extra = [pct(inc), pct(conc)] if mine else ["-", "-"]
            rows.append([method, style, pct(t1), pct(t3), *extra])
    kinds = [
        [
            kind,
            tally.total,
            pct(tally.figures()[0]),
            pct(tally.figures()[1]),
            pct(tally.figures()[2]),
        ]
        for kind, tally in sorted(results.by_kind.items())
    ]
    shapes = [
        [
            shape,
            tally.total,
            pct(tally.figures()[0]),
            pct(tally.figures()[1]),
            pct(tally.figures()[2]),
        ]
        for shape, tally in sorted(results.by_shape.items())
    ]
    main_table = table(
        ["method", "names", "top-1", "top-3", "inconclusive", "top-1 when conclusive"], rows
    )
    print(main_table)
    print(table(["fault kind", "questions", "top-1", "top-3", "inconclusive"], kinds))
    print(table(["question", "questions", "top-1", "top-3", "inconclusive"], shapes))
    per_question = results.seconds / max(results.questions, 1) * 1000
    print(f"{results.questions} questions, {per_question:.0f} ms each")
    if args.dev or args.no_record:
        return
    f1 = {s: results.by_method[("failcast", s)].figures() for s in STYLES}
    body = (
        f"Seeds {', '.join(map(str, seeds))} (the method's constants were chosen on seeds "
        f"{', '.join(map(str, DEV_SEEDS))}, which are not reported here); fleets of "
        f"{', '.join(map(str, args.sizes))} services; four days of one-minute history each, "
        "with organic failures, and an injected fault every 75 minutes over the last day and a "
        "half, cycling through every fault kind. Questions: each fault's own incident, the "
        "incident of every service a cascade reached, and the entry point above the target a "
        "minute after the hit. Every question runs `failcast.rca.analyse` with the CLI's and "
        "API's defaults. `builtin` uses the simulator's metric names; `prometheus` the same "
        "history with Prometheus-style names, units (seconds, bytes, ratios) and cumulative "
        "counters. *No topology* asks the same questions without the call graph (`failcast rca` "
        "without `--topology`): only the anomalies speak. The baselines rank the same "
        "per-service anomalies with the graph; an inconclusive answer counts as a top-1 miss, "
        "and its candidates still count for top-3.\n\n"
        + main_table
        + "\n\nFailcast by fault kind (both naming styles):\n\n"
        + table(["fault kind", "questions", "top-1", "top-3", "inconclusive"], kinds)
        + "\n\nBy kind of question:\n\n"
        + table(["question", "questions", "top-1", "top-3", "inconclusive"], shapes)
        + f"\n\nGoals: top-1 >= 80 % (measured {pct(f1['builtin'][0])} built-in, "
        f"{pct(f1['prometheus'][0])} Prometheus names), top-3 >= 95 % "
        f"({pct(f1['builtin'][1])}, {pct(f1['prometheus'][1])}). {results.questions} "
        f"questions, {per_question:.0f} ms each on average; "
        f"{time.perf_counter() - began:.0f} s in all."
    )
    record("rca", "Root-cause analysis (simulated chaos ground truth)", body)


if __name__ == "__main__":
    main()
