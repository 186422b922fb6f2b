"""The Dask-backed fit against the single-pod fit on the same split, on a local cluster of 2 one-thread workers."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from flyte.core.training.distributed_fit import LABEL_COLUMN, train_distributed
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.model import load_model, save_model
from flyte.core.data.tables import part_files
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, read_frame, split_frame

# Accuracy and log loss of the two fits on the same test rows may differ by at most this much. Why they differ at
# all: the distributed fit merges each worker's quantile sketch into the bins and sums gradients across workers in
# another order, so split points (and early stopping's best round) move a little. Why 0.03: on the ~600-990 test
# rows here one standard error of an accuracy near 0.8 is about 0.015, so 0.03 is two of them: a real defect (wrong
# categories, labels or missing values) costs far more than that, a correct distributed fit stays within it.
TOLERANCE = 0.03


def small_row_groups(directory, rows: int) -> None:
    """Rewrite a table's part with ``rows`` rows per row group, so a tiny table still spreads over both workers."""
    [part] = part_files(directory)
    pq.write_table(pq.read_table(part), part, row_group_size=rows)


def split_for_both_workers(tmp_path, df, target, categorical=()):
    parts, profile = split_frame(tmp_path, df, target, list(categorical))
    small_row_groups(parts["train"], 300)
    small_row_groups(parts["validation"], 100)
    return parts, profile


def scores(model, test_dir, profile):
    """(accuracy, log loss) of ``model`` on the test table."""
    table = pq.read_table(part_files(test_dir)[0])
    proba = model.predict_proba(table)
    code_of = {t: i for i, t in enumerate(profile.labels)}
    y = np.array([code_of[str(v)] for v in table.column(profile.target).to_pylist()])
    accuracy = float((proba.argmax(axis=1) == y).mean())
    log_loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-15, 1)).mean())
    return accuracy, log_loss


@pytest.mark.parametrize(
    "frame,target,categorical",
    [(binary_frame(3000, seed=3), "y", ()), (mixed_frame(3000, seed=4), "label", MIXED_CATEGORICAL)],
    ids=["binary-numeric", "multiclass-categorical-missing"],
)
def test_metrics_are_within_tolerance_of_the_single_pod_fit(tmp_path, dask_client, frame, target, categorical):
    parts, profile = split_for_both_workers(tmp_path, frame, target, categorical)
    params = Hyperparameters()
    distributed = train_distributed(dask_client, parts["train"], parts["validation"], profile, params)
    single = train_model(parts["train"], parts["validation"], profile, params)
    # Both workers held rows: the work was shared, not done by one.
    assert pq.ParquetFile(part_files(parts["train"])[0]).metadata.num_row_groups >= 4
    d_acc, d_loss = scores(distributed, parts["test"], profile)
    s_acc, s_loss = scores(single, parts["test"], profile)
    assert d_acc > 0.7 and s_acc > 0.7  # both learned something: the comparison means something
    assert abs(d_acc - s_acc) <= TOLERANCE, (d_acc, s_acc)
    assert abs(d_loss - s_loss) <= TOLERANCE, (d_loss, s_loss)


def test_schema_matches_the_single_pod_fit_and_the_model_dir_loads(tmp_path, dask_client):
    """Categories (codes in the same order), labels and features as the single-pod fit has them; the saved
    directory loads with model.load_model and predicts rows with missing values and unseen categories."""
    parts, profile = split_for_both_workers(tmp_path, mixed_frame(1500, seed=5), "label", MIXED_CATEGORICAL)
    params = Hyperparameters(max_rounds=40)
    distributed = train_distributed(dask_client, parts["train"], parts["validation"], profile, params)
    single = train_model(parts["train"], parts["validation"], profile, params)
    for field in ("target", "features", "categories", "labels", "label_kind", "xgboost_version"):
        assert getattr(distributed.schema, field) == getattr(single.schema, field), field
    assert distributed.schema.categories["colour"] == ["blue", "green", "red"]
    assert 0 <= distributed.schema.best_iteration < 40
    assert distributed.booster.num_boosted_rounds() == distributed.schema.best_iteration + 1
    assert set(distributed.schema.feature_importance) == set(profile.feature_columns)
    assert distributed.schema.feature_importance["x1"] > 0
    # The drift reference batch prediction reads: under EDGE_SAMPLE_ROWS every value is sampled, so the workers'
    # edges and counts equal the single-pod fit's exactly.
    assert distributed.reference is not None and distributed.reference.rows == single.reference.rows
    assert distributed.reference == single.reference

    directory = save_model(distributed, tmp_path / "model")
    assert (directory / "reference.json").read_bytes() == save_model(single, tmp_path / "single").joinpath("reference.json").read_bytes()
    loaded = load_model(directory)
    rows = read_frame(parts["test"]).head(50)
    assert rows["x2"].isna().any() and rows["colour"].isna().any()  # missing values are predicted too
    rows.loc[rows.index[:3], "colour"] = "purple"  # a category never seen in training
    import pyarrow as pa

    proba = loaded.predict_proba(pa.Table.from_pandas(rows, preserve_index=False))
    assert proba.shape == (50, 3) and np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba, distributed.predict_proba(pa.Table.from_pandas(rows, preserve_index=False)))


def test_a_label_outside_the_profile_is_refused_naming_it(tmp_path, dask_client):
    parts, profile = split_for_both_workers(tmp_path, binary_frame(600), "y")
    profile.labels = ["0"] + ["7"]  # the table's class 1 is unknown to this profile
    with pytest.raises(DataValidationError, match=r"target column .y.: label .1. is not one of the known labels"):
        train_distributed(dask_client, parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=5))


def test_the_reserved_label_column_name_is_refused(tmp_path, dask_client):
    df = binary_frame(600).rename(columns={"b": LABEL_COLUMN})
    parts, profile = split_frame(tmp_path, df, "y")
    with pytest.raises(DataValidationError, match="reserved"):
        train_distributed(dask_client, parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=5))


def test_a_worker_partition_becomes_one_float32_matrix_typed_as_feature_frame_without_a_pandas_frame(monkeypatch):
    """What a worker keeps per partition: features as feature_frame types them (category codes in the sorted
    training categories, NaN for missing or unseen) and the class code last, in float32; no pandas frame is built."""
    import pandas as pd
    import pyarrow as pa

    from flyte.core.training.distributed_fit import _matrix_partition
    from flyte.core.artifact.model import ModelSchema, TrainedModel

    schema = ModelSchema(
        target="label", features=["x", "colour"], categories={"colour": ["blue", "red"]},
        labels=["a", "b"], label_kind="str", xgboost_version="",
    )  # fmt: skip
    frame = pd.DataFrame(
        {"x": [0.5, None, 2.25, 1e10], "colour": ["red", None, "purple", "blue"], "label": ["b", "a", "a", "b"]}
    ).convert_dtypes(dtype_backend="pyarrow")
    expected = TrainedModel(booster=None, schema=schema).feature_frame(pa.Table.from_pandas(frame, preserve_index=False))
    built = []
    original_init = pd.DataFrame.__init__
    monkeypatch.setattr(pd.DataFrame, "__init__", lambda self, *a, **k: built.append(1) or original_init(self, *a, **k))
    out = _matrix_partition(frame, schema, {"a": 0, "b": 1}, "train")
    assert not built
    assert out.dtype == np.float32 and out.shape == (4, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out[:, 0], expected["x"].to_numpy(dtype=np.float32))
    codes = expected["colour"].cat.codes.to_numpy().astype(np.float32)
    np.testing.assert_array_equal(out[:, 1], np.where(codes < 0, np.nan, codes))
    np.testing.assert_array_equal(out[:, 2], [1, 0, 0, 1])


def test_the_workers_are_fed_float32_arrays_computed_once_and_released_after_the_fit(tmp_path, dask_client, monkeypatch):
    """XGBoost receives float32 dask arrays sliced from already persisted partitions (so features and label are not
    each computed from Parquet again), and no partition stays on a worker once the model is returned."""
    from xgboost import dask as dxgb

    fed = []
    real = dxgb.DaskQuantileDMatrix

    def spy(client_, data, label, **kwargs):
        fed.append((data, label, kwargs))
        return real(client_, data, label, **kwargs)

    monkeypatch.setattr(dxgb, "DaskQuantileDMatrix", spy)
    parts, profile = split_for_both_workers(tmp_path, mixed_frame(1500, seed=6), "label", MIXED_CATEGORICAL)
    before = sum(dask_client.run(lambda dask_worker: len(dask_worker.data)).values())  # other tests' keys, if any
    train_distributed(dask_client, parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=10))
    assert len(fed) == 2
    for data, label, kwargs in fed:
        assert data.dtype == np.float32 and label.dtype == np.float32 and data.ndim == 2 and label.ndim == 1
        from distributed import Future

        for collection in (data, label):
            tasks = dict(collection.__dask_graph__())
            # Every partition already persisted (a Future); what is left to run is only the column slice.
            inputs = [k for k, v in tasks.items() if not str(k).startswith("('getitem")]
            assert inputs and all(isinstance(tasks[k], Future) for k in inputs), [(k, type(tasks[k])) for k in inputs][:3]
        assert kwargs["feature_types"].count("c") == len(MIXED_CATEGORICAL)
    del fed, data, label, collection  # the test's own references to the partitions
    import gc
    import time

    gc.collect()
    for _ in range(50):  # the scheduler forgets released keys asynchronously
        held = sum(dask_client.run(lambda dask_worker: len(dask_worker.data)).values())
        if held <= before:
            break
        time.sleep(0.1)
    assert held <= before, (held, before)
