"""Failure prediction: labels, causal features, tree (and LSTM) ensembles per horizon,
calibration, walk-forward backtests and the model registry."""

from failcast.predict.dataset import Dataset, FleetData, ServiceData, build_dataset, fleet_features
from failcast.predict.labels import DEFAULT_HORIZONS, INCIDENT_TYPES, IncidentRecord
from failcast.predict.members import lstm_status
from failcast.predict.model import FailureModel, Prediction
from failcast.predict.training import TrainConfig, TrainResult, train

__all__ = [
    "DEFAULT_HORIZONS",
    "INCIDENT_TYPES",
    "Dataset",
    "FailureModel",
    "FleetData",
    "IncidentRecord",
    "Prediction",
    "ServiceData",
    "TrainConfig",
    "TrainResult",
    "build_dataset",
    "fleet_features",
    "lstm_status",
    "train",
]
