"""The simulated fleet: what runs in it, what each part reports and who calls whom."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a simulated service is; the values match `failcast.models.service.ServiceKind`."""

    microservice = "microservice"
    ml_model = "ml_model"
    data_pipeline = "data_pipeline"


MICROSERVICE_METRICS: tuple[str, ...] = (
    "cpu_pct",
    "memory_pct",
    "latency_p50_ms",
    "latency_p99_ms",
    "error_rate",
    "throughput_rps",
    "availability",
    "saturation",
    "cost_usd_per_hour",
)
MODEL_METRICS: tuple[str, ...] = (
    "accuracy",
    "prediction_drift",
    "feature_drift",
    "latency_ms",
    "cost_per_1k_predictions",
    "traffic_rps",
)
PIPELINE_METRICS: tuple[str, ...] = (
    "run_success_rate",
    "rows_processed",
    "freshness_lag_min",
    "schema_errors",
)


@dataclass(frozen=True, slots=True)
class Dependency:
    """A call edge: `weight` is the share of the caller's requests that reach the dependency."""

    name: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One simulated service and its healthy operating point at average load."""

    name: str
    kind: Kind
    dependencies: tuple[Dependency, ...] = ()
    rps: float = 100.0
    cpu_base: float = 15.0
    cpu_per_load: float = 25.0
    memory_base: float = 45.0
    latency_ms: float = 20.0
    tail: float = 4.0
    error_rate: float = 0.002
    pool_use: float = 0.3
    cost_per_hour: float = 1.0
    disk_base: float | None = None
    accuracy: float = 0.92
    label_delay_s: float = 6 * 3600.0
    cost_per_1k: float = 0.02
    interval_s: float = 900.0
    rows: float = 50_000.0
    processing_min: float = 3.0

    @property
    def metrics(self) -> tuple[str, ...]:
        if self.kind is Kind.ml_model:
            return MODEL_METRICS
        if self.kind is Kind.data_pipeline:
            return PIPELINE_METRICS
        if self.disk_base is not None:
            return (*MICROSERVICE_METRICS, "disk_pct")
        return MICROSERVICE_METRICS


@dataclass(frozen=True)
class Topology:
    """Who depends on whom: `dependencies[s]` are the services `s` calls or reads from."""

    dependencies: Mapping[str, tuple[str, ...]]
    kinds: Mapping[str, Kind] = field(default_factory=dict)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self.dependencies)

    def dependents(self, service: str) -> tuple[str, ...]:
        """The direct callers of `service`."""
        return tuple(s for s, deps in self.dependencies.items() if service in deps)

    def upstream(self, service: str) -> dict[str, int]:
        """Every service that depends on `service`, directly or not, with its hop distance."""
        hops: dict[str, int] = {}
        queue: deque[tuple[str, int]] = deque([(service, 0)])
        while queue:
            current, distance = queue.popleft()
            for caller in self.dependents(current):
                if caller not in hops and caller != service:
                    hops[caller] = distance + 1
                    queue.append((caller, distance + 1))
        return hops

    def order(self) -> list[str]:
        """Services with every dependency before its callers."""
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in seen:
                return
            if name in path:
                raise ValueError(f"dependency cycle through {name!r}")
            for dep in self.dependencies.get(name, ()):
                visit(dep, (*path, name))
            seen.add(name)
            done.append(name)

        for name in self.dependencies:
            visit(name, ())
        return done

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": [
                {
                    "name": name,
                    "kind": str(self.kinds.get(name, Kind.microservice)),
                    "dependencies": list(deps),
                }
                for name, deps in self.dependencies.items()
            ]
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Topology:
        services = data["services"]
        return cls(
            dependencies={s["name"]: tuple(s["dependencies"]) for s in services},
            kinds={s["name"]: Kind(s["kind"]) for s in services},
        )


@dataclass(frozen=True)
class FleetSpec:
    """The services of a fleet, in an order where dependencies come before their callers."""

    services: tuple[ServiceSpec, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError("service names must be unique")
        known = set(names)
        for spec in self.services:
            for dep in spec.dependencies:
                if dep.name not in known:
                    raise ValueError(f"{spec.name} depends on unknown service {dep.name!r}")
        order = self.topology.order()
        if order != names:
            by_name = {s.name: s for s in self.services}
            object.__setattr__(self, "services", tuple(by_name[n] for n in order))

    def __iter__(self) -> Iterator[ServiceSpec]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)

    def __getitem__(self, name: str) -> ServiceSpec:
        for spec in self.services:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    @property
    def topology(self) -> Topology:
        return Topology(
            dependencies={s.name: tuple(d.name for d in s.dependencies) for s in self.services},
            kinds={s.name: s.kind for s in self.services},
        )

    @property
    def series(self) -> list[tuple[str, str]]:
        """Every (service, metric) pair the fleet reports, in a fixed order."""
        return [(s.name, m) for s in self.services for m in s.metrics]


MS, ML, DP = Kind.microservice, Kind.ml_model, Kind.data_pipeline


def _d(*pairs: tuple[str, float]) -> tuple[Dependency, ...]:
    return tuple(Dependency(name, weight) for name, weight in pairs)


# The reference fleet. Weights are traffic shares: the gateway routes each request to one
# backend, while backends hit the database on most requests and the cache on some.
_CORE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "database", MS, rps=900, cpu_base=20, cpu_per_load=25, memory_base=62,
        latency_ms=4, tail=5, cost_per_hour=4.8, disk_base=48,
    ),
    ServiceSpec(
        "cache", MS, rps=1400, cpu_base=8, cpu_per_load=12, memory_base=55,
        latency_ms=1, tail=3, error_rate=0.0005, cost_per_hour=1.2,
    ),
    ServiceSpec("features-pipeline", DP, interval_s=3600, rows=400_000, processing_min=12),
    ServiceSpec(
        "fraud-model", ML, dependencies=_d(("features-pipeline", 1.0)), rps=60,
        latency_ms=14, accuracy=0.94, label_delay_s=12 * 3600, cost_per_hour=2.5,
        cost_per_1k=0.04,
    ),
    ServiceSpec(
        "recommender", ML, dependencies=_d(("features-pipeline", 1.0)), rps=180,
        latency_ms=18, accuracy=0.93, label_delay_s=2 * 3600, cost_per_hour=3.0,
        cost_per_1k=0.01,
    ),
    ServiceSpec(
        "auth", MS, dependencies=_d(("database", 0.6), ("cache", 0.9)), rps=250,
        cpu_base=12, cpu_per_load=22, latency_ms=8, cost_per_hour=0.9,
    ),
    ServiceSpec(
        "user", MS, dependencies=_d(("database", 0.8), ("cache", 0.7), ("recommender", 0.3)),
        rps=320, cpu_base=14, cpu_per_load=24, latency_ms=8, cost_per_hour=1.1,
    ),
    ServiceSpec(
        "checkout", MS,
        dependencies=_d(("database", 0.9), ("cache", 0.5), ("fraud-model", 0.8)),
        rps=90, cpu_base=16, cpu_per_load=26, latency_ms=7, cost_per_hour=1.4,
    ),
    ServiceSpec(
        "api-gateway", MS,
        dependencies=_d(("auth", 0.3), ("user", 0.45), ("checkout", 0.25)),
        rps=660, cpu_base=18, cpu_per_load=25, latency_ms=3, tail=3,
        cost_per_hour=2.2,
    ),
    ServiceSpec("orders-etl", DP, dependencies=_d(("database", 1.0)), interval_s=900),
)  # fmt: skip

# Added in this order when a larger fleet is asked for; each only names services before it.
_EXTRA: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "payments", MS, dependencies=_d(("database", 0.9), ("cache", 0.4)), rps=70,
        latency_ms=45, cost_per_hour=1.3,
    ),
    ServiceSpec(
        "search-index", MS, rps=400, cpu_base=22, memory_base=68, latency_ms=6,
        cost_per_hour=3.1, disk_base=55,
    ),
    ServiceSpec(
        "search", MS, dependencies=_d(("search-index", 1.0), ("cache", 0.6)), rps=380,
        latency_ms=15, cost_per_hour=1.0,
    ),
    ServiceSpec("clickstream-etl", DP, interval_s=600, rows=900_000, processing_min=4),
    ServiceSpec(
        "churn-model", ML, dependencies=_d(("clickstream-etl", 1.0)), rps=15, latency_ms=80,
        accuracy=0.88, label_delay_s=24 * 3600, cost_per_hour=1.0, cost_per_1k=0.05,
    ),
    ServiceSpec(
        "inventory", MS, dependencies=_d(("database", 0.9), ("cache", 0.5)), rps=150,
        latency_ms=18, cost_per_hour=0.8,
    ),
    ServiceSpec(
        "notifications", MS, dependencies=_d(("user", 0.5),), rps=40, latency_ms=60,
        cost_per_hour=0.5,
    ),
    ServiceSpec("billing-etl", DP, dependencies=_d(("database", 1.0),), interval_s=3600),
    ServiceSpec(
        "search-ranker", ML, dependencies=_d(("clickstream-etl", 1.0)), rps=380,
        latency_ms=12, accuracy=0.77, label_delay_s=3600, cost_per_hour=2.0, cost_per_1k=0.005,
    ),
    ServiceSpec(
        "orders", MS, dependencies=_d(("database", 0.9), ("payments", 0.5), ("inventory", 0.6)),
        rps=110, latency_ms=25, cost_per_hour=1.0,
    ),
)  # fmt: skip

# Extra services the gateway routes to, so they carry user traffic like the core backends.
_GATEWAY_ROUTES = {"payments": 0.05, "search": 0.15, "orders": 0.08}

# Dependency-first order used when a fleet smaller than the reference one is asked for.
_SMALL_ORDER = (
    "database", "cache", "auth", "user", "checkout", "api-gateway",
    "orders-etl", "features-pipeline", "fraud-model", "recommender",
)  # fmt: skip

DEFAULT_SERVICES = len(_CORE)


def _worker(index: int, present: set[str]) -> ServiceSpec:
    deps = [d for d in (("database", 0.7), ("cache", 0.5)) if d[0] in present]
    return ServiceSpec(
        f"worker-{index:02d}", MS, dependencies=_d(*deps), rps=30 + 7 * (index % 9),
        latency_ms=20 + 3 * (index % 7), cost_per_hour=0.4 + 0.05 * (index % 5),
    )  # fmt: skip


def build_fleet(services: int | None = None) -> FleetSpec:
    """The reference fleet of ten services, trimmed or grown to `services` members."""
    n = DEFAULT_SERVICES if services is None else services
    if n < 1:
        raise ValueError("a fleet needs at least one service")
    core = {s.name: s for s in _CORE}
    if n <= len(_CORE):
        keep = set(_SMALL_ORDER[:n])
        chosen = [
            _with_deps(core[name], [d for d in core[name].dependencies if d.name in keep])
            for name in _SMALL_ORDER[:n]
        ]
        return FleetSpec(tuple(chosen))
    chosen = list(_CORE)
    present = set(core)
    for index in range(n - len(_CORE)):
        spec = _EXTRA[index] if index < len(_EXTRA) else _worker(index + 1, present)
        chosen.append(spec)
        present.add(spec.name)
    routes = dict(_GATEWAY_ROUTES)
    routes |= {s.name: 0.05 for s in chosen if s.name.startswith("worker-")}
    gateway = core["api-gateway"]
    extra_routes = [Dependency(name, w) for name, w in routes.items() if name in present]
    chosen[chosen.index(gateway)] = _with_deps(gateway, [*gateway.dependencies, *extra_routes])
    return FleetSpec(tuple(chosen))


def _with_deps(spec: ServiceSpec, deps: list[Dependency]) -> ServiceSpec:
    return replace(spec, dependencies=tuple(deps))
