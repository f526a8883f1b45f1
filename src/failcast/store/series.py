"""Finding series by label matchers, through the label index (`series_label`).

Selection costs what its answer costs, not what the metric holds. A regular expression is
first tried on the distinct values of its label (walked in index order, one probe per value)
and stands for the values it matched. Then one statement reads the index entries of the
narrowest-looking matcher and checks every other one per row, by the (series, name) key.
Matchers the empty string satisfies (`!=`, `!~`, `=~".*"`) cannot narrow a selection, so they
drop the series whose value fails them. The metric name (`__name__`) and the service
(`service`) are columns of `series`, matched the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from failcast.db.upsert import insert_ignoring_conflicts
from failcast.models import Series, SeriesLabel, Service
from failcast.store.labels import NAME, Matcher, exact, require_selective

SERVICE = "service"
# Ids per IN (...) list: well under SQLite's and asyncpg's parameter limits.
CHUNK = 500


class SelectedSeries(NamedTuple):
    id: int
    service: str
    metric: str
    labels: dict[str, str]


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# -- writing the index --------------------------------------------------------------------------


async def index_labels(
    session: AsyncSession, org_id: int, series: Iterable[tuple[int, Mapping[str, str]]]
) -> None:
    """Add (series id, labels) to the label index; entries already there are left alone."""
    rows = [
        {"series_id": series_id, "name": name, "org_id": org_id, "value": value}
        for series_id, labels in series
        for name, value in labels.items()
        if value != ""
    ]
    for chunk in _chunks(rows):
        await insert_ignoring_conflicts(
            session,
            SeriesLabel.__table__,  # type: ignore[arg-type]
            chunk,
            ["series_id", "name"],
        )


async def create_series(
    session: AsyncSession,
    org_id: int,
    wanted: Sequence[tuple[int, str, str, Mapping[str, str]]],
) -> dict[tuple[int, str, str], int]:
    """Ids of (service id, metric, labels key, labels) series, inserting and indexing the ones
    that do not exist yet."""
    await insert_ignoring_conflicts(
        session,
        Series.__table__,  # type: ignore[arg-type]
        [
            {
                "org_id": org_id,
                "service_id": service_id,
                "metric": metric,
                "labels": dict(labels),
                "labels_key": key,
            }
            for service_id, metric, key, labels in wanted
        ],
        ["service_id", "metric", "labels_key"],
    )
    found = await series_by_key(session, [(s, m, k) for s, m, k, _ in wanted])
    # Indexing a series that another writer created (and indexed) in between is a no-op.
    await index_labels(
        session,
        org_id,
        ((found[(s, m, k)], labels) for s, m, k, labels in wanted if (s, m, k) in found),
    )
    return found


async def series_by_key(
    session: AsyncSession, triples: Sequence[tuple[int, str, str]]
) -> dict[tuple[int, str, str], int]:
    """Ids of existing series by (service id, metric, labels key)."""
    found: dict[tuple[int, str, str], int] = {}
    for chunk in _chunks(sorted(set(triples))):
        # Joined to a list of values, not `(a, b, c) IN (...)`: SQLite scans the whole table
        # for a list of row values, and looks each row of a VALUES list up in the key's index.
        # Text with bound parameters: SQLAlchemy's `values()` renders its rows as literals, so
        # the statement would be compiled anew for every lookup.
        wanted = ", ".join(f"(CAST(:s{n} AS INTEGER), :m{n}, :k{n})" for n in range(len(chunk)))
        params = {
            f"{field}{n}": value
            for n, row in enumerate(chunk)
            for field, value in zip("smk", row, strict=True)
        }
        rows = await session.execute(
            text(
                f"WITH wanted (service_id, metric, labels_key) AS (VALUES {wanted}) "
                "SELECT s.service_id, s.metric, s.labels_key, s.id "
                "FROM series AS s JOIN wanted AS w ON s.service_id = w.service_id "
                "AND s.metric = w.metric AND s.labels_key = w.labels_key"
            ),
            params,
        )
        for service_id, metric, key, series_id in rows:
            found[(service_id, metric, key)] = series_id
    return found


# -- distinct values, walked in index order -----------------------------------------------------


async def _walk(session: AsyncSession, column: Any, where: ColumnElement[bool]) -> list[str]:
    """The distinct values of an indexed column among the rows `where` selects, one index probe
    each (a loose index scan: neither SQLite nor PostgreSQL skips duplicates by itself)."""
    first = select(func.min(column)).where(where).scalar_subquery()
    walk = select(first.label("v")).cte("walk", recursive=True)
    following = (
        select(func.min(column)).where(where, column > walk.c.v).correlate(walk).scalar_subquery()
    )
    walk = walk.union_all(select(following).where(walk.c.v.is_not(None)))
    rows = await session.scalars(select(walk.c.v).where(walk.c.v.is_not(None)))
    return list(rows)


async def metric_names(session: AsyncSession, org_id: int) -> list[str]:
    """The org's metric names, sorted."""
    return await _walk(session, Series.metric, Series.org_id == org_id)


async def label_names(session: AsyncSession, org_id: int) -> list[str]:
    """The names of the labels the org's series carry (besides metric and service), sorted."""
    return await _walk(session, SeriesLabel.name, SeriesLabel.org_id == org_id)


async def label_values(session: AsyncSession, org_id: int, name: str) -> list[str]:
    """The values the label `name` has on the org's series, sorted; `__name__` gives metric
    names and `service` the services that have series."""
    if name == NAME:
        return await metric_names(session, org_id)
    if name == SERVICE:
        return await _services(session, org_id)
    return await _walk(
        session, SeriesLabel.value, and_(SeriesLabel.org_id == org_id, SeriesLabel.name == name)
    )


async def _services(session: AsyncSession, org_id: int) -> list[str]:
    has_series = exists().where(Series.service_id == Service.id)
    rows = await session.scalars(
        select(Service.name).where(Service.org_id == org_id, has_series).order_by(Service.name)
    )
    return list(rows)


async def _service_ids(session: AsyncSession, org_id: int, matcher: Matcher) -> list[int]:
    rows = await session.execute(select(Service.id, Service.name).where(Service.org_id == org_id))
    return [id_ for id_, name in rows if matcher.matches(name)]


# -- selection ----------------------------------------------------------------------------------


async def _ids(session: AsyncSession, statement: Select[Any]) -> set[int]:
    return set(await session.scalars(statement))


async def _column(session: AsyncSession, org_id: int, m: Matcher) -> ColumnElement[bool]:
    """The condition on `series` that a metric-name or service matcher stands for."""
    if m.name == NAME:
        if m.op == "=":
            return Series.metric == m.value
        names = [n for n in await metric_names(session, org_id) if m.matches(n)]
        return Series.metric.in_(names)
    if m.op == "=":
        wanted = select(Service.id).where(Service.org_id == org_id, Service.name == m.value)
        return Series.service_id.in_(wanted.scalar_subquery())
    return Series.service_id.in_(await _service_ids(session, org_id, m))


class _Condition(NamedTuple):
    """A label matcher as the index sees it: series whose `name` has one of `values` (any
    value when None) are kept (`keep`) or dropped."""

    name: str
    values: list[str] | None
    keep: bool


async def _condition(session: AsyncSession, org_id: int, m: Matcher) -> _Condition | None:
    """What `m` asks of the index; None when it asks nothing (it passes every value)."""
    keep = not m.matches_empty
    if m.op in ("=", "!="):
        # `name="v"` keeps v and `name!="v"` drops it; `name=""` drops and `name!=""` keeps
        # any value.
        return _Condition(m.name, [m.value] if m.value else None, keep)
    values = [v for v in await label_values(session, org_id, m.name) if m.matches(v) is keep]
    if not keep and not values:
        return None
    return _Condition(m.name, values, keep)


def _where(label: Any, c: _Condition) -> list[ColumnElement[bool]]:
    where = [label.name == c.name]
    if c.values is not None:
        one = len(c.values) == 1
        where.append(label.value == c.values[0] if one else label.value.in_(c.values))
    return where


async def series_ids(session: AsyncSession, org_id: int, matchers: Sequence[Matcher]) -> set[int]:
    """Ids of the org's series that every matcher accepts. BadMatcher when no matcher needs a
    value (the selector would be every series)."""
    require_selective(matchers)
    columns = [await _column(session, org_id, m) for m in matchers if m.name in (NAME, SERVICE)]
    conditions = []
    for m in matchers:
        if m.name not in (NAME, SERVICE):
            c = await _condition(session, org_id, m)
            if c is not None:
                conditions.append(c)
    if any(c.keep and c.values == [] for c in conditions):
        return set()
    # One statement, driven by the matcher that looks narrowest: a label's single value, else
    # the metric or service, else the label with the fewest matching values. Every other
    # matcher probes the (series_id, name) key once per driving row, so the cost follows the
    # driver's entries, never the whole metric.
    keeping = sorted(
        (c for c in conditions if c.keep),
        key=lambda c: len(c.values) if c.values is not None else 1 << 30,
    )
    narrow_columns = any(not m.matches_empty for m in matchers if m.name in (NAME, SERVICE))
    driver = keeping[0] if keeping else None
    single = driver is not None and driver.values is not None and len(driver.values) == 1
    if narrow_columns and not single:
        driver = None
    if driver is not None and driver.values is not None and len(driver.values) > CHUNK:
        # Many values: a statement per chunk of them (a series has one value per name).
        found: set[int] = set()
        for chunk in _chunks(driver.values):
            part = driver._replace(values=list(chunk))
            rest = [part if c is driver else c for c in conditions]
            found |= await _select(session, org_id, columns, part, rest)
        return found
    return await _select(session, org_id, columns, driver, conditions)


async def _select(
    session: AsyncSession,
    org_id: int,
    columns: list[ColumnElement[bool]],
    driver: _Condition | None,
    conditions: list[_Condition],
) -> set[int]:
    ids: Any
    if driver is not None:
        first = aliased(SeriesLabel)
        ids = first.series_id
        statement = select(ids).where(first.org_id == org_id, *_where(first, driver))
        if columns:
            statement = statement.join(Series, Series.id == ids).where(*columns)
    else:
        ids = Series.id
        statement = select(ids).where(Series.org_id == org_id, *columns)
    for c in conditions:
        if c is driver:
            continue
        label = aliased(SeriesLabel)
        probe = exists().where(label.series_id == ids, *_where(label, c))
        statement = statement.where(probe if c.keep else ~probe)
    return await _ids(session, statement)


async def describe(session: AsyncSession, ids: Iterable[int]) -> list[SelectedSeries]:
    """The series of `ids`, by metric, service and labels."""
    rows: list[Any] = []
    for chunk in _chunks(sorted(ids)):
        # Plain columns rather than Series objects: the identity map and instance state cost
        # more than the rest of a one-series query.
        statement = (
            select(Series.id, Service.name, Series.metric, Series.labels, Series.labels_key)
            .join(Service, Service.id == Series.service_id)
            .where(Series.id.in_(chunk))
        )
        rows.extend((await session.execute(statement)).all())
    rows.sort(key=lambda r: (r.metric, r.name, r.labels_key))
    return [SelectedSeries(r.id, r.name, r.metric, dict(r.labels)) for r in rows]


async def select_series(
    session: AsyncSession,
    org_id: int,
    metric: str | None,
    service: str | None,
    matchers: Mapping[str, str] | Sequence[Matcher],
) -> list[SelectedSeries]:
    """The org's series of `metric` (of one service, if named) that every matcher accepts; a
    label dict means exact matchers. `service` and `__name__` matchers select by service and
    metric."""
    chosen = exact(matchers) if isinstance(matchers, Mapping) else list(matchers)
    if metric is not None:
        chosen.insert(0, Matcher(NAME, "=", metric))
    if service is not None:
        chosen.insert(0, Matcher(SERVICE, "=", service))
    return await describe(session, await series_ids(session, org_id, chosen))


__all__ = [
    "SelectedSeries",
    "create_series",
    "describe",
    "index_labels",
    "label_names",
    "label_values",
    "metric_names",
    "select_series",
    "series_by_key",
    "series_ids",
]
