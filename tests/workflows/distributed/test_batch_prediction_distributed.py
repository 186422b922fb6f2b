"""batch_predict_distributed end to end: a local run on a LocalCluster against batch_predict, and every task as a pod
(the Dask predict driver run by pyflyte-execute from its serialized arguments, with no scheduler address)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flyte.core.batch.intake import BatchOptions
from flyte.core.data.tables import part_files
from flyte.workflows.batch.pipeline import batch_predict
from flyte.workflows.distributed.batch_pipeline import batch_predict_distributed
from tests.flyte_package import local_executor, package, run_as_pods
from tests.workflows.test_package import DASK_BATCH_WORKFLOW

IMAGE = "localhost:30000/flyte-xgboost:pod-contract"
OPTIONS = BatchOptions(passthrough_columns=["patient_id"], export_csv=True)


def table(sd) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in part_files(Path(sd.uri or sd.literal.uri)))


def test_the_cluster_gives_batch_predicts_table_and_csv():
    """The bundled model on the bundled rows: the same predictions table (IDs in order) and the same CSV."""
    dask = batch_predict_distributed(options=OPTIONS)
    single = batch_predict(options=OPTIONS)
    d, s = table(dask.predictions), table(single.predictions)
    assert d.num_rows == s.num_rows == 100 and d.schema.names == s.schema.names
    assert d.column("patient_id").to_pylist() == s.column("patient_id").to_pylist()
    assert d.column("predicted_label").to_pylist() == s.column("predicted_label").to_pylist()
    for name in [n for n in s.schema.names if n.startswith("probability_")]:
        assert d.column(name).to_pylist() == s.column(name).to_pylist()
    assert Path(dask.csv.download()).read_text() == Path(single.csv.download()).read_text()
    assert dask.metrics is None and dask.drift == single.drift  # the shared check and report stages


def test_every_task_runs_as_a_pod(tmp_path):
    (tmp_path / "package").mkdir()
    pkg = package(IMAGE, tmp_path / "package")
    outputs = run_as_pods(pkg, DASK_BATCH_WORKFLOW, DASK_BATCH_WORKFLOW, tmp_path, local_executor(tmp_path))
    assert sorted(p.name for p in (tmp_path / "pods").iterdir()) == [f"n{i}" for i in range(6)]
    predictions = outputs.literals["predictions"].scalar.structured_dataset.uri
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in part_files(Path(predictions))) == 100
