"""Ensemble members: gradient-boosted trees, and an LSTM over the last day when torch is present."""

from __future__ import annotations

import base64
import importlib
import io
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from failcast.predict.labels import FloatArray, IntArray

TREE_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.08,
    "max_depth": 4,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.3,
    "max_bin": 32,
    "tree_method": "hist",
    "early_stopping_rounds": 30,
}
SEQUENCE_LENGTH = 24  # rows of the hourly feature grid an LSTM sees: the last day


def torch_module() -> Any | None:
    """torch if it is installed (the optional `deep` extra), else None."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def lstm_status() -> str:
    """Whether the LSTM member can be used, as shown in model metadata and API answers."""
    return "available" if torch_module() is not None else "unavailable: torch not installed"


class Member(Protocol):
    name: str

    def predict(self, X: FloatArray, sequences: FloatArray | None = None) -> FloatArray: ...

    def to_dict(self) -> dict[str, Any]: ...


class ConstantMember:
    """The base rate, for a training window with a single class."""

    name = "constant"

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)

    def predict(self, X: FloatArray, sequences: FloatArray | None = None) -> FloatArray:
        return np.full(len(X), self.rate)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.rate}


class TreeMember:
    """An xgboost classifier; contributions come from its own `pred_contribs`."""

    name = "xgboost"

    def __init__(self, booster: xgb.Booster) -> None:
        self.booster = booster

    @classmethod
    def fit(
        cls,
        X: FloatArray,
        y: npt.NDArray[np.bool_],
        X_val: FloatArray,
        y_val: npt.NDArray[np.bool_],
        *,
        seed: int = 0,
        n_jobs: int = 1,
        params: dict[str, Any] | None = None,
    ) -> TreeMember | ConstantMember:
        """Fit on the training split, stopping early on the validation split's log loss."""
        if y.all() or not y.any():
            return ConstantMember(float(y.mean()) if len(y) else 0.0)
        options = {**TREE_PARAMS, **(params or {})}
        use_val = len(y_val) > 0 and y_val.any() and not y_val.all()
        if not use_val:
            options.pop("early_stopping_rounds", None)
        model = xgb.XGBClassifier(
            **options, random_state=seed, n_jobs=n_jobs, eval_metric="logloss"
        )
        model.fit(
            X,
            y.astype(np.int64),
            eval_set=[(X_val, y_val.astype(np.int64))] if use_val else None,
            verbose=False,
        )
        booster = model.get_booster()
        best = getattr(model, "best_iteration", None)
        if use_val and best is not None:
            booster = booster[: int(best) + 1]
        return cls(booster)

    def margin(self, X: FloatArray, dmatrix: xgb.DMatrix | None = None) -> FloatArray:
        """Log-odds; pass a DMatrix of `X` to share it between boosters (faster for few rows)."""
        raw = (
            self.booster.predict(dmatrix, output_margin=True)
            if dmatrix is not None
            else self.booster.inplace_predict(X, predict_type="margin")
        )
        out: FloatArray = np.asarray(raw, dtype=np.float64)
        return out

    def predict(
        self,
        X: FloatArray,
        sequences: FloatArray | None = None,
        dmatrix: xgb.DMatrix | None = None,
    ) -> FloatArray:
        out: FloatArray = 1.0 / (1.0 + np.exp(-self.margin(X, dmatrix)))
        return out

    def contributions(self, X: FloatArray) -> FloatArray:
        """Per-feature log-odds contributions, the bias in the last column (SHAP TreeExplainer)."""
        out: FloatArray = np.asarray(
            self.booster.predict(xgb.DMatrix(X, nthread=1), pred_contribs=True), dtype=np.float64
        )
        return out

    def importance(self, n_features: int) -> FloatArray:
        gains = self.booster.get_score(importance_type="total_gain")
        out = np.zeros(n_features)
        for key, value in gains.items():
            out[int(key[1:])] = float(value) if not isinstance(value, list) else sum(value)
        return out

    def to_dict(self) -> dict[str, Any]:
        raw = bytes(self.booster.save_raw(raw_format="ubj"))
        return {"name": self.name, "booster": base64.b64encode(raw).decode()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeMember:
        booster = xgb.Booster()
        booster.load_model(bytearray(base64.b64decode(data["booster"])))
        booster.set_param({"nthread": 1})
        return cls(booster)


def sequences(
    X: FloatArray, services: list[str], columns: IntArray, length: int = SEQUENCE_LENGTH
) -> FloatArray:
    """For each row, its service's last `length` rows of `columns` (zeros before the first).

    Rows must be in time order; each service's rows are taken in that order.
    """
    n = len(X)
    out = np.zeros((n, length, len(columns)))
    values = np.nan_to_num(X[:, columns])
    by_service: dict[str, list[int]] = {}
    for i, service in enumerate(services):
        by_service.setdefault(service, []).append(i)
    for rows in by_service.values():
        idx = np.asarray(rows)
        block = values[idx]
        for k in range(length):
            # Position length-1-k holds the row k steps back.
            src = np.arange(len(idx)) - k
            ok = src >= 0
            out[idx[ok], length - 1 - k] = block[src[ok]]
    return out


class LstmMember:
    """A one-layer LSTM over the last day of a few standardised features (needs torch)."""

    name = "lstm"

    def __init__(
        self, state: dict[str, Any], columns: list[int], mean: list[float], std: list[float]
    ) -> None:
        torch = torch_module()
        if torch is None:
            raise RuntimeError(lstm_status())
        self.torch: Any = torch
        self.columns = columns
        self.mean = np.asarray(mean)
        self.std = np.asarray(std)
        self.net = _network(self.torch, len(columns))
        self.net.load_state_dict(state)
        self.net.eval()

    @classmethod
    def fit(
        cls,
        seq: FloatArray,
        y: npt.NDArray[np.bool_],
        columns: list[int],
        *,
        seed: int = 0,
        epochs: int = 8,
    ) -> LstmMember:
        """Train on sequences of the chosen `columns` (already cut by `sequences`)."""
        torch = torch_module()
        if torch is None:
            raise RuntimeError(lstm_status())
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        flat = seq.reshape(-1, seq.shape[-1])
        mean, std = flat.mean(axis=0), flat.std(axis=0) + 1e-6
        net = _network(torch, len(columns))
        optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
        pos = max(float(y.mean()), 1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([(1 - pos) / pos]))
        data = torch.tensor((seq - mean) / std, dtype=torch.float32)
        target = torch.tensor(y.astype(np.float32))
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            for batch in np.array_split(rng.permutation(len(data)), max(1, len(data) // 256)):
                optimiser.zero_grad()
                loss = loss_fn(net(data[batch]).squeeze(-1), target[batch])
                loss.backward()
                optimiser.step()
        member = cls.__new__(cls)
        member.torch, member.columns, member.net = torch, columns, net.eval()
        member.mean, member.std = mean, std
        return member

    def predict(self, X: FloatArray, sequences: FloatArray | None = None) -> FloatArray:
        if sequences is None:
            raise ValueError("the LSTM member needs the last day's sequence of each row")
        data = self.torch.tensor((sequences - self.mean) / self.std, dtype=self.torch.float32)
        with self.torch.no_grad():
            logits = self.net(data).squeeze(-1).numpy()
        out: FloatArray = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        return out

    def to_dict(self) -> dict[str, Any]:
        buffer = io.BytesIO()
        self.torch.save(self.net.state_dict(), buffer)
        return {
            "name": self.name,
            "state": base64.b64encode(buffer.getvalue()).decode(),
            "columns": self.columns,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LstmMember:
        torch = torch_module()
        if torch is None:
            raise RuntimeError(lstm_status())
        state = torch.load(io.BytesIO(base64.b64decode(data["state"])), weights_only=True)
        return cls(state, list(data["columns"]), data["mean"], data["std"])


def _network(torch: Any, n_inputs: int, hidden: int = 32) -> Any:
    class Net(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(n_inputs, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return Net()


def member_from_dict(data: dict[str, Any]) -> Member:
    """Rebuild a member saved with `to_dict`."""
    name = data.get("name")
    if name == TreeMember.name:
        return TreeMember.from_dict(data)
    if name == ConstantMember.name:
        return ConstantMember(float(data["rate"]))
    if name == LstmMember.name:
        return LstmMember.from_dict(data)
    raise ValueError(f"unknown ensemble member {name!r}")
