"""The trained model artifact: an XGBoost booster plus the schema it needs, saved without pickles."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

from flyte.core.artifact.drift import REFERENCE_FILE, Reference
from flyte.core.common.errors import DataValidationError, shorten_names
from flyte.core.common.files import staged_directory
from flyte.core.data.leakage import LEAKAGE_FILE, LeakCheck
from flyte.core.data.matrix import float_matrix
from flyte.core.data.target import REGRESSION_OBJECTIVES
from flyte.core.artifact.manifest import read_manifest, verified_bytes, verify_rest, write_manifest
from flyte.core.artifact.schema import MODEL_FILE, SCHEMA_FILE, ModelSchema, parse_schema

log = logging.getLogger(__name__)

#: The objectives whose predictions are class probabilities, as predict_proba reads them.
_PROBABILITY_OBJECTIVES = ("binary:logistic", "multi:softprob")
#: The objectives whose predictions are the target itself (their mean, median, ...), as predict_values reads them.
_REGRESSION_OBJECTIVES = tuple(objective for objective, _ in REGRESSION_OBJECTIVES.values())


@dataclass
class TrainedModel:
    """A booster, its schema, and (from fit) the training rows' distribution that batch prediction measures drift against."""

    booster: xgb.Booster
    schema: ModelSchema
    reference: Reference | None = None
    leakage: LeakCheck | None = None  # what fit's leakage check found, for the model card

    def feature_frame(self, batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
        """The batch's feature columns, typed as the booster saw them in training.

        Numbers are float64 with missing values as NaN; categories are pandas categoricals over the
        training categories, with unseen or missing ones as missing values, which XGBoost routes natively.
        Columns the model was not trained on (the target among them) are ignored. Columns are named as
        the booster knows them (``ModelSchema.booster_features``).
        """
        # Positions looked up once in a dict: a name lookup per column scanned the schema, quadratic at 50k columns.
        position = {name: i for i, name in enumerate(batch.schema.names)}
        absent = [c for c in self.schema.features if c not in position]
        if absent:
            raise DataValidationError(f"table lacks feature column(s) {shorten_names(absent)} that the model was trained on")
        out = {}
        for col, booster_name in zip(self.schema.features, self.schema.booster_features):
            values = batch.column(position[col])
            if col in self.schema.categories:
                known = self.schema.categories[col]
                index = pc.index_in(pc.cast(values, pa.string()), value_set=pa.array(known, pa.string()))
                codes = index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
                out[booster_name] = pd.Categorical.from_codes(codes, categories=known)
            else:
                typed = values if values.type == pa.float64() else pc.cast(values, pa.float64())
                out[booster_name] = typed.to_numpy(zero_copy_only=False)
        return pd.DataFrame(out, copy=False)

    def booster_input(self, batch: pa.RecordBatch | pa.Table) -> tuple[pd.DataFrame | np.ndarray, dict]:
        """What XGBoost is fed for the batch, and the names and types to feed with it: a rows x features float64
        array when every feature is numeric (XGBoost reads a frame column by column in Python, minutes at 50k
        columns), else ``feature_frame``. The booster sees the same names and types either way. The array is
        column-major: Arrow copies each column whole, and XGBoost reads any strides through the array interface
        (the same bins, model and predictions as a row-major copy, which would cost a transpose per batch)."""
        if self.schema.categories:
            return self.feature_frame(batch), {}
        position = {name: i for i, name in enumerate(batch.schema.names)}
        absent = [c for c in self.schema.features if c not in position]
        if absent:
            raise DataValidationError(f"table lacks feature column(s) {absent[:10]} that the model was trained on")
        x = float_matrix(batch, [position[c] for c in self.schema.features], row_major=False)
        return x, {"feature_names": self.schema.booster_features, "feature_types": ["float"] * x.shape[1]}

    def predict_values(self, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        """A regression model's predicted target, one float64 per batch row (in the target's units)."""
        if not self.schema.regression:
            raise DataValidationError(f"the model predicts classes of {self.schema.target!r}, not a number")
        data, _ = self.booster_input(batch)
        return np.asarray(self.booster.inplace_predict(data), dtype=np.float64)

    def predict_proba(self, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        """Class probabilities, one row per batch row, one column per label in ``schema.labels`` order."""
        data, _ = self.booster_input(batch)
        raw = np.asarray(self.booster.inplace_predict(data), dtype=np.float64)
        if raw.ndim == 1:  # binary:logistic gives P(class 1) only
            raw = np.column_stack([1.0 - raw, raw])
        # XGBoost computes in float32; renormalise so each row sums to 1 at float64 precision.
        return raw / raw.sum(axis=1, keepdims=True)


def save_model(model: TrainedModel, directory: Path) -> Path:
    """Write the booster (UBJSON), its schema (JSON), the drift reference when the model has one, and their
    manifest into a new directory, all or nothing."""
    directory = Path(directory)
    if directory.exists():
        raise FileExistsError(f"{directory}: already exists; refusing to overwrite a model")
    with staged_directory(directory) as staging:
        model.booster.save_model(staging / MODEL_FILE)
        (staging / SCHEMA_FILE).write_text(json.dumps(asdict(model.schema), indent=2, default=_json_scalar))
        names = [MODEL_FILE, SCHEMA_FILE]
        if model.reference is not None:  # optional for loading; batch prediction needs it for drift
            (staging / REFERENCE_FILE).write_text(model.reference.to_json())
            names.append(REFERENCE_FILE)
        if model.leakage is not None:  # optional for loading; the model card shows it
            (staging / LEAKAGE_FILE).write_text(model.leakage.to_json())
            names.append(LEAKAGE_FILE)
        # Hashed from disk, after all are written, so the digests are of the bytes a load will read.
        write_manifest(staging, names)
    return directory


def load_model(directory: Path, n_threads: int = 1) -> TrainedModel:
    """Read a model written by save_model. Loads data only: no pickle, so no code runs.

    Every fault is one DataValidationError naming the file: a file missing or extra, a digest that does
    not match manifest.json (checked before XGBoost sees a byte: a corrupt booster file can crash it), a
    malformed schema, an XGBoost release the model is not for (``check_xgboost_version``), or a schema
    that does not describe the booster (``check_agreement``).
    """
    directory = Path(directory)
    manifest = read_manifest(directory, [MODEL_FILE, SCHEMA_FILE])
    schema_bytes = verified_bytes(directory, manifest, SCHEMA_FILE)
    model_bytes = verified_bytes(directory, manifest, MODEL_FILE)
    verify_rest(directory, manifest, [SCHEMA_FILE, MODEL_FILE])  # the card, the drift reference, ...: all or nothing
    schema = parse_schema(schema_bytes, directory / SCHEMA_FILE)
    check_xgboost_version(schema.xgboost_version, xgb.__version__, directory / SCHEMA_FILE)
    if not model_bytes:  # XGBoost 3.2 aborts the process on an empty buffer rather than raising
        raise DataValidationError(f"{directory / MODEL_FILE}: empty, not an XGBoost model")
    booster = xgb.Booster(params={"nthread": n_threads})
    try:
        booster.load_model(bytearray(model_bytes))
    except xgb.core.XGBoostError as exc:
        # Reached only by a file matching its digest: saved so by a faulty writer, or forged with its digest.
        raise DataValidationError(f"{directory / MODEL_FILE}: XGBoost cannot read it: {_first_line(exc)}") from None
    del model_bytes
    check_agreement(booster, schema, directory)
    return TrainedModel(booster=booster, schema=schema)


def check_xgboost_version(saved: str, running: str, where: Path) -> None:
    """Refuse, or log a warning for, a model saved by another XGBoost than ``running``.

    XGBoost keeps newer releases able to read older releases' models, not the reverse; and major
    releases have changed defaults and how the intercept (``base_score``) is stored, so the same file can
    give other probabilities. Hence:

    - another major version: refused, either way;
    - a newer minor version than the one running: refused, as the older reader may misread what it adds
      (3.1 began storing categories in the booster, which 3.0 would ignore);
    - an older minor, or another patch release: loaded, with a warning, as XGBoost supports reading
      those and patch releases fix bugs without changing the format.
    In a pipeline run fit and predict share one image, so a difference means a stale cache or a model
    brought in from elsewhere: refitting with the running XGBoost clears it either way.
    """
    ours, theirs = _version(running), _version(saved)
    if ours is None:
        raise RuntimeError(f"cannot read the running XGBoost's version {running!r}")
    if theirs is None:
        raise DataValidationError(f"{where}: xgboost_version {saved!r} is not an XGBoost version")
    if theirs == ours:
        return
    problem = f"{where}: the model was saved by XGBoost {saved}, but XGBoost {running} is loading it"
    if theirs[0] != ours[0] or theirs[:2] > ours[:2]:
        raise DataValidationError(
            f"{problem}; a different major or a newer minor release may read or predict differently",
            hint=f"fit the model again with XGBoost {running}, or predict with XGBoost {saved}",
        )
    log.warning("%s; loading it, as the same major release reads it, but predictions may differ slightly", problem)


def check_agreement(booster: xgb.Booster, schema: ModelSchema, directory: Path) -> None:
    """Refuse a schema that does not describe the booster: its classes, features, feature kinds or rounds.

    A schema with the wrong labels or feature order would silently mislabel or mis-feed every prediction.
    """
    model_path, schema_path = directory / MODEL_FILE, directory / SCHEMA_FILE
    mismatch = f"{schema_path} does not describe {model_path}"
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    if schema.regression:
        if objective not in _REGRESSION_OBJECTIVES:
            raise DataValidationError(f"{model_path}: objective {objective!r} does not predict a number")
    elif objective not in _PROBABILITY_OBJECTIVES:
        raise DataValidationError(f"{model_path}: objective {objective!r} does not give class probabilities")
    if schema.objective and objective != schema.objective:
        raise DataValidationError(f"{mismatch}: objective {schema.objective!r}, but the booster has {objective!r}")
    classes = 0 if schema.regression else 2 if objective.startswith("binary:") else int(learner["learner_model_param"]["num_class"])
    if classes != len(schema.labels):
        raise DataValidationError(f"{mismatch}: {len(schema.labels)} labels, but the booster has {classes} classes")
    if booster.num_features() != len(schema.features):
        raise DataValidationError(
            f"{mismatch}: {len(schema.features)} features, but the booster has {booster.num_features()}"
        )
    if booster.feature_names != schema.booster_features:
        raise DataValidationError(
            f"{mismatch}: features {schema.booster_features} (as the booster names them), "
            f"but the booster has {booster.feature_names}"
        )
    categorical = [f for f, t in zip(schema.features, booster.feature_types or []) if t == "c"]
    if categorical != [f for f in schema.features if f in schema.categories]:
        raise DataValidationError(
            f"{mismatch}: categorical features {sorted(schema.categories)}, but the booster has {sorted(categorical)}"
        )
    rounds = booster.num_boosted_rounds()
    if rounds != schema.best_iteration + 1:
        raise DataValidationError(
            f"{mismatch}: best_iteration {schema.best_iteration}, but the booster keeps {rounds} rounds"
        )


def _first_line(exc: Exception) -> str:
    """The gist of an XGBoostError: its first line without the time and C++ source location, no backtrace."""
    lines = str(exc).strip().splitlines()
    return re.sub(r"^\[[\d:]+\] \S+:\d+: ", "", lines[0]) if lines else type(exc).__name__


def _version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a version such as ``3.2.0`` or ``3.1.0rc1``; None when it is not one."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3] or 0))


def _json_scalar(value):
    """numpy scalars (labels read from data) as plain JSON numbers or strings."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {value!r} in a model schema")
