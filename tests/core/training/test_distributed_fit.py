"""The Dask-backed fit against the single-pod fit on the same split, on a local cluster of 2 one-thread workers."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from flyte.core.training.distributed_fit import train_distributed
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


@pytest.mark.parametrize("train_groups,validation_groups", [(1, 1), (5, 1)], ids=["one-row-group", "validation-on-one-worker"])
def test_a_worker_holding_no_rows_still_joins_and_the_model_is_as_good(tmp_path, dask_client, train_groups, validation_groups):
    """Fewer row groups than workers (a small table is one row group): the worker with none trains on an empty
    matrix in the same collective, and the model is the one the rows give."""
    parts, profile = split_frame(tmp_path, binary_frame(3000, seed=3), "y")
    for name, groups in (("train", train_groups), ("validation", validation_groups)):
        [part] = part_files(parts[name])
        table = pq.read_table(part)
        pq.write_table(table, part, row_group_size=-(-table.num_rows // groups))
    params = Hyperparameters(max_rounds=60)
    distributed = train_distributed(dask_client, parts["train"], parts["validation"], profile, params)
    single = train_model(parts["train"], parts["validation"], profile, params)
    (d_acc, _), (s_acc, _) = scores(distributed, parts["test"], profile), scores(single, parts["test"], profile)
    assert d_acc > 0.7 and abs(d_acc - s_acc) <= TOLERANCE, (d_acc, s_acc)


def test_no_rows_stay_on_the_workers_after_the_fit(tmp_path, dask_client):
    """The workers read their row groups into XGBoost themselves: nothing is persisted in Dask for the fit, and
    what the categories, labels and drift reference computed through Dask is released when the model is returned."""
    import time

    parts, profile = split_for_both_workers(tmp_path, mixed_frame(1500, seed=6), "label", MIXED_CATEGORICAL)
    before = sum(dask_client.run(lambda dask_worker: len(dask_worker.data)).values())  # other tests' keys, if any
    model = train_distributed(dask_client, parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=10))
    assert model.booster.num_boosted_rounds() >= 1
    for _ in range(50):  # the scheduler forgets released keys asynchronously
        held = sum(dask_client.run(lambda dask_worker: len(dask_worker.data)).values())
        if held <= before:
            break
        time.sleep(0.1)
    assert held <= before, (held, before)
