"""Tests for flyte.core.predict: labels in original values, one probability column per class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flyte.core.fit import Hyperparameters, train_model
from flyte.core.predict import PREDICTED_COLUMN, predict_table, probabilities, probability_column
from flyte.core.split import SplitParams, split_dataset
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame


@pytest.fixture(scope="module")
def mixed():
    train, validation, test = split_dataset(mixed_frame(), "label", SplitParams())
    return train_model(train, validation, "label", MIXED_CATEGORICAL, Hyperparameters(max_rounds=40)), test


def test_string_labels_come_back_as_strings(mixed):
    model, test = mixed
    out = predict_table(model, test)
    assert list(out.columns) == [PREDICTED_COLUMN] + [probability_column(x) for x in ("alpha", "beta", "gamma")]
    assert set(out[PREDICTED_COLUMN]) <= {"alpha", "beta", "gamma"}
    assert len(out) == len(test)


def test_predicted_label_is_the_most_probable(mixed):
    model, test = mixed
    out = predict_table(model, test)
    proba = probabilities(out, model.schema.labels)
    expected = np.asarray(model.schema.labels, dtype=object)[proba.argmax(axis=1)]
    assert out[PREDICTED_COLUMN].tolist() == expected.tolist()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_integer_labels_come_back_as_integers():
    train, validation, test = split_dataset(binary_frame(200), "y", SplitParams())
    model = train_model(train, validation, "y", [], Hyperparameters(max_rounds=20))
    out = predict_table(model, test)
    assert out[PREDICTED_COLUMN].dtype == np.int64
    assert set(out[PREDICTED_COLUMN]) <= {0, 1}


def test_extra_columns_and_row_order_are_handled(mixed):
    model, test = mixed
    shuffled = test.sample(frac=1.0, random_state=0)
    shuffled["unrelated"] = "ignored"
    out = predict_table(model, shuffled)
    again = predict_table(model, shuffled.drop(columns=["unrelated", "label"]))
    pd.testing.assert_frame_equal(out, again)
    assert list(out.index) == list(range(len(test)))
