"""Tests for flyte.core.batch.batch: predictions with passthrough columns and the CSV export, all or nothing."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from flyte.core.batch.batch import export_csv, predict_rows
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.batch.intake import BatchOptions
from flyte.core.data.tables import TableWriter
from tests.data_factory import MIXED_CATEGORICAL, mixed_frame, read_frame, split_frame


def test_predict_rows_writes_the_table_and_the_same_rows_as_csv(tmp_path):
    parts, profile = split_frame(tmp_path, mixed_frame(), "label", MIXED_CATEGORICAL)
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=10))
    rows = predict_rows(model, parts["test"], tmp_path / "out", BatchOptions(passthrough_columns=["size"]), tmp_path / "out.csv")
    table, csv = read_frame(tmp_path / "out"), pd.read_csv(tmp_path / "out.csv")
    assert rows == len(table) == len(csv)
    assert list(csv.columns) == list(table.columns) and csv["size"].tolist() == table["size"].tolist()
    pd.testing.assert_series_equal(csv["probability_beta"], table["probability_beta"])


def test_export_refuses_to_overwrite_and_leaves_no_partial_file(tmp_path):
    table = pa.table({"id": ["a", "b"], "p": [0.1, 0.9]})
    with TableWriter(tmp_path / "t", table.schema) as writer:
        writer.write(table.to_batches()[0])
        writer.commit()
    export_csv(tmp_path / "t", tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ['"id","p"', '"a",0.1', '"b",0.9']
    with pytest.raises(FileExistsError):
        export_csv(tmp_path / "t", tmp_path / "t.csv")
    with pytest.raises(FileNotFoundError):
        export_csv(tmp_path / "absent", tmp_path / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t", "t.csv"]
