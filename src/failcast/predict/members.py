"""Ensemble members: gradient-boosted trees, and an LSTM over the last day when torch is present."""

from __future__ import annotations

import base64
import importlib
import io
import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from failcast.predict.labels import HOUR_MS, FloatArray, IntArray

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
MIN_STOP_CASES = 20  # positive and negative rows the early-stopping split needs to be used
# A row's last day: (rows, SEQUENCE_LENGTH, columns), float32 or float64.
SeqArray = npt.NDArray[np.floating[Any]]
SEQUENCE_LENGTH = 24  # rows of the hourly feature grid an LSTM sees: the last day
LSTM_HIDDEN = 16
LSTM_EPOCHS = 4
TORCH_THREADS = 1  # training and scoring share the machine with the server and other jobs
STD_CLIP = 8.0


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

    def predict(self, X: FloatArray, sequences: SeqArray | None = None) -> FloatArray: ...

    def to_dict(self) -> dict[str, Any]: ...


class ConstantMember:
    """The base rate, for a training window with a single class."""

    name = "constant"

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)

    def predict(self, X: FloatArray, sequences: SeqArray | None = None) -> FloatArray:
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
        """Fit on the training split, stopping early on the log loss of `X_val`, a split of its
        own (not the one that calibrates)."""
        if y.all() or not y.any():
            return ConstantMember(float(y.mean()) if len(y) else 0.0)
        options = {**TREE_PARAMS, **(params or {})}
        # A handful of cases would stop the trees at random: then they run every round.
        use_val = min(int(y_val.sum()), int((~y_val).sum())) >= MIN_STOP_CASES
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
        sequences: SeqArray | None = None,
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
    X: FloatArray,
    ts_ms: IntArray,
    services: list[str],
    columns: IntArray | list[int],
    length: int = SEQUENCE_LENGTH,
    rows: IntArray | npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float32]:
    """For each row (or each of `rows`), `columns` of its service's rows 0, 1, ... `length` - 1
    hours before it, the row itself last: what the row's time has seen, no more. An hour
    without a row of that service (before its history, in a gap) is zeros.
    """
    cols = np.asarray(columns, dtype=np.int64)
    n = len(X)
    wanted = np.ones(n, dtype=bool) if rows is None else np.zeros(n, dtype=bool)
    if rows is not None:
        wanted[rows] = True
    out_index = np.cumsum(wanted) - 1
    out = np.zeros((int(wanted.sum()), length, len(cols)), dtype=np.float32)
    values = np.nan_to_num(X[:, cols]).astype(np.float32)
    ts = np.asarray(ts_ms, dtype=np.int64)
    by_service: dict[str, list[int]] = {}
    for i, service in enumerate(services):
        by_service.setdefault(service, []).append(i)
    for members in by_service.values():
        idx = np.asarray(members)
        idx = idx[np.argsort(ts[idx], kind="stable")]
        own = ts[idx]
        targets = idx[wanted[idx]]
        if targets.size == 0:
            continue
        dest = out_index[targets]
        for k in range(length):
            # Position length-1-k holds the row k hours back.
            back = ts[targets] - k * HOUR_MS
            at = np.minimum(np.searchsorted(own, back), len(own) - 1)
            ok = own[at] == back
            out[dest[ok], length - 1 - k] = values[idx[at[ok]]]
    return out


class LstmMember:
    """A one-layer LSTM over the last day of a few standardised features (needs torch).

    Trained with the positive class up-weighted (so that the rare positives shape the first
    epochs); the logit is shifted back by the log of that weight, so its output estimates the
    probability at the training base rate and can be averaged with the trees'.
    """

    name = "lstm"

    def __init__(
        self,
        state: dict[str, Any],
        columns: list[int],
        mean: list[float],
        std: list[float],
        offset: float = 0.0,
        hidden: int = LSTM_HIDDEN,
    ) -> None:
        torch = torch_module()
        if torch is None:
            raise RuntimeError(lstm_status())
        self.torch: Any = torch
        self.columns = columns
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.offset = float(offset)
        self.hidden = hidden
        self.net = _network(self.torch, len(columns), hidden)
        self.net.load_state_dict(state)
        self.net.eval()

    @classmethod
    def fit(
        cls,
        seq: npt.NDArray[np.floating[Any]],
        y: npt.NDArray[np.bool_],
        columns: list[int],
        *,
        seed: int = 0,
        epochs: int = LSTM_EPOCHS,
        hidden: int = LSTM_HIDDEN,
    ) -> LstmMember:
        """Train on sequences of the chosen `columns` (already cut by `sequences`)."""
        torch = torch_module()
        if torch is None:
            raise RuntimeError(lstm_status())
        torch.manual_seed(seed)
        flat = np.asarray(seq, dtype=np.float64).reshape(-1, seq.shape[-1])
        mean = flat.mean(axis=0).astype(np.float32)
        std = (flat.std(axis=0) + 1e-6).astype(np.float32)
        net = _network(torch, len(columns), hidden)
        optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
        rate = min(max(float(y.mean()), 1e-3), 0.5)
        # Up-weight positives half-way (in log terms) to balance; undone by `offset` below.
        pos_weight = math.sqrt((1 - rate) / rate)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([pos_weight]))
        data = torch.from_numpy(_standardise(seq, mean, std))
        target = torch.from_numpy(y.astype(np.float32))
        rng = np.random.default_rng(seed)
        net.train()
        for _ in range(epochs):
            for batch in np.array_split(rng.permutation(len(data)), max(1, len(data) // 256)):
                index = torch.from_numpy(batch)
                optimiser.zero_grad()
                loss = loss_fn(net(data[index]).squeeze(-1), target[index])
                loss.backward()
                optimiser.step()
        member = cls.__new__(cls)
        member.torch, member.columns, member.net = torch, columns, net.eval()
        member.mean, member.std, member.hidden = mean, std, hidden
        member.offset = -math.log(pos_weight)
        return member

    def predict(self, X: FloatArray, sequences: SeqArray | None = None) -> FloatArray:
        if sequences is None:
            raise ValueError("the LSTM member needs the last day's sequence of each row")
        data = self.torch.from_numpy(_standardise(sequences, self.mean, self.std))
        with self.torch.no_grad():
            parts = [
                self.net(data[i : i + 8192]).squeeze(-1).numpy() for i in range(0, len(data), 8192)
            ]
        logits = np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)
        out: FloatArray = 1.0 / (1.0 + np.exp(-(logits + self.offset)))
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
            "offset": self.offset,
            "hidden": self.hidden,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LstmMember:
        torch = torch_module()
        if torch is None:
            raise RuntimeError(lstm_status())
        state = torch.load(io.BytesIO(base64.b64decode(data["state"])), weights_only=True)
        return cls(
            state,
            [int(c) for c in data["columns"]],
            data["mean"],
            data["std"],
            float(data.get("offset", 0.0)),
            int(data.get("hidden", 32)),
        )


def _standardise(
    seq: npt.NDArray[np.floating[Any]], mean: npt.NDArray[np.float32], std: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    # Heavy tails (ratios, z-scores) are clipped so that one wild value cannot saturate the cell.
    out: npt.NDArray[np.float32] = np.clip(
        (np.asarray(seq, dtype=np.float32) - mean) / std, -STD_CLIP, STD_CLIP
    ).astype(np.float32)
    return out


def _network(torch: Any, n_inputs: int, hidden: int = LSTM_HIDDEN) -> Any:
    torch.set_num_threads(TORCH_THREADS)

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
