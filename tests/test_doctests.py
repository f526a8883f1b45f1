"""The examples in the docstrings of the pure modules are true.

Only these modules are run: collecting doctests from the whole of src would import the
dashboard and the server, which is slow and checks nothing more.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "failcast.detect.base",
    "failcast.detect.baselines",
    "failcast.detect.surprise_core",
    "failcast.detect.tail",
    "failcast.detect.threshold",
    "failcast.explain.factors",
    "failcast.features.missing",
    "failcast.features.temporal",
    "failcast.features.windows",
    "failcast.health.score",
    "failcast.predict.calibration",
    "failcast.predict.gate",
    "failcast.predict.risk",
    "failcast.rca.roles",
    "failcast.slo.alerts",
    "failcast.slo.budget",
    "failcast.store.ranges",
    "failcast.store.remote",
    "failcast.store.remote_wire",
    "failcast.topology.cascade",
    "failcast.ui.logic.formatting",
)


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
