"""Bodies the topology API answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from failcast.topology.graph import GraphEdge, GraphNode

Source = Literal["declared", "simulated", "labels", "catalog"]
Status = Literal["ok", "warning", "critical", "unknown"]

# Node colours by health status, for a graph view.
STATUS_COLOURS: dict[str, str] = {
    "ok": "#2e7d32",
    "warning": "#f9a825",
    "critical": "#c62828",
    "unknown": "#9e9e9e",
}


class HealthNode(GraphNode):
    """A node with its health, coloured by status."""

    health_score: float | None
    health_status: Status
    colour: str


class GraphOut(BaseModel):
    at: datetime
    source: Source
    nodes: list[HealthNode]
    edges: list[GraphEdge]


class ContributionOut(BaseModel):
    dependency: str
    weight: float
    dependency_probability: float
    effect: float


class CascadeItem(BaseModel):
    service: str
    own_probability: float
    own_source: Literal["prediction", "health", "none"]
    saturation: float | None
    probability: float
    inherited: float
    contributors: list[ContributionOut]
    root_path: list[str]


class CascadeOut(BaseModel):
    """Failure probability of every service within the horizon, its own and inherited from
    dependencies, highest first."""

    at: datetime
    source: Source
    horizon_hours: int
    predictions: str
    services: list[CascadeItem]


class PathStep(BaseModel):
    service: str
    measured_ms: float | None
    self_ms: float
    share: float


class CriticalPathOut(BaseModel):
    at: datetime
    source: Source
    percentile: Literal["p50", "p99"]
    entry: str
    path: list[str]
    latency_ms: float
    steps: list[PathStep]
    without_latency: list[str]  # services with no latency figure, counted as 0 ms


class BlastRadiusItem(BaseModel):
    service: str
    affected: list[str]
    count: int
    weighted_count: float
    traffic_share: float
    expected_traffic_loss: float


class BlastRadiusOut(BaseModel):
    at: datetime
    source: Source
    services: list[BlastRadiusItem]
