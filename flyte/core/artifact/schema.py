"""What a saved model needs beside its booster, readable without loading XGBoost."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from flyte.core.data import labels as lbl
from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.manifest import read_manifest, verified_bytes
from flyte.core.data.target import CLASSIFICATION, PROBLEM_TYPES, REGRESSION

MODEL_FILE = "model.ubj"  # XGBoost's own binary JSON format
SCHEMA_FILE = "schema.json"


@dataclass
class ModelSchema:
    """What a booster needs to be fed and how to read its answers.

    features: feature columns in training order.
    categories: for each categorical feature, its known categories in code order.
    labels: the original target values; the booster's class ``i`` is ``labels[i]``. Empty for regression.
    label_kind: how labels were typed (``int``, ``float`` or ``str``), to code new targets the same way.
    best_iteration: index of the last boosting round kept (chosen by early stopping).
    feature_importance: total gain of the splits on each feature (0 for a feature never split on).
    xgboost_version: the XGBoost that trained the booster.
    problem_type: ``classification`` or ``regression`` (what the booster predicts: class probabilities or a number).
    objective: the XGBoost objective it was trained with (``reg:squarederror``, ``binary:logistic``, ...).
    """

    target: str
    features: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    labels: list = field(default_factory=list)
    label_kind: str = lbl.STR
    best_iteration: int = 0
    feature_importance: dict[str, float] = field(default_factory=dict)
    xgboost_version: str = ""
    problem_type: str = CLASSIFICATION
    objective: str = ""

    @property
    def regression(self) -> bool:
        return self.problem_type == REGRESSION

    @property
    def hashed_target(self) -> str:
        """The target as the split's row hash names it: "" for a regression target, hashed as a plain number."""
        return "" if self.regression else self.target

    @property
    def booster_features(self) -> list[str]:
        """The features as the booster names them (``booster_names``); the schema keeps the originals."""
        return list(_booster_names(tuple(self.features)))

    @property
    def booster_types(self) -> list[str]:
        """Each feature's XGBoost type: "c" for a categorical (fed as its code), "float" for the rest."""
        return ["c" if f in self.categories else "float" for f in self.features]

    @property
    def label_texts(self) -> list[str]:
        """Each class's label as text, in class-code order (how profiles and metrics name classes)."""
        return [lbl.text(v, self.label_kind) for v in self.labels]


#: Characters XGBoost refuses in a feature name, and what stands for each in the booster.
_XGBOOST_UNSAFE = {"[": "(", "]": ")", "<": "lt"}


@functools.lru_cache(maxsize=8)
def _booster_names(features: tuple[str, ...]) -> tuple[str, ...]:
    # Memoised: fit, predict and every batch ask for the same model's names, a character-by-character pass over
    # every feature name (about 0.5 s at 50,000 features) each time.
    return tuple(booster_names(list(features)))


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
    """The schema of a model directory written by ``model.save_model``, without loading XGBoost.

    The directory must match its manifest (files present, none extra) and schema.json its digest; the
    booster itself is neither hashed nor read, so only ``model.load_model`` checks that the two agree.
    """
    directory = Path(directory)
    manifest = read_manifest(directory, [MODEL_FILE, SCHEMA_FILE])
    return parse_schema(verified_bytes(directory, manifest, SCHEMA_FILE), directory / SCHEMA_FILE)


def parse_schema(data: bytes, path: Path) -> ModelSchema:
    """The ModelSchema stored as ``data``, the content of ``path``; any fault is a DataValidationError naming it."""
    try:
        raw = json.loads(data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise DataValidationError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise DataValidationError(f"{path}: expected a JSON object, found {type(raw).__name__}")
    missing = [name for name in _FIELD_CHECKS if name not in raw and name not in _OPTIONAL_FIELDS]
    if missing:
        raise DataValidationError(f"{path}: lacks field(s) {missing}")
    unknown = sorted(set(raw) - set(_FIELD_CHECKS))
    if unknown:
        raise DataValidationError(f"{path}: unknown field(s) {unknown}")
    for name, (check, wanted) in _FIELD_CHECKS.items():
        if name in raw and not check(raw[name]):
            raise DataValidationError(f"{path}: {name!r} must be {wanted}, found {_shown(raw[name])}")
    schema = ModelSchema(**raw)
    _check_consistency(schema, path)
    return schema


def _check_consistency(schema: ModelSchema, path: Path) -> None:
    """Refuse a schema whose fields, each well typed, contradict one another."""
    features = set(schema.features)
    if len(features) != len(schema.features):
        raise DataValidationError(f"{path}: 'features' repeats a name: {schema.features}")
    if schema.target in features:
        raise DataValidationError(f"{path}: the target {schema.target!r} is also listed as a feature")
    for what, names in (("categories", schema.categories), ("feature_importance", schema.feature_importance)):
        stray = sorted(set(names) - features)
        if stray:
            raise DataValidationError(f"{path}: {what!r} names {stray}, which are not features")
    for col, known in schema.categories.items():
        if len(set(known)) != len(known):
            raise DataValidationError(f"{path}: the categories of {col!r} repeat a value")
    if schema.regression:
        if schema.labels:
            raise DataValidationError(f"{path}: a regression model has no labels, found {_shown(schema.labels)}")
        return
    if len(schema.labels) < 2:
        raise DataValidationError(f"{path}: 'labels' must be a list of at least 2 labels, found {_shown(schema.labels)}")
    if not all(_LABEL_TYPE[schema.label_kind](v) for v in schema.labels):
        raise DataValidationError(f"{path}: labels {schema.labels} are not all of kind {schema.label_kind!r}")
    if len(set(schema.label_texts)) != len(schema.labels):
        raise DataValidationError(f"{path}: labels {schema.labels} repeat a class")


def _shown(value, limit: int = 80) -> str:
    """``repr(value)``, cut short: a message names the bad value without quoting a whole forged file."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_text_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


#: How each stored label kind reads back from JSON (an integral float label such as 2.0 stays a float).
_LABEL_TYPE = {lbl.INT: _is_int, lbl.FLOAT: _is_number, lbl.STR: lambda v: isinstance(v, str)}

#: Every field save_model writes, what it must hold, and how the message describes that.
_FIELD_CHECKS = {
    "target": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "features": (lambda v: _is_text_list(v) and len(v) > 0, "a non-empty list of strings"),
    "categories": (
        lambda v: isinstance(v, dict) and all(_is_text_list(c) for c in v.values()),
        "an object of lists of strings",
    ),
    "labels": (lambda v: isinstance(v, list), "a list of at least 2 labels (none for a regression model)"),
    "label_kind": (lambda v: isinstance(v, str) and v in _LABEL_TYPE, f"one of {sorted(_LABEL_TYPE)}"),
    "best_iteration": (lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    # Gains are floats; a NaN gain is stored as JSON's NaN and is no reason to refuse the model.
    "feature_importance": (
        lambda v: isinstance(v, dict) and all(_is_int(g) or isinstance(g, float) for g in v.values()),
        "an object of numbers",
    ),
    "xgboost_version": (lambda v: isinstance(v, str), "a string"),
    "problem_type": (lambda v: v in PROBLEM_TYPES, f"one of {list(PROBLEM_TYPES)}"),
    "objective": (lambda v: isinstance(v, str), "a string"),
}
#: Fields a schema written before they existed lacks: such a model is a classifier, its objective read from the booster.
_OPTIONAL_FIELDS = ("problem_type", "objective")
