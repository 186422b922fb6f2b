"""The Dask-backed fit of a regression target against the single-pod fit on the same split (2 local one-thread workers)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from flyte.core.artifact.model import load_model, save_model
from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import part_files
from flyte.core.training.distributed_fit import train_distributed
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from tests.data_factory import regression_frame, split_frame


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    df = regression_frame(2000, seed=4)
    parts, profile = split_frame(tmp_path_factory.mktemp("reg"), df, "y", ["colour"], problem_type="regression")
    for name, rows in (("train", 200), ("validation", 80)):  # several row groups: both workers hold rows
        [part] = part_files(parts[name])
        pq.write_table(pq.read_table(part), part, row_group_size=rows)
    return parts, profile


def rmse(model, test_dir) -> float:
    table = pq.read_table(part_files(test_dir)[0])
    y = table.column("y").to_numpy()
    return float(np.sqrt(np.mean((model.predict_values(table) - y) ** 2)))


def test_regression_rmse_is_near_the_single_pod_fit(tmp_path, dask_client, split):
    parts, profile = split
    params = Hyperparameters(learning_rate=0.3)
    distributed = train_distributed(dask_client, parts["train"], parts["validation"], profile, params)
    single = train_model(parts["train"], parts["validation"], profile, params)
    assert distributed.schema.problem_type == "regression" and distributed.schema.objective == "reg:squarederror"
    d, s = rmse(distributed, parts["test"]), rmse(single, parts["test"])
    # Noise sd 0.5: both near it; merged sketches move split points a little, so not equal.
    assert d < 0.8 and s < 0.8 and abs(d - s) < 0.1, (d, s)
    loaded = load_model(save_model(distributed, tmp_path / "model"))
    assert loaded.schema.problem_type == "regression"


def test_poisson_on_a_negative_target_is_refused_before_any_work(tmp_path, dask_client):
    df = regression_frame(400)
    df.loc[::50, "y"] = -1.0
    parts, profile = split_frame(tmp_path, df, "y", ["colour"], problem_type="regression")
    with pytest.raises(DataValidationError, match=r"objective 'poisson' needs every target 0 or more: target 'y' holds 8 value\(s\) below 0, the lowest -1"):
        train_distributed(dask_client, parts["train"], parts["validation"], profile, Hyperparameters(objective="poisson"))
