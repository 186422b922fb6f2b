"""Tests for flyte.core.evaluation.predict: labels in original values, one probability column per class, streamed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from flyte.core.data import tables
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.evaluation.predict import PREDICTED_COLUMN, predict_table, probability_column
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, read_frame, split_frame


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    parts, profile = split_frame(tmp_path_factory.mktemp("predict"), mixed_frame(), "label", MIXED_CATEGORICAL)
    return train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=40)), parts["test"]


def test_string_labels_come_back_as_strings(mixed, tmp_path):
    model, test = mixed
    rows = predict_table(model, test, tmp_path / "out")
    out = read_frame(tmp_path / "out")
    assert list(out.columns) == [PREDICTED_COLUMN] + [probability_column(x) for x in ("alpha", "beta", "gamma")]
    assert set(out[PREDICTED_COLUMN]) <= {"alpha", "beta", "gamma"}
    assert rows == len(out) == tables.num_rows(test)


def test_predicted_label_is_the_most_probable(mixed, tmp_path):
    model, test = mixed
    predict_table(model, test, tmp_path / "out")
    out = read_frame(tmp_path / "out")
    proba = out[[probability_column(x) for x in model.schema.label_texts]].to_numpy()
    expected = np.asarray(model.schema.labels, dtype=object)[proba.argmax(axis=1)]
    assert out[PREDICTED_COLUMN].tolist() == expected.tolist()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_integer_labels_come_back_as_integers(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(200), "y")
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=20))
    predict_table(model, parts["test"], tmp_path / "out")
    assert tables.schema(tmp_path / "out").field(PREDICTED_COLUMN).type == pa.int64()
    assert set(read_frame(tmp_path / "out")[PREDICTED_COLUMN]) <= {0, 1}


def test_batches_give_the_same_predictions_as_one_pass(mixed, tmp_path, monkeypatch):
    model, test = mixed
    predict_table(model, test, tmp_path / "whole")
    monkeypatch.setattr(tables, "batch_rows", lambda *_args, **_kw: 7)
    predict_table(model, test, tmp_path / "batched")
    assert read_frame(tmp_path / "whole").equals(read_frame(tmp_path / "batched"))


def test_extra_columns_are_ignored(mixed):
    model, test = mixed
    table = tables.read_columns(test, model.schema.features)
    wider = table.append_column("unrelated", pa.array(["ignored"] * table.num_rows))
    np.testing.assert_array_equal(model.predict_proba(wider), model.predict_proba(table))


def test_passthrough_columns_come_first_in_row_order_and_change_nothing_else(mixed, tmp_path):
    model, test = mixed
    predict_table(model, test, tmp_path / "plain")
    predict_table(model, test, tmp_path / "with_id", passthrough=["size", "label"])
    plain, with_id = read_frame(tmp_path / "plain"), read_frame(tmp_path / "with_id")
    assert list(with_id.columns) == ["size", "label", *plain.columns]
    truth = read_frame(test)
    assert with_id["label"].tolist() == truth["label"].tolist() and with_id["size"].tolist() == truth["size"].tolist()
    assert with_id[list(plain.columns)].equals(plain)


def test_an_absent_passthrough_column_is_refused_and_nothing_is_written(mixed, tmp_path):
    from flyte.core.common.errors import DataValidationError

    model, test = mixed
    with pytest.raises(DataValidationError, match=r"no passthrough column\(s\) \['id'\]"):
        predict_table(model, test, tmp_path / "out", passthrough=["id"])
    with pytest.raises(DataValidationError, match="collide with the prediction columns"):
        predict_table(model, tables_with_predicted_column(tmp_path, test), tmp_path / "out", passthrough=["predicted_label"])
    assert not (tmp_path / "out").exists()


def tables_with_predicted_column(tmp_path, test):
    frame = read_frame(test).assign(predicted_label="x")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with tables.TableWriter(tmp_path / "odd", table.schema) as writer:
        writer.write(table.to_batches()[0])
        writer.commit()
    return tmp_path / "odd"
