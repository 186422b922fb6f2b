"""`make bench-defaults`' runner on tiny tables: both sides' metrics and the comparison between them."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks.defaults import format_table, regression_parts, run_suite, suite_params
from benchmarks.defaults_data import TARGET, Dataset
from flyte.core.training.hyperparameters import default_hyperparameters

FAST = {"max_rounds": 15, "early_stopping_rounds": 5}


def _tiny(kind: str, rows: int = 240, seed: int = 3) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) if kind == "classification" else 2.0 * x[:, 0] + rng.normal(0, 0.3, rows)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "green", "blue"], rows)
    frame[TARGET] = y
    return Dataset(f"tiny-{kind}", kind, frame, ("colour",))


@pytest.fixture(scope="module")
def results():
    return run_suite([_tiny("classification")], [_tiny("regression")], FAST)


def test_classification_row_holds_both_sides_and_their_difference(results):
    row = next(r for r in results if r["kind"] == "classification")
    assert row["test_rows"] > 0 and row["classes"] == 2
    for metric in ("roc_auc", "accuracy", "log_loss"):
        ours, theirs = row["ours"][metric], row["hgb"][metric]
        assert math.isfinite(ours) and math.isfinite(theirs)
        assert row["diff"][metric] == pytest.approx(ours - theirs)
    assert 0.5 < row["ours"]["roc_auc"] <= 1.0 and 0.5 < row["hgb"]["roc_auc"] <= 1.0  # both learnt the signal
    assert 1 <= row["rounds"] <= FAST["max_rounds"]


def test_regression_row_holds_both_rmses_and_their_ratio(results):
    row = next(r for r in results if r["kind"] == "regression")
    assert row["ours"]["rmse"] > 0 and row["hgb"]["rmse"] > 0
    assert row["ratio"] == pytest.approx(row["ours"]["rmse"] / row["hgb"]["rmse"])
    assert row["ours"]["rmse"] < 2.0 * 0.3 * 4  # far below the target's spread (sd about 2): it learnt x0


def test_table_names_every_dataset_and_summarises_both_kinds(results):
    table = format_table(results)
    assert "tiny-classification" in table and "tiny-regression" in table
    assert "worst AUC diff" in table and "worst RMSE ratio" in table


def test_regression_parts_follow_the_pipeline_ratios_and_ignore_row_order():
    frame = _tiny("regression", rows=3000).frame
    parts = regression_parts(frame)
    shares = np.bincount(parts, minlength=3) / len(parts)
    assert shares == pytest.approx([0.67 * 0.8, 0.67 * 0.2, 0.33], abs=0.03)
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert (regression_parts(shuffled) == parts[shuffled.index.to_numpy()]).all()  # a row's part is its own


def test_each_problem_type_runs_its_own_defaults_under_the_overrides():
    params = suite_params({"learning_rate": 0.2})
    assert params["classification"] == replace(default_hyperparameters("classification"), learning_rate=0.2)
    assert params["regression"] == replace(default_hyperparameters("regression"), learning_rate=0.2)
    assert params["regression"].max_depth != params["classification"].max_depth
