"""Pure data shaping for the dashboard: API answers in, figures and rows for the pages out.

Nothing here does I/O, so every rule a page applies (which component explains a score, how
alerts are ordered, how an error budget burned down, what the graph highlights) is tested with
plain values. One module a topic: `formatting` (figures, times and metric names as people read
them), `timeseries` (metric points, anomalies and the cost forecast), `health_view` (the
services' scores and what explains them), `failure_risk` (failure predictions and their age),
`alerting` (the alert feed's rows and order), `budgets` (SLO error budgets), `graph_view` (the
topology page's graph) and `onboarding` (the first-run snippets).
"""
