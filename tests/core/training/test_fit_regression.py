"""Fitting a regression target: each objective, its validation against the target, and the leakage check's R²."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.data import tables
from flyte.core.data.leakage import binned_r2
from flyte.core.training.fit import booster_params, train_model
from flyte.core.training.hyperparameters import Hyperparameters
from tests.data_factory import binary_frame, read_frame, regression_frame, split_frame

FAST = dict(max_rounds=200, early_stopping_rounds=10, learning_rate=0.3, max_depth=3)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    return split_frame(tmp_path_factory.mktemp("reg"), regression_frame(), "y", ["colour"], problem_type="regression")


def rmse(model, table) -> float:
    y = read_frame(table)["y"].to_numpy()
    return float(np.sqrt(np.mean((model.predict_values(tables.read_columns(table, model.schema.features)) - y) ** 2)))


@pytest.mark.parametrize(
    "objective, xgb_objective, metric",
    [("default", "reg:squarederror", "rmse"), ("absolute_error", "reg:absoluteerror", "mae"),
     ("pseudo_huber", "reg:pseudohubererror", "mphe"), ("poisson", "count:poisson", "poisson-nloglik"),
     ("tweedie", "reg:tweedie", "tweedie-nloglik@1.5")],
)  # fmt: skip
def test_each_objective_fits_and_early_stops_on_its_metric(reg, objective, xgb_objective, metric):
    parts, profile = reg
    params = Hyperparameters(objective=objective, **FAST)
    assert booster_params(params, 0, 1, regression=True)["eval_metric"] == metric
    model = train_model(parts["train"], parts["validation"], profile, params)
    assert model.schema.problem_type == "regression" and model.schema.objective == xgb_objective
    assert model.schema.labels == []
    # The target's std is about 4; a model that learned the signal (noise sd 0.5) is far below it.
    assert rmse(model, parts["test"]) < 1.5


def test_poisson_refuses_a_negative_target_naming_the_value(tmp_path):
    df = regression_frame()
    df.loc[::10, "y"] = -2.5
    parts, profile = split_frame(tmp_path, df, "y", ["colour"], problem_type="regression")
    with pytest.raises(DataValidationError, match=r"objective 'poisson' needs every target 0 or more: target 'y' holds -2.5 at row \d+"):
        train_model(parts["train"], parts["validation"], profile, Hyperparameters(objective="poisson", **FAST))
    train_model(parts["train"], parts["validation"], profile, Hyperparameters(objective="absolute_error", **FAST))


def test_a_classifier_refuses_a_regression_objective(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(200), "y")
    with pytest.raises(DataValidationError, match="objective 'poisson' is for regression"):
        train_model(parts["train"], parts["validation"], profile, Hyperparameters(objective="poisson", **FAST))


def test_unknown_objective_and_bad_settings_are_refused():
    with pytest.raises(DataValidationError, match="objective must be one of"):
        Hyperparameters(objective="quantile")
    with pytest.raises(DataValidationError, match="tweedie_variance_power must be between 1 and 2"):
        Hyperparameters(tweedie_variance_power=2.0)


def test_binned_r2_hand_checked():
    # Two bins of 5 rows: means 1 and 3, within-bin squared error 4 x 0 ... y = [1]*5 + [2, 3, 3, 3, 4]:
    # overall mean 2, total SS = 5 + (0 + 1 + 1 + 1 + 4) = 12; bin means 1 and 3: within SS = 0 + (1 + 0 + 0 + 0 + 1) = 2.
    y = np.array([1.0] * 5 + [2, 3, 3, 3, 4])
    bins = np.array([0] * 5 + [1] * 5)
    assert binned_r2(bins, y, 2) == pytest.approx(1 - 2 / 12)
    # A bin under MIN_BIN_ROWS rows is predicted the overall mean: nothing explained.
    assert binned_r2(np.array([0, 0, 1, 1]), np.array([1.0, 1.0, 3.0, 3.0]), 2) == 0.0


def test_a_copy_of_a_regression_target_is_refused_as_a_leak(tmp_path):
    df = regression_frame()
    df["copy"] = df["y"] * 2 + 1
    parts, profile = split_frame(tmp_path, df, "y", ["colour"], problem_type="regression")
    with pytest.raises(DataValidationError, match=r"feature 'copy' alone predicts target 'y' on the training rows: leak score 0\.9\d+"):
        train_model(parts["train"], parts["validation"], profile, Hyperparameters(**FAST))
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(**FAST), leak_threshold=1.0)
    assert model.leakage.scores["copy"] > 0.95 > model.leakage.scores["a"]


def test_external_memory_fits_a_regression_target_like_in_memory(reg, tmp_path):
    parts, profile = reg
    params = dict(FAST, subsample=1.0, colsample_bytree=1.0)
    in_memory = train_model(parts["train"], parts["validation"], profile, Hyperparameters(external_memory="never", **params))
    on_disk = train_model(parts["train"], parts["validation"], profile, Hyperparameters(external_memory="always", **params),
                          scratch=tmp_path)  # fmt: skip
    assert on_disk.schema.objective == "reg:squarederror"
    assert rmse(on_disk, parts["test"]) == pytest.approx(rmse(in_memory, parts["test"]), rel=0.05)
