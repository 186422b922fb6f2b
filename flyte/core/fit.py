"""Stage 3: fit an XGBoost classifier on the training rows, early-stopped on the validation rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from flyte.core.errors import DataValidationError
from flyte.core.model import ModelSchema, TrainedModel


@dataclass
class Hyperparameters:
    """XGBoost settings; defaults suit small and medium tables.

    max_rounds: upper bound on boosting rounds; early stopping usually ends sooner.
    early_stopping_rounds: stop after this many rounds without a better validation log loss.
    learning_rate: shrinkage applied to each tree (XGBoost's eta).
    max_depth: deepest a tree may grow.
    min_child_weight: least hessian weight a leaf may hold; larger is more conservative.
    subsample / colsample_bytree: fraction of rows / columns sampled for each tree.
    reg_lambda / reg_alpha: L2 / L1 penalties on leaf weights.
    seed: seeds XGBoost's row and column sampling, so a fit is repeatable.
    """

    max_rounds: int = 500
    early_stopping_rounds: int = 50
    learning_rate: float = 0.05
    max_depth: int = 2
    min_child_weight: float = 1.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    reg_alpha: float = 0.0
    seed: int = 7


def train_model(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    target: str,
    categorical_columns: list[str],
    params: Hyperparameters,
    n_threads: int = 1,
) -> TrainedModel:
    """Fit a booster for a binary or multiclass target of any label type.

    Labels are mapped to 0..K-1 in sorted order and kept in the schema to map predictions back;
    categorical features use XGBoost's native categorical splits; missing values are left to XGBoost.
    ``n_threads`` should equal the cpus the caller was given, so threads never outnumber cores.
    """
    if params.max_rounds < 1 or params.early_stopping_rounds < 1:
        raise DataValidationError("max_rounds and early_stopping_rounds must be at least 1")
    for name, frame in (("train", train), ("validation", validation)):
        if target not in frame.columns:
            raise DataValidationError(f"{name} table lacks target column {target!r}")
        if len(frame) == 0:
            raise DataValidationError(f"{name} table has no rows")
    labels = sorted(train[target].unique().tolist(), key=_label_sort_key)
    if len(labels) < 2:
        raise DataValidationError(f"train table has a single class {labels!r} in {target!r}")
    unseen = sorted(set(validation[target].unique().tolist()) - set(labels), key=_label_sort_key)
    if unseen:
        raise DataValidationError(f"validation labels {unseen} in {target!r} never occur in the train table")

    features = [c for c in train.columns if c != target]
    categories = {c: sorted(train[c].dropna().astype(str).unique().tolist()) for c in categorical_columns}
    schema = ModelSchema(target=target, features=features, categories=categories, labels=labels)
    unfitted = TrainedModel(booster=xgb.Booster(), schema=schema)
    code = {label: i for i, label in enumerate(labels)}
    dtrain = unfitted.dmatrix(train, label=train[target].map(code).to_numpy(), n_threads=n_threads)
    dvalid = unfitted.dmatrix(validation, label=validation[target].map(code).to_numpy(), n_threads=n_threads)

    booster = xgb.train(
        _booster_params(params, n_classes=len(labels), n_threads=n_threads),
        dtrain,
        num_boost_round=params.max_rounds,
        evals=[(dvalid, "validation")],
        early_stopping_rounds=params.early_stopping_rounds,
        verbose_eval=False,
    )
    best = int(booster.best_iteration)
    # Keep only the rounds up to the best one, so every later predict sees the early-stopped model.
    booster = booster[: best + 1]
    schema.best_iteration = best
    return TrainedModel(booster=booster, schema=schema)


def _booster_params(params: Hyperparameters, n_classes: int, n_threads: int) -> dict:
    binary = n_classes == 2
    out = {
        "objective": "binary:logistic" if binary else "multi:softprob",
        "eval_metric": "logloss" if binary else "mlogloss",
        "tree_method": "hist",
        "eta": params.learning_rate,
        "max_depth": params.max_depth,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "lambda": params.reg_lambda,
        "alpha": params.reg_alpha,
        "seed": params.seed,
        "nthread": n_threads,
    }
    if not binary:
        out["num_class"] = n_classes
    return out


def _label_sort_key(label):
    # Numbers before text, numbers by value: labels 0/1 keep 1 as the positive class.
    return (0, float(label), "") if isinstance(label, (int, float, np.number)) else (1, 0.0, str(label))
