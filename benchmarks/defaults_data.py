"""The datasets of `make bench-defaults`: what ships inside scikit-learn, and seeded synthetic tables of several shapes.

Every dataset is a frame with a target column ``y`` and the names of its categorical features (text values);
everything else is numeric, with NaN for a missing value. Nothing is downloaded: scikit-learn's bundled sets load
from its package, the rest is generated from an explicit seed, so a dataset's rows depend only on (name, seed).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
from sklearn import datasets as skd

TARGET = "y"


class Dataset(NamedTuple):
    """One benchmark table: ``kind`` is ``classification`` or ``regression``; ``categorical`` names text features."""

    name: str
    kind: str
    frame: pd.DataFrame
    categorical: tuple[str, ...] = ()


def _frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    out[TARGET] = y
    return out


def _bundled(loader: Callable) -> pd.DataFrame:
    bunch = loader()
    return _frame(np.asarray(bunch.data, dtype=float), np.asarray(bunch.target))


def _with_missing(frame: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``share`` of every feature's values blanked at random (the target kept)."""
    out = frame.copy()
    for column in out.columns:
        if column != TARGET:
            blank = rng.random(len(out)) < share
            out[column] = out[column].where(~blank, None if not pd.api.types.is_numeric_dtype(out[column]) else np.nan)
    return out


def _coded_categoricals(rows: int, seed: int, classes: int) -> pd.DataFrame:
    """Integer-coded categorical features (3 to 40 levels, effects unordered in the code), a few numeric ones,
    and an imbalanced multiclass target (or a numeric one when ``classes`` is 0)."""
    rng = np.random.default_rng(seed)
    levels = [3, 5, 8, 12, 20, 40]
    codes = np.column_stack([rng.integers(0, k, rows) for k in levels])
    numeric = rng.standard_normal((rows, 4))
    effects = [rng.normal(0, 1.0, (k, max(classes, 1))) for k in levels]
    score = sum(effects[j][codes[:, j]] for j in range(len(levels)))
    score = score + 0.8 * numeric[:, :1] - 0.6 * np.abs(numeric[:, 1:2]) + 0.5 * numeric[:, 2:3] * (codes[:, :1] == 1)
    x = np.column_stack([codes, numeric]).astype(float)
    if classes == 0:
        return _frame(x, score[:, 0] + rng.normal(0, 0.5, rows))
    bias = np.log(np.linspace(1.0, 0.04, classes))  # class priors from 1 down to 1/25 of the largest
    logits = score + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((rows, 1))).argmax(axis=1)
    return _frame(x, y)


def _text_categories(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        out[c] = ["c" + str(int(v)) if v == v else np.nan for v in out[c]]
    return out


def _checkerboard(rows: int, seed: int) -> pd.DataFrame:
    """A 4x4 checkerboard on two of six features, labels flipped for 10% of rows: depth-2 trees need many rounds."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 4, (rows, 6))
    y = ((np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2).astype(int)
    flip = rng.random(rows) < 0.1
    return _frame(x, np.where(flip, 1 - y, y))


def classification_datasets(seed: int = 7) -> list[Dataset]:
    """The classification half of the suite."""
    rng = np.random.default_rng(seed)
    imbalanced_x, imbalanced_y = skd.make_classification(
        n_samples=4000, n_features=20, n_informative=10, n_redundant=4, n_classes=5, n_clusters_per_class=2,
        weights=[0.55, 0.25, 0.1, 0.06, 0.04], class_sep=0.8, random_state=seed,
    )  # fmt: skip
    wide_x, wide_y = skd.make_classification(n_samples=2000, n_features=300, n_informative=20, random_state=seed)
    missing_x, missing_y = skd.make_classification(n_samples=3000, n_features=12, n_informative=6, random_state=seed)
    hastie_x, hastie_y = skd.make_hastie_10_2(n_samples=4000, random_state=seed)
    coded = _coded_categoricals(5000, seed, classes=4)
    return [
        Dataset("breast-cancer", "classification", _bundled(skd.load_breast_cancer)),
        Dataset("wine", "classification", _bundled(skd.load_wine)),
        Dataset("iris", "classification", _bundled(skd.load_iris)),
        Dataset("digits", "classification", _bundled(skd.load_digits)),
        Dataset("imbalanced-5class", "classification", _frame(imbalanced_x, imbalanced_y)),
        Dataset("coded-categoricals-4class", "classification", coded),
        Dataset("text-categoricals-4class", "classification", _text_categories(coded, ["x3", "x4", "x5"]), ("x3", "x4", "x5")),
        Dataset("missing-20pct", "classification", _with_missing(_frame(missing_x, missing_y), 0.2, rng)),
        Dataset("wide-300", "classification", _frame(wide_x, wide_y)),
        Dataset("hastie", "classification", _frame(hastie_x, (hastie_y > 0).astype(int))),
        Dataset("checkerboard", "classification", _checkerboard(4000, seed)),
    ]


def regression_datasets(seed: int = 7) -> list[Dataset]:
    """The regression half of the suite."""
    rng = np.random.default_rng(seed + 1)
    f1_x, f1_y = skd.make_friedman1(n_samples=2000, noise=1.0, random_state=seed)
    f2_x, f2_y = skd.make_friedman2(n_samples=2000, noise=30.0, random_state=seed)
    f3_x, f3_y = skd.make_friedman3(n_samples=2000, noise=0.1, random_state=seed)
    linear_x, linear_y = skd.make_regression(n_samples=2000, n_features=30, n_informative=10, noise=20.0, random_state=seed)
    small_x, small_y = skd.make_friedman1(n_samples=300, noise=1.0, random_state=seed + 2)
    coded = _coded_categoricals(3000, seed, classes=0)
    mixed = _with_missing(_text_categories(coded, ["x2", "x3", "x4", "x5"]), 0.1, rng)
    return [
        Dataset("diabetes", "regression", _bundled(skd.load_diabetes)),
        Dataset("friedman1", "regression", _frame(f1_x, f1_y)),
        Dataset("friedman1-300rows", "regression", _frame(small_x, small_y)),
        Dataset("friedman2", "regression", _frame(f2_x, f2_y)),
        Dataset("friedman3", "regression", _frame(f3_x, f3_y)),
        Dataset("linear-30", "regression", _frame(linear_x, linear_y)),
        Dataset("categoricals-missing", "regression", mixed, ("x2", "x3", "x4", "x5")),
    ]


def checkerboard(rows: int = 1500, seed: int = 7) -> Dataset:
    """The nonlinear table on which depth-2 trees fall behind (the behaviour test's dataset)."""
    return Dataset("checkerboard", "classification", _checkerboard(rows, seed))
