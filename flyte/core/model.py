"""The trained model artifact: an XGBoost booster plus the schema it needs, saved without pickles."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from flyte.core.errors import DataValidationError

MODEL_FILE = "model.ubj"  # XGBoost's own binary JSON format
SCHEMA_FILE = "schema.json"


@dataclass
class ModelSchema:
    """What a booster needs to be fed and how to read its answers.

    features: feature columns in training order.
    categories: for each categorical feature, its known categories in code order.
    labels: the original target values; the booster's class ``i`` is ``labels[i]``.
    best_iteration: index of the last boosting round kept (chosen by early stopping).
    """

    target: str
    features: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    labels: list = field(default_factory=list)
    best_iteration: int = 0
    xgboost_version: str = xgb.__version__


@dataclass
class TrainedModel:
    booster: xgb.Booster
    schema: ModelSchema

    def feature_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """The table's feature columns, typed as the booster saw them in training.

        Categories unseen in training become missing values, which XGBoost routes natively.
        """
        absent = [c for c in self.schema.features if c not in table.columns]
        if absent:
            raise DataValidationError(f"table lacks feature column(s) {absent} that the model was trained on")
        out = {}
        for col in self.schema.features:
            if col in self.schema.categories:
                out[col] = pd.Categorical(table[col], categories=self.schema.categories[col])
            else:
                out[col] = pd.to_numeric(table[col]).astype("float64")
        return pd.DataFrame(out, index=table.index)

    def dmatrix(self, table: pd.DataFrame, label: np.ndarray | None = None, n_threads: int = 1) -> xgb.DMatrix:
        return xgb.DMatrix(
            self.feature_frame(table), label=label, enable_categorical=True, nthread=n_threads, missing=np.nan
        )

    def predict_proba(self, table: pd.DataFrame, n_threads: int = 1) -> np.ndarray:
        """Class probabilities, one row per table row, one column per label in ``schema.labels`` order."""
        raw = self.booster.predict(self.dmatrix(table, n_threads=n_threads)).astype(np.float64)
        if raw.ndim == 1:  # binary:logistic gives P(class 1) only
            raw = np.column_stack([1.0 - raw, raw])
        # XGBoost computes in float32; renormalise so each row sums to 1 at float64 precision.
        return raw / raw.sum(axis=1, keepdims=True)

    def feature_importance(self) -> dict[str, float]:
        """Total gain of the splits on each feature; features never split on get 0."""
        gain = self.booster.get_score(importance_type="total_gain")
        return {f: float(gain.get(f, 0.0)) for f in self.schema.features}


def save_model(model: TrainedModel, directory: Path) -> Path:
    """Write the booster (UBJSON) and its schema (JSON) into a new directory, all or nothing."""
    directory = Path(directory)
    if directory.exists():
        raise FileExistsError(f"{directory}: already exists; refusing to overwrite a model")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        model.booster.save_model(staging / MODEL_FILE)
        (staging / SCHEMA_FILE).write_text(json.dumps(asdict(model.schema), indent=2, default=_json_scalar))
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def load_model(directory: Path, n_threads: int = 1) -> TrainedModel:
    """Read a model written by save_model. Loads data only: no pickle, so no code runs."""
    directory = Path(directory)
    for name in (MODEL_FILE, SCHEMA_FILE):
        if not (directory / name).is_file():
            raise DataValidationError(f"{directory}: not a saved model, {name} is missing")
    booster = xgb.Booster(params={"nthread": n_threads})
    booster.load_model(directory / MODEL_FILE)
    schema = ModelSchema(**json.loads((directory / SCHEMA_FILE).read_text()))
    return TrainedModel(booster=booster, schema=schema)


def _json_scalar(value):
    """numpy scalars (labels read from data) as plain JSON numbers or strings."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {value!r} in a model schema")
