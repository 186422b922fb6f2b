"""What the single-pod and distributed fits share around the boosting: the starting schema and the finishing steps."""

from __future__ import annotations

import logging

import xgboost as xgb

from flyte.core.artifact.schema import ModelSchema
from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile

log = logging.getLogger(__name__)


def new_schema(profile: DataProfile, categories: dict[str, list[str]], objective: str) -> ModelSchema:
    """The schema of a model fitted on ``profile``'s data: its problem type, target, features and labels (typed
    back from text, in class-code order; none for regression), ``categories`` (each categorical feature's sorted
    training values), XGBoost's ``objective`` and this XGBoost's version. ``best_iteration`` and
    ``feature_importance`` are filled by ``finish``."""
    return ModelSchema(
        target=profile.target, features=list(profile.feature_columns), categories=categories,
        labels=[lbl.typed(text, profile.label_kind) for text in profile.labels], label_kind=profile.label_kind,
        xgboost_version=xgb.__version__, problem_type=profile.problem_type, objective=objective,
    )  # fmt: skip


def finish(booster: xgb.Booster, schema: ModelSchema, max_rounds: int) -> xgb.Booster:
    """The early-stopped booster: only the rounds up to the best one, so every later predict sees that model.
    Records the best round (from 0) and each feature's total gain (0 for a feature never split on) in ``schema``."""
    best = int(booster.best_iteration)
    booster = booster[: best + 1]
    schema.best_iteration = best
    gain = booster.get_score(importance_type="total_gain")
    schema.feature_importance = {f: float(gain.get(b, 0.0)) for f, b in zip(schema.features, schema.booster_features)}
    log.info("best iteration %d of at most %d rounds", best, max_rounds)
    return booster
