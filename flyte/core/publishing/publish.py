"""Publishing a trained model: a new model directory holding the fit's files, the model card and the full manifest."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from flyte.core.artifact import provenance
from flyte.core.evaluation.statistics.analytic import analytic_intervals
from flyte.core.evaluation.statistics.bootstrap import Intervals, bootstrap_intervals
from flyte.core.evaluation.statistics.calibration import calibration
from flyte.core.publishing.card_stream import streamed_card_stats
from flyte.core.evaluation.statistics.class_metrics import class_metrics
from flyte.core.data.dataset import DataProfile, DatasetSpec
from flyte.core.common.errors import DataValidationError
from flyte.core.common.files import staged_directory
from flyte.core.common.validation import check_types, require, strict
from flyte.core.training.hyperparameters import Hyperparameters, resolved
from flyte.core.data.leakage import LEAKAGE_FILE, LeakCheck
from flyte.core.artifact.manifest import Manifest, read_manifest, verified_bytes, write_manifest
from flyte.core.publishing.model_card import as_json, render_card
from flyte.core.artifact.schema import MODEL_FILE, SCHEMA_FILE, parse_schema
from flyte.core.evaluation.score import Metrics
from flyte.core.evaluation.scored import check_same_regression_rows, check_same_rows, counted, read_scored
from flyte.core.evaluation.evaluate import regression_figures
from flyte.core.evaluation.score_stream import regression_batches, score_regression_streamed
from flyte.core.evaluation.statistics.regression_intervals import RegressionIntervals, RegressionMoments, regression_intervals
from flyte.core.publishing.regression_card import render_regression_card
from flyte.core.data.split import SplitParams, SplitSummary
from flyte.core.data.tables import num_rows

log = logging.getLogger(__name__)

CARD_FILE = "model_card.html"


@strict
@dataclass(frozen=True)
class CardSettings:
    """How the card's statistics are computed: the publish task's ``card`` input. Unknown keys and wrong types are refused.

    replicates: bootstrap resamples of the test rows for the intervals.
    row_budget: the most rows x replicates the bootstrap may process; past it, fewer replicates are drawn
        (bounding its time on large test sets: about 57 ms a replicate at 1M binary rows).
    min_replicates: the fewest replicates drawn, whatever the budget.
    seed: the bootstrap's random seed (same seed, same intervals); level: the intervals' coverage (a fraction);
        bins: the calibration curve's equal-width bins.
    analytic_rows: from this many test rows on, the intervals are analytic (Wilson, DeLong, delta-method normal:
        analytic.py) instead of bootstrapped, and the rows are read batch by batch (card_stream.py: bounded memory);
        below it, the percentile bootstrap as above, on the rows held in memory. There the two agree closely
        (tests/core/evaluation/statistics/test_analytic.py), and the analytic path costs O(n log n) once, not a pass per resample.
    auc_bins: on the analytic path, the score histogram's bins per class behind DeLong's placements.

    The default budget allows 200 replicates at 1M test rows, about 11 s for a binary target on one core.
    """

    replicates: int = 1000
    row_budget: int = 200_000_000
    min_replicates: int = 100
    seed: int = 0
    level: float = 0.95
    bins: int = 10
    analytic_rows: int = 10_000
    auc_bins: int = 1 << 18

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("replicates", "row_budget", "min_replicates", "bins", "analytic_rows"):
            require(getattr(self, name) >= 1, f"CardSettings.{name} must be at least 1, got {getattr(self, name)}")
        require(self.min_replicates <= self.replicates,
                f"CardSettings.min_replicates ({self.min_replicates}) must not exceed replicates ({self.replicates})")
        require(0 < self.level < 1, f"CardSettings.level must be within (0, 1), got {self.level}")
        require(self.auc_bins >= 2, f"CardSettings.auc_bins must be at least 2, got {self.auc_bins}")

    def replicates_for(self, rows: int) -> int:
        """The replicates drawn for ``rows`` test rows: ``replicates``, fewer past the budget, never under the minimum."""
        return max(self.min_replicates, min(self.replicates, self.row_budget // max(rows, 1)))


class Published(NamedTuple):
    directory: Path
    card_html: str
    manifest: Manifest


def publish_model(
    fit_dir: Path,
    destination: Path,
    test: Path,
    predictions: Path,
    metrics: Metrics,
    profile: DataProfile,
    dataset: DatasetSpec,
    split_params: SplitParams,
    hyperparameters: Hyperparameters,
    template: str,
    execution_id: str,
    settings: CardSettings = CardSettings(),
    environ: dict[str, str] | None = None,
    split: SplitSummary | None = None,
) -> Published:
    """Write the new directory ``destination``, all or nothing: every file ``fit_dir``'s manifest lists (each
    verified against its digest as it is copied), ``model_card.html``, and a manifest of all of them with the
    run's data, settings, metrics and provenance.

    ``test`` / ``predictions`` are the scored test table and its predictions, ``metrics`` what score found on
    them (refused if they disagree: the card would describe other rows). ``execution_id``: the Flyte
    execution, or ``provenance.LOCAL_EXECUTION``; ``environ`` defaults to this process's environment.
    ``split``: what the split did (its rule and class shares), recorded so the gate can tell which rows this
    model trained on; None records nothing, and the gate then treats every row as possibly seen.
    """
    fit_dir, destination = Path(fit_dir), Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination}: already exists; refusing to overwrite a model")
    fit_manifest = read_manifest(fit_dir, [MODEL_FILE, SCHEMA_FILE])
    if CARD_FILE in fit_manifest.files:
        raise DataValidationError(f"{fit_dir}: already holds {CARD_FILE}; publish a fit's model directory, not a published one")
    with staged_directory(destination) as staging:
        names = sorted(fit_manifest.files)
        for name in names:  # copied generically: whatever fit wrote and listed, verified byte for byte
            (staging / name).write_bytes(verified_bytes(fit_dir, fit_manifest, name))
        schema = parse_schema((staging / SCHEMA_FILE).read_bytes(), fit_dir / SCHEMA_FILE)
        leakage = LeakCheck.from_json((staging / LEAKAGE_FILE).read_text(), fit_dir / LEAKAGE_FILE) if LEAKAGE_FILE in names else None
        texts = schema.label_texts
        if profile.target != schema.target or profile.labels != texts or profile.problem_type != schema.problem_type:
            raise DataValidationError(
                f"{fit_dir}: the model predicts {schema.target!r} ({schema.problem_type}) over {texts}, but the profile "
                f"describes {profile.target!r} ({profile.problem_type}) over {profile.labels}: not the data this model was trained on"
            )
        if schema.regression:
            fields, html = _regression_card(schema, test, predictions, metrics, profile, dataset, split_params,
                                            hyperparameters, template, execution_id, environ, split, leakage, settings)  # fmt: skip
            (staging / CARD_FILE).write_text(html, encoding="utf-8")
            manifest = write_manifest(staging, names + [CARD_FILE], **fields)
            return Published(directory=destination, card_html=html, manifest=manifest)
        if num_rows(test) >= settings.analytic_rows:
            started = time.perf_counter()
            stats = streamed_card_stats(test, predictions, schema, settings.level, settings.bins, settings.auc_bins)
            cm = stats.confusion
            counts = Metrics(labels=list(texts), confusion_matrix=cm.tolist(), rows=int(cm.sum()))
            intervals, per_class, curve = stats.intervals, stats.per_class, stats.curve
            log.info("analytic card statistics of %d rows, streamed, in %.2f s", counts.rows, time.perf_counter() - started)
        else:
            y, proba = read_scored(test, predictions, schema.target, texts, schema.label_kind)
            counts = counted(y, proba, texts)
            intervals = card_intervals(y, proba, texts, settings)
            per_class, curve = class_metrics(y, proba, texts), calibration(y, proba, texts, settings.bins)
        check_same_rows(metrics, counts)
        fields = dict(
            data=provenance.summarize(profile),
            dataset=as_json(dataset),
            split_params=as_json(split_params),
            split=as_json(split) if split is not None else {},
            hyperparameters=as_json(resolved(hyperparameters, profile.problem_type)),
            best_iteration=schema.best_iteration,
            metrics=as_json(metrics),
            provenance=provenance.collect(execution_id, environ),
            problem_type=schema.problem_type,
            objective=schema.objective,
        )
        html = render_card(
            template,
            Manifest(**fields),
            profile,
            metrics,
            intervals,
            per_class,
            curve,
            schema.feature_importance,
            leakage,
        )
        (staging / CARD_FILE).write_text(html, encoding="utf-8")
        manifest = write_manifest(staging, names + [CARD_FILE], **fields)
    log.info("published %s: %s, commit %s, execution %s", destination, ", ".join(names + [CARD_FILE]),
             manifest.provenance.git_commit or "unknown", manifest.provenance.execution_id)  # fmt: skip
    return Published(directory=destination, card_html=html, manifest=manifest)


def _regression_card(schema, test, predictions, metrics, profile, dataset, split_params, hyperparameters, template,
                     execution_id, environ, split, leakage, settings: CardSettings) -> tuple[dict, str]:  # fmt: skip
    """The manifest fields and card of a regression model; refuses metrics that are not those of these rows."""
    edges = profile.target_distribution.bin_edges if profile.target_distribution else []
    found, binned = score_regression_streamed(test, predictions, schema, edges)
    check_same_regression_rows(metrics, found.regression)
    fields = dict(
        data=provenance.summarize(profile), dataset=as_json(dataset), split_params=as_json(split_params),
        split=as_json(split) if split is not None else {}, hyperparameters=as_json(resolved(hyperparameters, profile.problem_type)),
        best_iteration=schema.best_iteration, metrics=as_json(metrics), provenance=provenance.collect(execution_id, environ),
        problem_type=schema.problem_type, objective=schema.objective,
    )  # fmt: skip
    found = regression_card_statistics(test, predictions, schema, settings)
    how = (f"{found.method}, {found.replicates} resamples of the test rows, seed {found.seed}" if found.replicates
           else f"{found.method}, from the test rows' moments read in one pass")  # fmt: skip
    html = render_regression_card(template, Manifest(**fields), profile, metrics, binned, schema.feature_importance, leakage,
                                  intervals=_as_intervals(found), level=settings.level, method=how,
                                  figures=regression_card_figures(test, predictions, schema))  # fmt: skip
    return fields, html


def regression_card_intervals(test: Path, predictions: Path, schema, settings: CardSettings = CardSettings()) -> dict[str, tuple[float, float]]:
    """The card's intervals of RMSE, MAE and R² at ``settings.level``: ``{"rmse": (low, high), "mae": ..., "r2": ...}``
    (see ``regression_card_statistics``)."""
    return _as_intervals(regression_card_statistics(test, predictions, schema, settings))


def _as_intervals(found: RegressionIntervals) -> dict[str, tuple[float, float]]:
    return {"rmse": (found.rmse_low, found.rmse_high), "mae": (found.mae_low, found.mae_high), "r2": (found.r2_low, found.r2_high)}


def regression_card_statistics(test: Path, predictions: Path, schema, settings: CardSettings = CardSettings()) -> RegressionIntervals:
    """RMSE, MAE and R² of a regression model's test rows with intervals at ``settings.level``: below
    ``settings.analytic_rows`` rows, the percentile bootstrap of the rows held in memory (settings' replicates,
    seed, row_budget and min_replicates); from there on, analytic normal intervals from RegressionMoments, the
    rows streamed batch by batch in fixed memory."""
    started = time.perf_counter()
    if num_rows(test) >= settings.analytic_rows:
        moments = RegressionMoments()
        for y, prediction in regression_batches(test, predictions, schema):
            moments.add(y, prediction)
        found = moments.intervals(settings.level)
    else:
        pairs = list(regression_batches(test, predictions, schema))
        y, prediction = (np.concatenate([p[i] for p in pairs]) if pairs else np.empty(0) for i in (0, 1))
        found = regression_intervals(y, prediction, settings.replicates, settings.seed, settings.level, settings.row_budget,
                                     settings.min_replicates, settings.analytic_rows)  # fmt: skip
    log.info("regression card intervals of %d rows (%s, %d replicates) in %.2f s", found.rows, found.method,
             found.replicates, time.perf_counter() - started)  # fmt: skip
    return found


def regression_card_figures(test: Path, predictions: Path, schema) -> list[tuple[str, str]]:
    """The card's residual figures (title, svg): the report's (evaluate.regression_figures), streamed the same way."""
    return regression_figures(test, predictions, schema)


def card_intervals(y: np.ndarray, proba: np.ndarray, texts: list[str], settings: CardSettings) -> Intervals:
    """Intervals of rows held in memory: bootstrapped below ``settings.analytic_rows`` test rows, analytic from there
    on (publish itself streams such test sets through card_stream.py instead of holding them)."""
    started = time.perf_counter()
    if len(y) >= settings.analytic_rows:
        intervals = analytic_intervals(y, proba, texts, settings.level)
        log.info("analytic intervals of %d rows in %.2f s", len(y), time.perf_counter() - started)
        return intervals
    replicates = settings.replicates_for(len(y))
    intervals = bootstrap_intervals(y, proba, texts, replicates, settings.seed, settings.level)
    log.info("bootstrap: %d replicates of %d rows in %.2f s", replicates, len(y), time.perf_counter() - started)
    return intervals

