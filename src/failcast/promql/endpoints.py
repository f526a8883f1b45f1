"""Prometheus' HTTP query API at /prometheus/api/v1: what Grafana's Prometheus datasource calls.

Parameters come as query string or form body (Grafana posts forms), answers and errors have
Prometheus' shapes (`{"status": "success", "data": ...}`, `{"status": "error", "errorType":
"bad_data", "error": ...}`), and an API key with the read scope authenticates as a bearer
token or as the basic-auth password.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request, Response

from failcast import __version__
from failcast.auth.principal import Principal
from failcast.deps import SessionDep, SettingsDep, get_services
from failcast.integrations.auth import CanQuery
from failcast.promql import expr, service
from failcast.promql.engine import Matcher
from failcast.promql.expr import BadQuery, Scalar, Unsupported, Vector
from failcast.teams import service as teams
from failcast.timeutil import now_ms, parse_duration_ms, parse_ts

router = APIRouter(prefix="/prometheus/api/v1", tags=["prometheus"])

MAX_POINTS = 11_000  # per series, as Prometheus
MAX_SAMPLES = 50_000_000 // 16  # samples one query may read (about 50 MB of points)
DEFAULT_SPAN_MS = 3_600_000
DESCRIBED: dict[int | str, dict[str, Any]] = {
    200: {"description": 'Prometheus\' success body: `{"status": "success", "data": ...}`.'},
    400: {"description": "Prometheus' error body, `errorType` `bad_data`: what is wrong."},
    422: {"description": "Prometheus' error body, `errorType` `execution`: too much to read."},
}


def _ok(data: Any) -> Response:
    return Response(
        orjson.dumps({"status": "success", "data": data}), media_type="application/json"
    )


def _error(kind: str, message: str, status: int) -> Response:
    body = {"status": "error", "errorType": kind, "error": message}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _params(request: Request) -> dict[str, list[str]]:
    """Query-string and form parameters together, repeated names kept."""
    found: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    if request.method == "POST":
        form = await request.form()
        for key, item in form.multi_items():
            if isinstance(item, str):
                found.setdefault(key, []).append(item)
    return found


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _time(params: dict[str, list[str]], name: str, default: int) -> int:
    text = _one(params, name)
    if text is None or text == "":
        return default
    try:
        return parse_ts(text)
    except ValueError:
        raise BadQuery(
            f"invalid parameter {name!r}: cannot parse {text!r} to a valid timestamp"
        ) from None


def _step(text: str | None) -> int:
    if not text:
        raise BadQuery("invalid parameter 'step': missing")
    try:
        step = round(float(text) * 1000)
    except ValueError:
        try:
            step = parse_duration_ms(text)
        except ValueError:
            raise BadQuery(f"invalid parameter 'step': cannot parse {text!r}") from None
    if step <= 0:
        raise BadQuery("zero or negative query resolution step widths are not accepted")
    return step


def format_number(value: float) -> str:
    """A sample value as Prometheus writes it: the shortest digits that read back exactly,
    never an exponent (Go's `strconv.FormatFloat(v, 'f', -1, 64)`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)  # the same shortest digits, a hundred times cheaper than numpy's
    if "e" in text:
        return np.format_float_positional(value, unique=True, trim="-")
    return text[:-2] if text.endswith(".0") else text


def _matrix(value: expr.Value, steps: np.ndarray) -> dict[str, Any]:
    seconds = (steps / 1000.0).tolist()
    if isinstance(value, Scalar):
        rows: list[tuple[dict[str, str], np.ndarray]] = [({}, value.values)]
    else:
        rows = list(zip(value.labels, value.values, strict=True))
    result: list[dict[str, Any]] = []
    for labels, row in rows:
        points = [
            [t, format_number(v)] for t, v in zip(seconds, row.tolist(), strict=True) if v == v
        ]
        if points:
            result.append({"metric": labels, "values": points})
    result.sort(key=lambda r: sorted(dict(r["metric"]).items()))
    return {"resultType": "matrix", "result": result}


def _instant(value: expr.Value, at: int) -> dict[str, Any]:
    t = at / 1000.0
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [t, format_number(float(value.values[0]))]}
    assert isinstance(value, Vector)
    result = [
        {"metric": labels, "value": [t, format_number(float(row[0]))]}
        for labels, row in zip(value.labels, value.values, strict=True)
        if row[0] == row[0]
    ]
    return {"resultType": "vector", "result": result}


def _results(request: Request, *, recent: bool = False) -> service.Results:
    """Failcast's own results, as the exporter serves them; with `recent`, as collected up to
    a few seconds ago (for label names and values and series, not for queries)."""
    exporters = get_services(request).exporters
    return exporters.collect_recent if recent else exporters.collect


async def _evaluate(
    request: Request, session: SessionDep, principal: Principal, text: str | None, steps: np.ndarray
) -> expr.Value:
    if not text:
        raise BadQuery("invalid parameter 'query': missing")
    query = expr.parse(text)
    seen = await teams.visibility(session, principal)
    return await service.run(
        session, principal.org_id, query, steps, MAX_SAMPLES, _results(request), seen
    )


async def _answer(make: Any) -> Response:
    try:
        return _ok(await make())
    except (BadQuery, Unsupported) as exc:
        return _error("bad_data", str(exc), 400)
    except service.TooLarge as exc:
        return _error("execution", str(exc), 422)


async def query(request: Request, principal: CanQuery, session: SessionDep) -> Response:
    """An instant query: `query` (PromQL) evaluated at `time` (default now)."""

    async def make() -> dict[str, Any]:
        params = await _params(request)
        at = _time(params, "time", now_ms())
        value = await _evaluate(request, session, principal, _one(params, "query"), np.array([at]))
        return _instant(value, at)

    return await _answer(make)


async def query_range(request: Request, principal: CanQuery, session: SessionDep) -> Response:
    """A range query: `query` evaluated every `step` from `start` to `end`."""

    async def make() -> dict[str, Any]:
        params = await _params(request)
        end = _time(params, "end", now_ms())
        start = _time(params, "start", end - DEFAULT_SPAN_MS)
        if end < start:
            raise BadQuery("invalid parameter 'end': end timestamp must not be before start time")
        step = _step(_one(params, "step"))
        if (end - start) // step + 1 > MAX_POINTS:
            raise BadQuery(
                f"exceeded maximum resolution of {MAX_POINTS:,} points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        steps = np.arange(start, end + 1, step, dtype=np.int64)
        value = await _evaluate(request, session, principal, _one(params, "query"), steps)
        return _matrix(value, steps)

    return await _answer(make)


def _selectors(params: dict[str, list[str]]) -> list[list[Matcher]]:
    chosen = []
    for text in params.get("match[]", []):
        query = expr.parse(text)
        if len(query.selectors) != 1 or type(query.expr).__name__ != "VectorSelector":
            raise BadQuery(f"invalid parameter 'match[]': {text!r} is not a series selector")
        chosen.append(list(query.selectors[0][0].matchers))
    return chosen


async def _found(
    request: Request, session: SessionDep, principal: Principal, params: dict[str, list[str]]
) -> list[dict[str, str]]:
    """The label sets matching any `match[]` selector, of the services the caller may see."""
    selectors = _selectors(params)
    visible = await teams.visibility(session, principal)
    org_id = principal.org_id
    found: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for matchers in selectors:
        for one in await service.find_series(session, org_id, matchers, visible):
            found.setdefault(tuple(sorted(one.labels.items())), one.labels)
        results = _results(request, recent=True)
        if results is not None:
            for virtual in await service.result_series(
                session, org_id, matchers, results, None, visible
            ):
                found.setdefault(tuple(sorted(virtual.labels.items())), virtual.labels)
    return list(found.values())


async def series(request: Request, principal: CanQuery, session: SessionDep) -> Response:
    """The label sets of the series that match any `match[]` selector."""

    async def make() -> list[dict[str, str]]:
        params = await _params(request)
        if not params.get("match[]"):
            raise BadQuery("no match[] parameter provided")
        return await _found(request, session, principal, params)

    return await _answer(make)


async def labels(request: Request, principal: CanQuery, session: SessionDep) -> Response:
    """Every label name of the org's series (of those matching `match[]`, when given)."""

    async def make() -> list[str]:
        params = await _params(request)
        if not params.get("match[]"):
            return await service.label_names(
                session, principal.org_id, _results(request, recent=True)
            )
        found = await _found(request, session, principal, params)
        return sorted({name for labels in found for name in labels})

    return await _answer(make)


def _get_and_post(path: str, endpoint: Any, operation_id: str) -> None:
    """GET with a query string, and POST with a form body (as Grafana sends), one each."""
    router.add_api_route(
        path, endpoint, methods=["GET"], operation_id=operation_id, responses=DESCRIBED
    )
    router.add_api_route(
        path, endpoint, methods=["POST"], operation_id=f"{operation_id}_form", responses=DESCRIBED
    )


_get_and_post("/query", query, "prometheus_query")
_get_and_post("/query_range", query_range, "prometheus_query_range")
_get_and_post("/series", series, "prometheus_series")
_get_and_post("/labels", labels, "prometheus_labels")


@router.get("/label/{name}/values", operation_id="prometheus_label_values", responses=DESCRIBED)
async def label_values(
    name: str, request: Request, principal: CanQuery, session: SessionDep
) -> Response:
    """Every value of one label (`__name__` lists the metric names)."""

    async def make() -> list[str]:
        params = await _params(request)
        if not params.get("match[]"):
            return await service.label_values(
                session, principal.org_id, name, _results(request, recent=True)
            )
        found = await _found(request, session, principal, params)
        return sorted({labels[name] for labels in found if name in labels})

    return await _answer(make)


@router.get("/status/buildinfo", operation_id="prometheus_buildinfo", responses=DESCRIBED)
async def buildinfo(principal: CanQuery, settings: SettingsDep) -> Response:
    """What Grafana asks to learn the API's features: Prometheus 2.42's query API."""
    return _ok({"version": "2.42.0", "revision": f"failcast-{__version__}", "branch": "failcast"})


@router.get("/metadata", operation_id="prometheus_metadata", responses=DESCRIBED)
async def metadata(principal: CanQuery) -> Response:
    """Metric metadata: Failcast keeps none, so the answer is empty."""
    return _ok({})
