"""The report's residual figures come from the Parquet batches streamed through a ResidualSketch, never the whole table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import flyte.core.evaluation.evaluate as evaluate_module
from flyte.core.artifact.schema import ModelSchema
from flyte.core.data.tables import TableWriter
from flyte.core.evaluation.evaluate import regression_figures
from flyte.core.evaluation.predict import PREDICTION_COLUMN
from flyte.core.evaluation.regression_plots import sketch_plots


def write(path, table: pa.Table, group: int) -> None:
    with TableWriter(path, table.schema, row_group_rows=group) as w:
        for batch in table.to_batches(max_chunksize=group):
            w.write(batch)
        w.commit()


def test_the_figures_stream_batch_by_batch_and_equal_the_in_memory_ones(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    y = rng.normal(50, 10, size=3_000)
    pred = y + rng.normal(0, 3, size=3_000)
    write(tmp_path / "test", pa.table({"y": y, "x": np.zeros(3_000)}), 700)
    write(tmp_path / "predictions", pa.table({PREDICTION_COLUMN: pred}), 1_000)  # batches that never align
    sizes = []
    added = evaluate_module.ResidualSketch.add
    monkeypatch.setattr(evaluate_module.ResidualSketch, "add", lambda self, a, p: (sizes.append(len(a)), added(self, a, p)))
    schema = ModelSchema(target="y", features=["x"], problem_type="regression", label_kind="float")
    figures = regression_figures(tmp_path / "test", tmp_path / "predictions", schema)
    assert sum(sizes) == 3_000 and max(sizes) <= 700 and len(sizes) > 4
    assert [title for title, _ in figures] == ["Predicted against actual", "Residual distribution", "Residuals against predicted"]
    # The same rows folded in the same batches draw the same figures (a one-batch sketch may grid them otherwise).
    sketch, start = evaluate_module.ResidualSketch(), 0
    for n in sizes:
        added(sketch, y[start : start + n], pred[start : start + n])
        start += n
    assert [svg for _, svg in figures] == list(sketch_plots(sketch, "y"))
    assert sketch.actual_by_predicted.sum() == 3_000 and "role=\"img\"" in figures[0][1]
