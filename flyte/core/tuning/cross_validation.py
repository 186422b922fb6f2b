"""Stratified k-fold cross-validation of one trial over the train and validation parts, read batch by batch."""

# The test part is not an argument of anything here: the search sees the train and validation rows only, so the
# final score on the test rows stays an honest estimate of the tuned model.

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import xgboost as xgb

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import _categories, booster_params
from flyte.core.training.hyperparameters import objective_settings
from flyte.core.data.target import REGRESSION, bin_names, bin_of, read_values, values as target_values
from flyte.core.evaluation.regression_metrics import regression_metrics
from flyte.core.artifact.model import ModelSchema, TrainedModel
from flyte.core.evaluation.score import score_predictions
from flyte.core.tuning.search import CrossValidation, Trial, TrialResult
from flyte.core.data.tables import iter_batches

log = logging.getLogger(__name__)


def assign_folds(y: np.ndarray, folds: int, seed: int, labels: list[str] | None = None) -> np.ndarray:
    """For each row, its fold (0..folds-1), given only the class codes ``y``: one byte a row.

    Exact and stratified: each class's rows are shared among the folds as evenly as possible (sizes differ by at
    most one), and the classes' leftover rows go to the folds that have fewest so far, so fold sizes differ by at
    most one too. Within a class, which rows go where is a seeded uniform shuffle: the same seed and codes always
    give the same folds. Every class needs at least ``folds`` rows, so that every fold holds each class;
    ``labels`` (by code) name the classes in that error.
    """
    if not 2 <= folds <= 127:
        raise ValueError(f"folds must be between 2 and 127, got {folds}")
    n = len(y)
    counts = np.bincount(y, minlength=int(y.max()) + 1 if n else 0).astype(np.int64)
    short = [int(k) for k in np.flatnonzero(counts) if counts[k] < folds]
    if short:
        names = [labels[k] for k in short] if labels else short
        raise DataValidationError(
            f"cannot cross-validate with {folds} folds: class(es) {names} have only {[int(counts[k]) for k in short]} "
            "row(s) in the train and validation parts; every class needs a row in every fold",
            hint="lower the search's folds, or give the rare class more rows",
        )
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.int8)
    totals = np.zeros(folds, dtype=np.int64)
    for k in np.flatnonzero(counts):
        # Even shares per fold; the leftover rows of this class go to the folds with the fewest rows so far
        # (lowest fold first on ties), which keeps the fold totals within one row of each other.
        sizes = np.full(folds, counts[k] // folds, dtype=np.int64)
        order = np.lexsort((np.arange(folds), totals))
        sizes[order[: int(counts[k] % folds)]] += 1
        totals += sizes
        codes = np.repeat(np.arange(folds, dtype=np.int8), sizes)
        rng.shuffle(codes)
        out[y == k] = codes
    return out


def fold_assignment(parts: list[Path], profile: DataProfile, cv: CrossValidation) -> np.ndarray:
    """The fold of every row of ``parts`` read one after the other (train first, then validation)."""
    if profile.problem_type == REGRESSION:  # stratified over the target's quantile bins instead of classes
        edges = profile.target_distribution.bin_edges
        y = np.concatenate([bin_of(read_values(p, profile.target), edges) for p in parts])
        return assign_folds(y, cv.folds, cv.seed, [f"target bin {b}" for b in bin_names(edges)])
    y = np.concatenate([lbl.read_codes(p, profile.target, profile.labels, profile.label_kind) for p in parts])
    return assign_folds(y, cv.folds, cv.seed, profile.labels)


class _FoldIter(xgb.DataIter):
    """Feeds XGBoost the rows of ``parts`` whose fold is in ``keep``, batch by batch."""

    def __init__(self, parts: list[Path], folds: np.ndarray, keep: set[int], model: TrainedModel, code_of: dict[str, int]):
        super().__init__(release_data=True)
        self.parts, self.folds, self.keep, self.model, self.code_of = parts, folds, keep, model, code_of
        self._batches = None

    def next(self, input_data) -> bool:
        if self._batches is None:
            self._batches = _selected(self.parts, self.folds, self.keep, self.model.schema)
        batch = next(self._batches, None)
        if batch is None:
            return False
        target = batch.column(self.model.schema.target)
        y = target_values(target, "target") if self.model.schema.regression else lbl.codes(target, self.model.schema.label_kind, self.code_of)
        input_data(data=self.model.feature_frame(batch), label=y)
        return True

    def reset(self) -> None:
        self._batches = None


def _selected(parts: list[Path], folds: np.ndarray, keep: set[int], schema: ModelSchema):
    """The batches of ``parts``, in order, reduced to the rows whose fold is in ``keep`` (empty batches skipped)."""
    wanted = np.isin(np.arange(folds.max() + 1 if len(folds) else 0), sorted(keep))
    offset = 0
    for part in parts:
        for batch in iter_batches(part, columns=[*schema.features, schema.target], dictionary=[schema.target]):
            mask = wanted[folds[offset : offset + batch.num_rows]]
            offset += batch.num_rows
            if mask.any():
                yield batch.filter(pa.array(mask))
    if offset != len(folds):
        raise DataValidationError(f"{parts}: read {offset} rows but the folds cover {len(folds)}")


def cross_validate(
    train: Path, validation: Path, profile: DataProfile, trial: Trial, cv: CrossValidation, n_threads: int = 1
) -> TrialResult:
    """Score ``trial`` by stratified k-fold cross-validation over the train and validation rows.

    For held-out fold f, the booster trains on every fold but f and f+1 (mod k), early-stops on fold f+1 and is
    scored on fold f. Early stopping on the scored fold would pick the round count by the very rows that score
    it, an optimistic leak that favours configurations with noisy curves; using the next fold instead mirrors
    the refit (trained on train, early-stopped on validation, scored on test rows it never saw). Each fit sees
    (k-2)/k of the rows, so the folds' log losses rank configurations; they are not the refit's expected loss.

    The tables are read batch by batch into XGBoost's quantised matrices, as ``fit.train_model`` does; only
    the class codes, the folds (one byte a row each) and the scored fold's probabilities are held whole.
    """
    parts = [train, validation]
    folds = fold_assignment(parts, profile, cv)
    params = trial.hyperparameters
    code_of = {text: i for i, text in enumerate(profile.labels)}
    labels = [lbl.typed(text, profile.label_kind) for text in profile.labels]
    # The category vocabulary of all CV rows: it carries no label, and keeps every fold's columns alike.
    categories = _categories(train, profile.categorical_columns)
    for column, values in _categories(validation, profile.categorical_columns).items():
        categories[column] = sorted(set(categories[column]) | set(values))
    schema = ModelSchema(
        target=profile.target, features=list(profile.feature_columns), categories=categories,
        labels=labels, label_kind=profile.label_kind, xgboost_version=xgb.__version__, problem_type=profile.problem_type,
    )  # fmt: skip
    model = TrainedModel(booster=xgb.Booster(), schema=schema)
    regression = schema.regression
    settings = booster_params(params, n_classes=len(labels), n_threads=n_threads, regression=regression)
    if regression:
        settings.update(objective_settings(params, True, 0, profile.target_distribution.std if profile.target_distribution else 1.0))
    losses, accuracies, aucs, r2s, rounds = [], [], [], [], []
    k = cv.folds
    for f in range(k):
        stop_fold = (f + 1) % k
        train_folds = set(range(k)) - {f, stop_fold}
        dtrain = xgb.QuantileDMatrix(
            _FoldIter(parts, folds, train_folds, model, code_of), max_bin=params.max_bin, nthread=n_threads,
            enable_categorical=True,
        )  # fmt: skip
        dstop = xgb.QuantileDMatrix(
            _FoldIter(parts, folds, {stop_fold}, model, code_of), max_bin=params.max_bin, nthread=n_threads,
            enable_categorical=True, ref=dtrain,
        )  # fmt: skip
        dscore = xgb.QuantileDMatrix(
            _FoldIter(parts, folds, {f}, model, code_of), max_bin=params.max_bin, nthread=n_threads,
            enable_categorical=True, ref=dtrain,
        ) if regression else None  # fmt: skip
        booster = xgb.train(
            settings, dtrain,
            num_boost_round=params.max_rounds, evals=[(dstop, "stop")],
            early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False,
        )  # fmt: skip
        del dtrain, dstop
        best = int(booster.best_iteration)
        scored = TrainedModel(booster=booster[: best + 1], schema=schema)
        if regression:
            loss, r2 = _regression_fold(scored, dscore, parts, folds, f)
            losses.append(loss)
            r2s.append(r2)
            rounds.append(best + 1)
            log.info("trial %d fold %d/%d: %s %.4f after %d rounds", trial.index, f + 1, k, settings["eval_metric"], loss, best + 1)
            continue
        y, proba = [], []
        for batch in _selected(parts, folds, {f}, schema):
            y.append(lbl.codes(batch.column(schema.target), schema.label_kind, code_of))
            proba.append(scored.predict_proba(batch))
        metrics = score_predictions(np.concatenate(y), np.concatenate(proba), profile.labels)
        losses.append(metrics.log_loss)
        accuracies.append(metrics.accuracy)
        aucs.append(metrics.roc_auc)
        rounds.append(best + 1)
        log.info("trial %d fold %d/%d: log loss %.4f after %d rounds", trial.index, f + 1, k, metrics.log_loss, best + 1)
    mean = float(np.mean(losses))
    std = float(np.std(losses, ddof=1)) if k > 1 else 0.0
    if not math.isfinite(mean):
        raise DataValidationError(f"trial {trial.index}: cross-validation {settings['eval_metric']} is not finite ({losses})")
    return TrialResult(
        index=trial.index, hyperparameters=params, mean_log_loss=mean, std_log_loss=std, fold_log_loss=losses,
        fold_accuracy=accuracies, fold_roc_auc=aucs, rounds=rounds, metric=settings["eval_metric"], fold_r2=r2s,
    )  # fmt: skip


def _regression_fold(scored: TrainedModel, dscore, parts: list[Path], folds: np.ndarray, f: int) -> tuple[float, float]:
    """A regression fold's loss on the objective's own metric (XGBoost's evaluation of the kept rounds on the
    scored fold, so every objective is scored as its early stopping measured it) and its R²."""
    text = scored.booster.eval(dscore, name="score")
    loss = float(text.rsplit(":", 1)[1])
    y, predicted = [], []
    for batch in _selected(parts, folds, {f}, scored.schema):
        y.append(target_values(batch.column(scored.schema.target), "target"))
        predicted.append(scored.predict_values(batch))
    return loss, regression_metrics(np.concatenate(y), np.concatenate(predicted)).r2
