"""Root-cause analysis: which service explains a symptom seen at a given time; no I/O here.

`roles` reads what a metric measures from its name (for naming, never for counting);
`anomaly` judges each metric against its own normal period; `rank` ranks services over the
call graph; `analysis` puts them together and is what the CLI, the API and the bench call.
The API's shell (`endpoints`, `schemas`, `service`) lives beside them and is the only part
that reads the store.
"""

from failcast.rca.analysis import Analysis, AnalysisError, Question, Series, analyse
from failcast.rca.anomaly import MetricAnomaly, ServiceAnomaly, metric_anomaly, service_anomaly
from failcast.rca.rank import Candidate, Ranking, Settings, below, rank
from failcast.rca.roles import role

__all__ = [
    "Analysis",
    "AnalysisError",
    "Candidate",
    "MetricAnomaly",
    "Question",
    "Ranking",
    "Series",
    "ServiceAnomaly",
    "Settings",
    "analyse",
    "below",
    "metric_anomaly",
    "rank",
    "role",
    "service_anomaly",
]
