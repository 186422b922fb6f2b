"""The object-store paths against a real S3-protocol server on 127.0.0.1 (tests/s3_server.py), reached as a pod
reaches its store (FLYTE_AWS_* only): a training run reading its dataset from s3:// and promoting into an s3://
registry, batch prediction fetching that champion from s3://, and Dask workers reading and writing s3:// Parquet."""

from __future__ import annotations

import json
import pandas as pd
import pyarrow.parquet as pq
import pytest

from flyte.core.data.dataset import local_path, pima_spec, pima_new_rows_spec
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.registry.registry import Registry
from flyte.core.registry.names import entry_location
from flyte.core.data.tables import part_files
from tests.data_factory import binary_frame, split_frame
from tests.s3_server import close_async_clients, s3, s3_as_a_pod, s3_server  # noqa: F401 (fixtures)

FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=10)


def test_train_from_s3_promote_into_s3_and_score_with_that_champion(s3_as_a_pod, tmp_path):
    from flyte.workflows.batch.pipeline import batch_predict
    from flyte.workflows.training.tasks import fingerprint
    from flyte.workflows.training.pipeline import training_pipeline

    s3 = s3_as_a_pod
    data = local_path(pima_spec().source).read_bytes()
    s3.fs.pipe_file(s3.url("data/pima.csv"), data)
    spec = pima_spec()
    spec.source = s3.url("data/pima.csv")
    identity = json.loads(fingerprint(dataset=spec).identity)
    assert identity["url"] == spec.source and identity["ETag"] and identity["size"] == str(len(data))

    registry = s3.url("registry")
    out = training_pipeline(dataset=spec, hyperparameters=FAST, registry=registry)
    assert out.decision.model_name == "pima" and out.decision.promote, out.decision.reasons
    entry = Registry(entry_location(registry, "pima"), {"endpoint_url": s3.endpoint, "key": "testing", "secret": "testing"})
    assert entry.champion().version == out.decision.promoted_version
    assert s3.fs.exists(s3.url(f"registry/pima/versions/{out.decision.promoted_version}/model.ubj"))
    # A second model is judged against that champion, fetched from the store by the judge task.
    again = training_pipeline(dataset=spec, hyperparameters=Hyperparameters(max_rounds=20, early_stopping_rounds=5), registry=registry)
    assert again.decision.comparison.compared and again.decision.champion_version == out.decision.promoted_version

    scored = batch_predict(model=registry, model_name="pima", dataset=pima_new_rows_spec())
    predictions = scored.predictions.open(pd.DataFrame).all()
    assert len(predictions) == 100 and scored.drift.rows == 100

    # The source changed on the store: a new ETag, so a new fingerprint (ingest reads it again).
    s3.fs.pipe_file(s3.url("data/pima.csv"), data + data[-200:])
    assert json.loads(fingerprint(dataset=spec).identity)["ETag"] != identity["ETag"]


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="1GiB") as c:
        with Client(c) as client:
            yield client


def test_dask_workers_read_and_write_s3_parquet(s3_as_a_pod, cluster, tmp_path):
    """The workers read the split's parts from s3:// and write the predictions' parts there, with the storage
    options flytekit gives the driver (distributed_tasks.table_location), as on a cluster."""
    from flytekit.configuration import DataConfig
    from flytekit.core.data_persistence import get_fsspec_storage_options

    from flyte.core.training.distributed_fit import train_distributed
    from flyte.core.batch.distributed_predict import predict_distributed

    s3 = s3_as_a_pod
    parts, profile = split_frame(tmp_path, binary_frame(2000, seed=5), "y")
    for name in ("train", "validation", "test"):
        (part,) = part_files(parts[name])
        pq.write_table(pq.read_table(part), tmp_path / f"{name}.parquet", row_group_size=200)  # partitions for both workers
        s3.fs.put_file(str(tmp_path / f"{name}.parquet"), s3.url(f"split/{name}/part-0.parquet"))
    options = get_fsspec_storage_options("s3", DataConfig.auto())
    assert options["client_kwargs"]["endpoint_url"] == s3.endpoint  # from FLYTE_AWS_ENDPOINT, nothing else
    model = train_distributed(cluster, s3.url("split/train"), s3.url("split/validation"), profile, FAST, storage_options=options)
    assert model.schema.features == profile.feature_columns
    rows = predict_distributed(cluster, model, s3.url("split/test"), s3.url("predictions"), [], storage_options=options)
    test_rows = pq.read_table(tmp_path / "test.parquet").num_rows
    assert rows == test_rows
    written = s3.fs.find(s3.url("predictions"))
    assert written and sum(pq.ParquetFile(s3.fs.open(p)).metadata.num_rows for p in written) == test_rows


def test_the_clients_flytekit_opens_on_its_loop_are_closed(s3_as_a_pod, tmp_path):
    """flytekit reads through an asynchronous s3fs client on its own event loop; the fixture's teardown closes it,
    so no "Unclosed client session" ERROR follows the test summary."""
    import s3fs
    from flytekit import FlyteContextManager

    s3 = s3_as_a_pod
    s3.fs.pipe_file(s3.url("data/a.csv"), b"a,b\n1,2\n")
    FlyteContextManager.current_context().file_access.get_data(s3.url("data/a.csv"), str(tmp_path / "a.csv"))
    assert (tmp_path / "a.csv").read_bytes() == b"a,b\n1,2\n"
    opened = [fs._s3 for fs in s3fs.S3FileSystem._cache.values() if fs.asynchronous and fs._s3 is not None]
    assert opened, "flytekit read without an asynchronous client: nothing here to close"
    # aiobotocore keeps its aiohttp sessions per client, by proxy (the lock pins its version)
    sessions = [s for client in opened for s in (client._endpoint.http_session._sessions or {}).values()]
    assert sessions and not any(session.closed for session in sessions)
    close_async_clients()
    assert all(session.closed for session in sessions)
