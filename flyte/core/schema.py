"""What a saved model needs beside its booster, readable without loading XGBoost."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from flyte.core import labels as lbl
from flyte.core.errors import DataValidationError

MODEL_FILE = "model.ubj"  # XGBoost's own binary JSON format
SCHEMA_FILE = "schema.json"


@dataclass
class ModelSchema:
    """What a booster needs to be fed and how to read its answers.

    features: feature columns in training order.
    categories: for each categorical feature, its known categories in code order.
    labels: the original target values; the booster's class ``i`` is ``labels[i]``.
    label_kind: how labels were typed (``int``, ``float`` or ``str``), to code new targets the same way.
    best_iteration: index of the last boosting round kept (chosen by early stopping).
    feature_importance: total gain of the splits on each feature (0 for a feature never split on).
    xgboost_version: the XGBoost that trained the booster.
    """

    target: str
    features: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    labels: list = field(default_factory=list)
    label_kind: str = lbl.STR
    best_iteration: int = 0
    feature_importance: dict[str, float] = field(default_factory=dict)
    xgboost_version: str = ""

    @property
    def booster_features(self) -> list[str]:
        """The features as the booster names them (``booster_names``); the schema keeps the originals."""
        return booster_names(self.features)

    @property
    def label_texts(self) -> list[str]:
        """Each class's label as text, in class-code order (how profiles and metrics name classes)."""
        return [lbl.text(v, self.label_kind) for v in self.labels]


#: Characters XGBoost refuses in a feature name, and what stands for each in the booster.
_XGBOOST_UNSAFE = {"[": "(", "]": ")", "<": "lt"}


def booster_names(features: list[str]) -> list[str]:
    """Feature names XGBoost accepts, one for one: ``weight[kg]`` becomes ``weight(kg)``, kept unique."""
    out, seen = [], set(features)
    for name in features:
        safe = "".join(_XGBOOST_UNSAFE.get(ch, ch) for ch in name)
        if safe != name:
            base, n = safe, 1
            while safe in seen:  # never collide with another feature's name, original or mapped
                safe, n = f"{base}_{n}", n + 1
            seen.add(safe)
        out.append(safe)
    return out


def read_schema(directory: Path) -> ModelSchema:
    """The schema of a model directory written by ``model.save_model``."""
    path = Path(directory) / SCHEMA_FILE
    if not path.is_file():
        raise DataValidationError(f"{directory}: not a saved model, {SCHEMA_FILE} is missing")
    return ModelSchema(**json.loads(path.read_text()))
