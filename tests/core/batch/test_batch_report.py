"""Tests for flyte.core.batch.batch_report: the sections, flagged drift marked, hostile names escaped, metrics with labels."""

from __future__ import annotations

import re

import pyarrow as pa

from flyte.core.batch.batch_report import report_batch
from flyte.core.artifact.drift import DriftSummary, FeatureDrift
from flyte.core.batch.intake import CheckSummary
from flyte.core.evaluation.predict import PREDICTED_COLUMN
from flyte.core.artifact.schema import ModelSchema
from flyte.core.data.tables import TableWriter

HOSTILE = "<script>alert(1)</script>"


def write(path, table: pa.Table):
    with TableWriter(path, table.schema) as writer:
        writer.write(table.to_batches()[0])
        writer.commit()
    return path


def setup(tmp_path, with_target: bool):
    schema = ModelSchema(target="y", features=[HOSTILE, "c"], categories={"c": ["a", "b"]}, labels=["n", "p"],
                         feature_importance={HOSTILE: 2.0, "c": 1.0})  # fmt: skip
    columns = {HOSTILE: [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", HOSTILE]}
    if with_target:
        columns["y"] = ["n", "p", "n", "p"]
    table = write(tmp_path / "rows", pa.table(columns))
    predictions = write(tmp_path / "pred", pa.table({PREDICTED_COLUMN: ["n", "p", "p", "p"], "probability_n": [0.9, 0.2, 0.4, 0.1],
                                                      "probability_p": [0.1, 0.8, 0.6, 0.9]}))  # fmt: skip
    checks = CheckSummary(rows=4, has_target=with_target, extra_columns=[HOSTILE + "x"], unseen_categories={"c": 1},
                          unseen_examples={"c": [HOSTILE]}, missing={HOSTILE: 0, "c": 0},
                          class_counts={"n": 2, "p": 2} if with_target else {})  # fmt: skip
    drift = DriftSummary(threshold=0.25, rows=4, reference_rows=10, flagged=[HOSTILE], features=[
        FeatureDrift(feature=HOSTILE, kind="numeric", psi=1.5, flagged=True, bins=["≤ 1", "> 1", "(missing)"],
                     reference_share=[0.5, 0.5, 0.0], batch_share=[0.25, 0.75, 0.0]),
        FeatureDrift(feature="c", kind="categorical", psi=0.01, bins=["a", "b", "(unseen)", "(missing)"],
                     reference_share=[0.5, 0.5, 0, 0], batch_share=[0.5, 0.25, 0.25, 0]),
    ])  # fmt: skip
    return table, predictions, schema, checks, drift


def test_without_labels_the_report_shows_the_check_and_drift_escaped_and_no_metrics(tmp_path):
    result = report_batch(*setup(tmp_path, with_target=False))
    html = result.report_html
    assert result.metrics is None
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Schema check" in html and "Drift against the training rows" in html and "Confusion matrix" not in html
    flagged = re.findall(r'<tr class="flag"><td>([^<]*)</td>', html)
    assert flagged == ["&lt;script&gt;alert(1)&lt;/script&gt;"]  # only the drifted feature's row is marked
    assert "1 (25.0%)" in html  # the unseen category count
    assert "http" not in html.replace("http-equiv", "")  # nothing fetched


def test_with_labels_it_adds_the_training_reports_metrics(tmp_path):
    result = report_batch(*setup(tmp_path, with_target=True))
    assert result.metrics.rows == 4 and result.metrics.accuracy == 0.75
    assert result.metrics.confusion_matrix == [[1, 1], [0, 2]]
    assert "Confusion matrix" in result.report_html and "ROC curve" in result.report_html
    assert "<script>" not in result.report_html
