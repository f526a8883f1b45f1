"""Detectors by name, so configuration and the command line can pick one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from failcast.detect.base import AnyDetector, MultiMetricDetector, SingleMetricDetector, State

DetectorClass = type[SingleMetricDetector] | type[MultiMetricDetector]
D = TypeVar("D", type[SingleMetricDetector], type[MultiMetricDetector])

_REGISTRY: dict[str, DetectorClass] = {}


def register(cls: D) -> D:
    """Class decorator adding a detector under its `name`."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"detector name {cls.name!r} is already taken")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """Registered detector names, sorted."""
    return sorted(_REGISTRY)


def detector_class(name: str) -> DetectorClass:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(names())}") from None


def create(name: str, **params: Any) -> AnyDetector:
    """A fresh detector of kind `name` with `params` overriding its defaults."""
    return detector_class(name)(**params)


def restore(data: State) -> AnyDetector:
    """Rebuild any detector from its `state_dict()`."""
    return detector_class(str(data.get("name"))).from_state(data)


def single(detector: AnyDetector, refusal: str) -> SingleMetricDetector:
    """`detector` as a single-metric one; ValueError(`refusal`) when it takes a vector."""
    if not isinstance(detector, SingleMetricDetector):
        raise ValueError(refusal)
    return detector


def factory(name: str, **params: Any) -> Callable[[], AnyDetector]:
    """A zero-argument constructor, handy for wrappers that build one detector per metric."""
    return lambda: create(name, **params)
