from __future__ import annotations

import time

import httpx
import pytest
from _helpers import series_points
from factories import Account, bearer

from failcast.integrations.ml import is_correct

PREDICTIONS = "/api/v1/ml/predictions"
LABELS = "/api/v1/ml/labels"


@pytest.mark.parametrize(
    ("prediction", "label", "correct"),
    [
        ("cat", "cat", True),
        ("cat", "dog", False),
        (1.0, 1, True),
        (0.83, 1, True),
        (0.83, False, False),
        (0.2, 0, True),
        (True, True, True),
        (3.0, 2.0, False),
    ],
)
def test_correctness(prediction: object, label: object, correct: bool) -> None:
    assert is_correct(prediction, label) is correct


async def test_late_labels_are_joined_into_a_rolling_accuracy_series(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = time.time() - 60
    predictions = [
        {"id": f"p{i}", "features": {"age": 30 + i}, "prediction": p, "ts": now + i}
        for i, p in enumerate(["spam", "ham", "spam", "ham"])
    ]
    response = await client.post(
        PREDICTIONS,
        json={"model": "spam-filter", "predictions": predictions},
        headers=bearer(api_key),
    )
    assert response.json() == {"accepted": 4, "joined": 0, "accuracy": None}

    # Three labels arrive later: p0 right, p1 wrong, p2 right -> 2/3.
    labels = [
        {"id": "p0", "label": "spam"},
        {"id": "p1", "label": "spam"},
        {"id": "p2", "label": "spam"},
    ]
    response = await client.post(
        LABELS, json={"model": "spam-filter", "labels": labels}, headers=bearer(api_key)
    )
    assert response.json() == {"accepted": 3, "joined": 3, "accuracy": pytest.approx(2 / 3)}
    response = await client.post(
        LABELS,
        json={"model": "spam-filter", "labels": [{"id": "p3", "label": "ham"}]},
        headers=bearer(api_key),
    )
    assert response.json()["accuracy"] == pytest.approx(3 / 4)

    accuracy = await series_points(client, api_key, "accuracy", service="spam-filter", start=now)
    assert [p[1] for p in accuracy[("spam-filter", ())]] in (
        [pytest.approx(2 / 3), pytest.approx(3 / 4)],
        [pytest.approx(3 / 4)],  # both batches in the same millisecond: the last one wins
    )
    classes = await series_points(
        client, api_key, "prediction", service="spam-filter", start=now - 1
    )
    assert {k[1]: len(v) for k, v in classes.items()} == {
        (("class", "ham"),): 2,
        (("class", "spam"),): 2,
    }
    services = (await client.get("/api/v1/services", headers=bearer(api_key))).json()
    assert [(s["name"], s["kind"]) for s in services] == [("spam-filter", "ml_model")]


async def test_a_label_may_come_first_and_re_sent_predictions_do_not_count_twice(
    client: httpx.AsyncClient, api_key: str
) -> None:
    key = bearer(api_key)
    first = await client.post(
        LABELS, json={"model": "churn", "labels": [{"id": "u1", "label": 1}]}, headers=key
    )
    assert first.json() == {"accepted": 1, "joined": 0, "accuracy": None}
    body = {"model": "churn", "predictions": [{"id": "u1", "features": {}, "prediction": 0.9}]}
    joined = await client.post(PREDICTIONS, json=body, headers=key)
    assert joined.json() == {"accepted": 1, "joined": 1, "accuracy": 1.0}
    again = await client.post(PREDICTIONS, json=body, headers=key)
    assert again.json() == {"accepted": 0, "joined": 0, "accuracy": None}
    values = await series_points(
        client, api_key, "prediction", service="churn", start=time.time() - 60
    )
    assert [p[1] for p in values[("churn", ())]] == [0.9]


async def test_predictions_are_tenant_scoped_and_validated(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    from factories import create_api_key, register

    key = bearer(api_key)
    await client.post(
        PREDICTIONS,
        json={"model": "m", "predictions": [{"id": "x", "prediction": "a"}]},
        headers=key,
    )
    other = await register(client, "o@example.com", "Other")
    other_key = bearer(await create_api_key(client, other))
    response = await client.post(
        LABELS, json={"model": "m", "labels": [{"id": "x", "label": "a"}]}, headers=other_key
    )
    assert response.json()["joined"] == 0  # the other org's prediction x is invisible
    bad = await client.post(PREDICTIONS, json={"model": "bad name", "predictions": []}, headers=key)
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["detail"]} == {"body.model", "body.predictions"}
