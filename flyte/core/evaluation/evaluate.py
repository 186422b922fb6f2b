"""Stage 5 on tables: read only the target and probability columns, score them, and render the report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile
from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.predict import probability_column
from flyte.core.evaluation.report import render_report
from flyte.core.evaluation.regression_report import Figure, render_regression_report
from flyte.core.artifact.schema import ModelSchema
from flyte.core.evaluation.score import Metrics, RocCurve, roc_curves, score_predictions
from flyte.core.evaluation.regression_plots import ResidualSketch, sketch_plots
from flyte.core.evaluation.score_stream import ScoreSettings, regression_batches, score_regression_streamed, score_streamed
from flyte.core.data.tables import num_rows, read_columns

log = logging.getLogger(__name__)


class Evaluation(NamedTuple):
    metrics: Metrics
    report_html: str


def evaluate(
    test: Path, predictions: Path, schema: ModelSchema, profile: DataProfile, settings: ScoreSettings = ScoreSettings()
) -> Evaluation:
    """Metrics and the HTML report for the predictions of the model described by ``schema`` on ``test``.

    Below ``settings.exact_rows`` rows, holds the true class codes and the probabilities of the scored rows (a few
    bytes a row per class), never the feature columns; from there on, one batch at a time (score_stream.py).
    """
    if schema.regression:
        edges = profile.target_distribution.bin_edges if profile.target_distribution else []
        metrics, binned = score_regression_streamed(test, predictions, schema, edges)
        html = render_regression_report(metrics, binned, schema.feature_importance, profile, regression_figures(test, predictions, schema))
        return Evaluation(metrics=metrics, report_html=html)
    metrics, curves = score_tables(test, predictions, schema, settings)
    html = render_report(metrics, curves, schema.feature_importance, profile)
    return Evaluation(metrics=metrics, report_html=html)


def score_tables(
    test: Path, predictions: Path, schema: ModelSchema, settings: ScoreSettings = ScoreSettings()
) -> tuple[Metrics, list[RocCurve]]:
    """Metrics and ROC curves of ``predictions`` against the true labels in ``test`` (same rows, same order):
    exact below ``settings.exact_rows`` rows, streamed with histogram AUCs from there on. A regression model's
    (no curves) is always streamed: its memory is bounded and its metrics exact up to a million rows."""
    if schema.regression:
        return score_regression_streamed(test, predictions, schema)[0], []
    if num_rows(test) >= settings.exact_rows:
        return score_streamed(test, predictions, schema, settings)
    texts = schema.label_texts
    y = lbl.read_codes(test, schema.target, texts, schema.label_kind)
    proba_table = read_columns(predictions, [probability_column(t) for t in texts])
    if proba_table.num_rows != len(y):
        raise DataValidationError(f"{len(y)} true labels but {proba_table.num_rows} predictions")
    proba = np.column_stack([proba_table.column(i).to_numpy() for i in range(proba_table.num_columns)])
    del proba_table
    curves = roc_curves(y, proba, texts)
    metrics = score_predictions(y, proba, texts, aucs={c.label: c.auc for c in curves})  # each class sorted once
    log.info("scored %d rows: accuracy %.4f, ROC AUC %.4f, log loss %.4f", metrics.rows, metrics.accuracy, metrics.roc_auc, metrics.log_loss)
    return metrics, curves


def regression_figures(test: Path, predictions: Path, schema: ModelSchema) -> list[Figure]:
    """The residual figures of a regression model's ``predictions`` on ``test`` as (title, svg) pairs: predicted
    against actual, the residual distribution, residuals against predicted (a residual is actual - predicted).

    The rows stream through a ResidualSketch batch by batch: memory is its fixed bin grids (and, up to its
    max_points rows, the rows themselves, drawn as points) whatever the row count."""
    sketch = ResidualSketch()
    for y, prediction in regression_batches(test, predictions, schema):
        sketch.add(y, prediction)
    plots = sketch_plots(sketch, schema.target)
    return [
        ("Predicted against actual", plots.predicted_vs_actual),
        ("Residual distribution", plots.residual_histogram),
        ("Residuals against predicted", plots.residuals_vs_predicted),
    ]
