"""Tests for flyte.core.fit: label mapping, categories, missing values, determinism, early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from flyte.core.errors import DataValidationError
from flyte.core.fit import Hyperparameters, train_model
from flyte.core.split import SplitParams, split_dataset
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame

FAST = Hyperparameters(max_rounds=60, early_stopping_rounds=10, learning_rate=0.3)


def mixed_parts(rows=360):
    return split_dataset(mixed_frame(rows), "label", SplitParams(seed=5))


def test_binary_integer_labels_keep_their_order():
    train, validation, _ = split_dataset(binary_frame(rows=200), "y", SplitParams())
    model = train_model(train, validation, "y", [], FAST)
    assert model.schema.labels == [0, 1]
    assert model.schema.features == ["a", "b"]
    proba = model.predict_proba(validation)
    assert proba.shape == (len(validation), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_multiclass_string_labels_categories_and_missing_values():
    train, validation, test = mixed_parts()
    assert train["x2"].isna().any() and train["colour"].isna().any()  # the data really has gaps
    model = train_model(train, validation, "label", MIXED_CATEGORICAL, FAST)
    assert model.schema.labels == ["alpha", "beta", "gamma"]
    assert model.schema.categories["colour"] == ["blue", "green", "red"]
    assert model.schema.categories["size"] == ["L", "M", "S", "XL"]
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), 3)
    accuracy = (np.asarray(model.schema.labels)[proba.argmax(axis=1)] == test["label"].to_numpy()).mean()
    assert accuracy > 0.7  # learnable signal; chance is about 0.33
    assert model.feature_importance()["colour"] > 0  # the native categorical split was used


def test_unseen_category_at_prediction_is_treated_as_missing():
    train, validation, test = mixed_parts()
    model = train_model(train, validation, "label", MIXED_CATEGORICAL, FAST)
    novel = test.copy()
    novel["colour"] = "purple"
    as_missing = test.copy()
    as_missing["colour"] = None
    np.testing.assert_allclose(model.predict_proba(novel), model.predict_proba(as_missing))


def test_same_seed_gives_identical_models_whatever_the_thread_count():
    train, validation, test = mixed_parts()
    one = train_model(train, validation, "label", MIXED_CATEGORICAL, FAST, n_threads=1)
    two = train_model(train, validation, "label", MIXED_CATEGORICAL, FAST, n_threads=2)
    np.testing.assert_array_equal(one.predict_proba(test), two.predict_proba(test))
    assert one.schema.best_iteration == two.schema.best_iteration


def test_another_seed_changes_the_sampled_model():
    train, validation, test = mixed_parts()
    a = train_model(train, validation, "label", MIXED_CATEGORICAL, FAST)
    b = train_model(train, validation, "label", MIXED_CATEGORICAL, Hyperparameters(**{**FAST.__dict__, "seed": 99}))
    assert not np.array_equal(a.predict_proba(test), b.predict_proba(test))


def test_early_stopping_keeps_only_rounds_up_to_the_best():
    train, validation, _ = mixed_parts()
    params = Hyperparameters(max_rounds=400, early_stopping_rounds=5, learning_rate=0.5)
    model = train_model(train, validation, "label", MIXED_CATEGORICAL, params)
    assert model.schema.best_iteration < 399
    assert model.booster.num_boosted_rounds() == model.schema.best_iteration + 1


def test_validation_label_unknown_to_train_is_refused():
    train, validation, _ = mixed_parts()
    validation = validation.copy()
    validation.loc[0, "label"] = "delta"
    with pytest.raises(DataValidationError, match=r"validation labels \['delta'\] in 'label' never occur"):
        train_model(train, validation, "label", MIXED_CATEGORICAL, FAST)


def test_single_class_train_table_is_refused():
    df = binary_frame()
    with pytest.raises(DataValidationError, match="train table has a single class"):
        train_model(df[df.y == 1], df, "y", [], FAST)


def test_bad_round_counts_are_refused():
    df = binary_frame()
    with pytest.raises(DataValidationError, match="max_rounds and early_stopping_rounds must be at least 1"):
        train_model(df, df, "y", [], Hyperparameters(max_rounds=0))
