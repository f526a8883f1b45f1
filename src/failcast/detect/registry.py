"""Detectors by name, so configuration and the command line can pick one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from failcast.detect.base import BaseDetector, State

D = TypeVar("D", bound=type[BaseDetector])

_REGISTRY: dict[str, type[BaseDetector]] = {}


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


def detector_class(name: str) -> type[BaseDetector]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(names())}") from None


def create(name: str, **params: Any) -> BaseDetector:
    """A fresh detector of kind `name` with `params` overriding its defaults."""
    return detector_class(name)(**params)


def restore(data: State) -> BaseDetector:
    """Rebuild any detector from its `state_dict()`."""
    return detector_class(str(data.get("name"))).from_state(data)


def factory(name: str, **params: Any) -> Callable[[], BaseDetector]:
    """A zero-argument constructor, handy for wrappers that build one detector per metric."""
    return lambda: create(name, **params)
