"""The alert signals of the detection domain: model drift and time to breach."""

from __future__ import annotations

from collections.abc import Sequence

from failcast.detect import reports
from failcast.detect.bounds import metric_bounds
from failcast.detect.breach import time_to_breach
from failcast.signals import Factor, Signal, SignalRequest
from failcast.timeutil import datetime_to_ms


class DriftSignals:
    """One signal per feature of each ML model service: the drift statistic the rule names
    (`statistic`: PSI by default, or KS, Wasserstein, Jensen-Shannon, or the severity, where
    1 means a threshold is reached); a rule's `feature` picks one feature."""

    async def signals(self, request: SignalRequest) -> Sequence[Signal]:
        wanted = request.params.get("feature")
        statistic = str(request.params.get("statistic") or "psi")
        now = datetime_to_ms(request.now)
        out: list[Signal] = []
        for name in await reports.ml_services(request.session, request.org_id, request.service):
            report = await reports.drift_report(request.session, request.org_id, name, now)
            for item in report.features:
                if wanted and item.feature != wanted:
                    continue
                value = item.severity if statistic == "severity" else getattr(item, statistic)
                if value is None:
                    continue  # this feature's source does not give that statistic
                out.append(
                    Signal(
                        service=name,
                        value=float(value),
                        labels={"feature": item.feature},
                        factors=[Factor(item.feature, item.severity)],
                        details={
                            "statistic": statistic,
                            "severity": item.severity,
                            "source": item.source,
                            "psi": item.psi,
                            "ks": item.ks,
                            "wasserstein": item.wasserstein,
                            "jensen_shannon": item.jensen_shannon,
                            "drifted": item.drifted,
                        },
                    )
                )
        return out


class ForecastBreachSignals:
    """Hours until a metric's trend crosses its limit, for series that cross within 72 h.

    The limit is the org's threshold rule on the same metric (the service's own rule first),
    else a built-in limit for well-known metrics (`reports.DEFAULT_LIMITS`).
    """

    def __init__(self, horizon_hours: float = 72.0, window_hours: float = 72.0) -> None:
        self.horizon_hours = horizon_hours
        self.window_hours = window_hours

    async def signals(self, request: SignalRequest) -> Sequence[Signal]:
        metric = request.params.get("metric")
        metrics = [str(metric)] if metric else sorted(reports.DEFAULT_LIMITS)
        now = datetime_to_ms(request.now)
        out: list[Signal] = []
        for name in metrics:
            limits = await reports.limits(request.session, request.org_id, name)
            if not limits:
                continue
            series = await reports.metric_series(
                request.session, request.org_id, name, request.service, {}
            )
            history = await reports.recent(
                request.session, [s[0] for s in series], now, self.window_hours
            )
            for series_id, service, labels in series:
                limit = limits.get(service) or limits.get(None)
                if limit is None:
                    continue
                threshold, direction, source = limit
                points = history[series_id]
                found = time_to_breach(
                    [t for t, _ in points],
                    [v for _, v in points],
                    threshold,
                    direction,
                    horizon_hours=self.horizon_hours,
                    window_hours=self.window_hours,
                    bounds=metric_bounds(name),
                )
                if found is None:
                    continue
                out.append(
                    Signal(
                        service=service,
                        value=round(found.hours, 3),
                        labels={**labels, "metric": name},
                        time_to_impact_hours=round(found.hours, 3),
                        details={
                            "threshold": threshold,
                            "direction": direction,
                            "limit_from": source,
                            "low_hours": round(found.low_hours, 3),
                            "high_hours": (
                                None if found.high_hours is None else round(found.high_hours, 3)
                            ),
                            "summary": found.describe(name),
                        },
                    )
                )
        return out
