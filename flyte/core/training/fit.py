"""Stage 3: fit an XGBoost classifier from Parquet batches, early-stopped on the validation rows."""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import xgboost as xgb

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile
from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.drift import build_reference
from flyte.core.training.finish import finish, new_schema
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.training.hyperparameters import (
    resolved,
    NON_NEGATIVE_OBJECTIVES,
    objective_settings,
    regression_objective,
)
from flyte.core.data.target import REGRESSION, read_values, values as target_values
from flyte.core.data.leakage import DEFAULT_THRESHOLD, check_leakage
from flyte.core.artifact.model import TrainedModel
from flyte.core.common.progress import Progress
from flyte.core.data.tables import iter_batches, num_rows
from flyte.core.training.fit_memory import check_class_memory, overlap_reference, replayable, use_external_memory

log = logging.getLogger(__name__)

class _TableIter(xgb.DataIter):
    """Feeds XGBoost a table's Parquet batches, so a whole table is never held as a frame."""

    def __init__(self, table: Path, model: TrainedModel, code_of: dict[str, int], cache_prefix: str | None = None,
                 replay: bool = False):  # fmt: skip
        super().__init__(cache_prefix=cache_prefix, release_data=not replay)
        self.table, self.model, self.code_of = table, model, code_of
        self.columns = [*model.schema.features, model.schema.target]
        self._batches = None
        #: replay: keep the first pass's converted batches and hand XGBoost the same ones on its later passes
        #: (it reads its input several times) instead of decoding the Parquet again.
        self.replay, self.reads = replay, 0
        self._kept: list[dict] = []
        self._complete, self._at = False, 0

    def next(self, input_data) -> bool:
        if self._complete:
            if self._at == len(self._kept):
                return False
            input_data(**self._kept[self._at])
            self._at += 1
            return True
        if self._batches is None:
            self._batches = iter_batches(self.table, columns=self.columns, dictionary=[self.model.schema.target])
            self.reads += 1
        batch = next(self._batches, None)
        if batch is None:
            self._complete = self.replay
            return False
        target = self.model.schema.target
        where = f"{self.table.name}: {target!r}"
        if self.model.schema.regression:
            y = target_values(batch.column(target), where)
        else:
            y = lbl.codes(batch.column(target), self.model.schema.label_kind, self.code_of, where=where)
        data, names_and_types = self.model.booster_input(batch)
        # An all-numeric array goes in unnamed: XGBoost fetches a named matrix's names and types from C and compares
        # them on every round and evaluation, about 0.24 s a round at 50k columns, more than the round itself.
        # train_model names the booster once when training ends.
        given = {"data": data, "label": y, **({} if isinstance(data, np.ndarray) else names_and_types)}
        if self.replay:
            self._kept.append(given)
        input_data(**given)
        return True

    def reset(self) -> None:
        self._batches, self._at = None, 0
        if not self._complete:
            self._kept = []


def train_model(
    train: Path,
    validation: Path,
    profile: DataProfile,
    params: Hyperparameters,
    n_threads: int = 1,
    memory_budget: int | None = None,
    scratch: Path | None = None,
    leak_threshold: float = DEFAULT_THRESHOLD,
) -> TrainedModel:
    """Fit a booster for a binary or multiclass target of any label type, or a numeric target (the profile's
    problem_type ``regression``, fitted on ``params.objective``), from two Parquet tables.

    Labels keep the profile's class order and are stored in the schema to map predictions back;
    categorical features use XGBoost's native categorical splits; missing values are left to XGBoost.
    ``n_threads`` should equal the cpus the caller may use. ``memory_budget`` (bytes) is what the caller
    may hold, for ``external_memory="auto"``; ``scratch`` is the local directory for external-memory pages.
    Before fitting, every feature is scored alone against the target on the training rows (``leakage``): one
    above ``leak_threshold`` that the profile does not allow refuses the fit, naming it.
    """
    code_of = {text: i for i, text in enumerate(profile.labels)}
    labels = [lbl.typed(text, profile.label_kind) for text in profile.labels]
    regression = profile.problem_type == REGRESSION
    std = profile.target_distribution.std if regression and profile.target_distribution else 1.0
    settings = objective_settings(params, regression, len(labels), std)
    if settings["objective"] == "reg:pseudohubererror":
        # XGBoost's own intercept for pseudo-Huber can start far from the data (38 for a target of mean 10 here),
        # and the bounded gradient then never walks back within early stopping: start at the training median.
        settings["base_score"] = float(np.median(read_values(train, profile.target)))
    if regression:
        check_objective_target(params, [train, validation], profile.target)
    categories = _categories(train, profile.categorical_columns)
    schema = new_schema(profile, categories, settings["objective"])
    unfitted = TrainedModel(booster=xgb.Booster(), schema=schema)
    rows = num_rows(train)
    check_class_memory(len(schema.labels), rows + num_rows(validation), memory_budget)
    leaks = check_leakage(
        train, schema.features, categories, profile.target, list(profile.labels), profile.label_kind,
        leak_threshold, list(profile.allow_predictive_columns), seed=params.seed,
    )  # fmt: skip
    overlap = overlap_reference(rows, rows + num_rows(validation), len(schema.features), memory_budget)
    # The drift reference reads the training table on another thread while this one fits, when memory allows: its
    # Parquet reads and sorts release the GIL, and neither the matrix build nor a small fit keeps both cores busy.
    build = functools.partial(build_reference, train, schema.features, schema.categories)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reference") as side:
        pending = side.submit(build) if overlap else None
        booster = _boost(train, validation, unfitted, code_of, params, settings, len(labels), regression, n_threads,
                         memory_budget, scratch)
    reference = pending.result() if pending else build()
    return TrainedModel(booster=booster, schema=schema, reference=reference, leakage=leaks)


def _boost(train: Path, validation: Path, unfitted: TrainedModel, code_of: dict[str, int], params: Hyperparameters,
           settings: dict, n_classes: int, regression: bool, n_threads: int, memory_budget: int | None,
           scratch: Path | None) -> xgb.Booster:  # fmt: skip
    """The early-stopped booster of ``unfitted``'s schema, from the two tables, in or out of memory."""
    schema, rows = unfitted.schema, num_rows(train)
    external = use_external_memory(params.external_memory, rows + num_rows(validation), len(schema.features), memory_budget)
    log.info(
        "fitting on %d train rows x %d features, %s memory, %d threads", rows, len(schema.features),
        "external" if external else "in", n_threads,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="xgb-extmem-", dir=scratch) as cache_dir:
        if external:
            dtrain = xgb.ExtMemQuantileDMatrix(
                _TableIter(train, unfitted, code_of, cache_prefix=os.path.join(cache_dir, "train")),
                max_bin=params.max_bin, nthread=n_threads, enable_categorical=True,
            )  # fmt: skip
            dvalid = xgb.ExtMemQuantileDMatrix(
                _TableIter(validation, unfitted, code_of, cache_prefix=os.path.join(cache_dir, "validation")),
                max_bin=params.max_bin, nthread=n_threads, enable_categorical=True, ref=dtrain,
            )  # fmt: skip
        else:
            replay = replayable(rows + num_rows(validation), len(schema.features), memory_budget)
            dtrain = xgb.QuantileDMatrix(
                _TableIter(train, unfitted, code_of, replay=replay), max_bin=params.max_bin, nthread=n_threads,
                enable_categorical=True,
            )  # fmt: skip
            # The validation matrix reuses the training bins, as XGBoost requires for evaluation.
            dvalid = xgb.QuantileDMatrix(
                _TableIter(validation, unfitted, code_of, replay=replay), max_bin=params.max_bin, nthread=n_threads,
                enable_categorical=True, ref=dtrain,
            )  # fmt: skip
        booster = xgb.train(
            {**booster_params(params, n_classes=n_classes, n_threads=n_threads, regression=regression), **settings},
            dtrain,
            num_boost_round=params.max_rounds,
            evals=[(dvalid, "validation")],
            early_stopping_rounds=params.early_stopping_rounds,
            verbose_eval=False,
            callbacks=[FitProgress(params.max_rounds)],
        )
        del dtrain, dvalid
    if booster.feature_names is None:  # trained on unnamed arrays (all features numeric): name it as a frame would
        booster.feature_names, booster.feature_types = schema.booster_features, schema.booster_types
    return finish(booster, schema, params.max_rounds)


class FitProgress(xgb.callback.TrainingCallback):
    """Logs the boosting round and the best validation score so far, at most one line per ``progress`` interval.

    The score is the first validation metric's (log loss: lower is better), best_round counts from 0 as
    XGBoost's best_iteration does. Only observes: the booster trains the same with or without it."""

    def __init__(self, max_rounds: int, progress: Progress | None = None):
        super().__init__()
        self.max_rounds, self.progress = max_rounds, progress or Progress(log)
        self.metric, self.best, self.best_round = "", float("inf"), -1

    def after_iteration(self, model, epoch: int, evals_log: dict) -> bool:
        for metric, scores in list(evals_log.get("validation", {}).items())[:1]:
            if scores and float(scores[-1]) < self.best:
                self.metric, self.best, self.best_round = metric, float(scores[-1]), epoch
        if self.progress.due():
            self.progress.report(
                "round %d of at most %d; best validation %s %.5f at round %d",
                epoch + 1, self.max_rounds, self.metric or "score", self.best, self.best_round,
            )  # fmt: skip
        return False  # never stops training: early stopping is XGBoost's own callback


def _categories(table: Path, columns: list[str]) -> dict[str, list[str]]:
    """Each categorical column's distinct training values, sorted; read column by column in batches."""
    seen: dict[str, set] = {c: set() for c in columns}
    if columns:
        for batch in iter_batches(table, columns=columns):
            for c in columns:
                seen[c].update(v for v in pc.unique(batch.column(c)).to_pylist() if v is not None)
    return {c: sorted(seen[c]) for c in columns}


def check_objective_target(params: Hyperparameters, tables: list[Path], target: str) -> None:
    """Refuse a Poisson or Tweedie fit on a target below 0, naming the first such value and where it is."""
    name = regression_objective(params)
    if name not in NON_NEGATIVE_OBJECTIVES:
        return
    for table in tables:
        y = read_values(table, target)
        bad = np.flatnonzero(y < 0)
        if len(bad):
            raise DataValidationError(
                f"objective {name!r} needs every target 0 or more: target {target!r} holds {y[bad[0]]:g} at row "
                f"{int(bad[0]) + 1} of the {Path(table).name} part ({len(bad)} value(s) below 0 there)",
                hint="choose squared_error, absolute_error or pseudo_huber, or shift the target",
            )


def booster_params(params: Hyperparameters, n_classes: int, n_threads: int, regression: bool = False) -> dict:
    """XGBoost's parameter dict for these hyperparameters and this many classes (none for regression)."""
    params = resolved(params, "regression" if regression else "classification")
    out = {
        **objective_settings(params, regression, n_classes),
        "tree_method": "hist",
        "max_bin": params.max_bin,
        "eta": params.learning_rate,
        "max_depth": params.max_depth,
        "min_child_weight": params.min_child_weight,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "lambda": params.reg_lambda,
        "alpha": params.reg_alpha,
        "seed": params.seed,
        "nthread": n_threads,
    }
    return out
