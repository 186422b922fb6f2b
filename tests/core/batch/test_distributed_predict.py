"""Batch prediction on a Dask cluster against the single-pod predict: the same table, row for row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.batch.distributed_predict import predict_distributed
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.evaluation.predict import predict_table
from flyte.core.data.tables import part_files
from tests.data_factory import MIXED_CATEGORICAL, mixed_frame, split_frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("dask-predict")
    parts, profile = split_frame(work, mixed_frame(1500, seed=5), "label", MIXED_CATEGORICAL)
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=30))
    # An ID to pass through, and small row groups so the rows spread over both workers.
    test = pq.read_table(part_files(parts["test"])[0])
    test = test.append_column("row_id", pa.array([f"r{i:04d}" for i in range(test.num_rows)]))
    pq.write_table(test, part_files(parts["test"])[0], row_group_size=50)
    return model, parts["test"]


def test_the_cluster_predicts_the_single_pod_table_row_for_row(dask_client, trained, tmp_path):
    model, test = trained
    rows = predict_distributed(dask_client, model, test, tmp_path / "dask", ["row_id"])
    single_rows = predict_table(model, test, tmp_path / "single", passthrough=["row_id"])
    assert rows == single_rows and len(part_files(tmp_path / "dask")) > 2  # shared over partitions
    dask = pa.concat_tables(pq.read_table(p) for p in part_files(tmp_path / "dask"))
    single = pa.concat_tables(pq.read_table(p) for p in part_files(tmp_path / "single"))
    assert dask.schema.names == single.schema.names == ["row_id", "predicted_label", "probability_alpha", "probability_beta", "probability_gamma"]
    assert dask.column("row_id").to_pylist() == single.column("row_id").to_pylist()  # the rows' order is kept
    assert dask.column("predicted_label").to_pylist() == single.column("predicted_label").to_pylist()
    for name in single.schema.names[2:]:
        assert dask.column(name).to_pylist() == pytest.approx(single.column(name).to_pylist(), abs=1e-12)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_an_absent_or_clashing_passthrough_column_is_refused_and_nothing_is_written(dask_client, trained, tmp_path):
    model, test = trained
    with pytest.raises(DataValidationError, match=r"no column\(s\) \['nope'\]"):
        predict_distributed(dask_client, model, test, tmp_path / "out", ["nope"])
    assert not (tmp_path / "out").exists()
