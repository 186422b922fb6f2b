"""The bar for the pipeline: its read, split, fit, predict and score, written as one plain script.

What a competent engineer would write without Flyte: Arrow's CSV reader with typed float64 columns,
a stratified split of the pipeline's shape (test 0.33, then validation 0.2 of the rest, seed 7: the
same part sizes and class balance, from sklearn's train_test_split on a row-index array; the pipeline's
own shuffle may pick other rows, so accuracies agree within sampling noise, not to the digit),
``QuantileDMatrix`` for train and validation (validation binned with the train matrix's cuts, ``ref=``),
``xgb.train`` with early stopping on validation log loss and the pipeline's ``Hyperparameters`` (its
defaults, or the fields ``--hyperparameters`` sets), then accuracy, ROC AUC and log loss on the test rows.
With ``--folds k`` it first cross-validates that configuration as one tuning trial does (stage ``trial``):
stratified k-fold on the train and validation rows, each fold scored by a model trained on the others but
one, early-stopped on that one. Each stage's wall seconds and peak RSS (the kernel's mark, reset as the
stage starts) are kept. No profiling, validation of odd input, caching or Parquet hand-offs: that is the
overhead the benchmark puts a number on.

    .venv/bin/python -m benchmarks.plain_script data.csv [--target y] [--nthread 2] [--folds 5]
        [--hyperparameters JSON] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import xgboost as xgb
from sklearn import metrics as skm
from sklearn.model_selection import StratifiedKFold, train_test_split

from benchmarks.stage_timer import peak_rss_mib, reset_peak

from flyte.core.data.split import SplitParams

from flyte.core.training.fit import booster_params
from flyte.core.training.hyperparameters import Hyperparameters

log = logging.getLogger(__name__)

#: The pipeline's fit runs as many threads as its task's cpu limit; the benchmark passes that value.
#: The default matches it without importing flytekit, which would bill the plain script for the
#: pipeline's import time.
DEFAULT_NTHREAD = 2


class Laps:
    """Each stage's wall seconds and peak RSS in MiB, a stage ending where the next begins."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss_mib: dict[str, float | None] = {}
        reset_peak()
        self.clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.clock, 3)
        self.peak_rss_mib[stage] = peak_rss_mib()
        reset_peak()
        self.clock = now


def cross_validate(x, y, rows, features, hp: Hyperparameters, folds: int, seed: int, nthread: int) -> float:
    """Mean test log loss of configuration ``hp`` over ``folds`` stratified folds of ``rows``."""
    fold_of = np.empty(len(rows), dtype=np.int8)
    for k, (_, held) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y[rows])):
        fold_of[held] = k
    losses = []
    for k in range(folds):
        scored, stopper = rows[fold_of == k], rows[fold_of == (k + 1) % folds]
        train = rows[(fold_of != k) & (fold_of != (k + 1) % folds)]
        dtrain = xgb.QuantileDMatrix(x[train], y[train], nthread=nthread, feature_names=features, max_bin=hp.max_bin)
        dstop = xgb.QuantileDMatrix(x[stopper], y[stopper], ref=dtrain, nthread=nthread, feature_names=features)
        booster = xgb.train(
            booster_params(hp, n_classes=2, n_threads=nthread), dtrain, num_boost_round=hp.max_rounds,
            evals=[(dstop, "stop")], early_stopping_rounds=hp.early_stopping_rounds, verbose_eval=False,
        )  # fmt: skip
        p = booster.inplace_predict(x[scored], iteration_range=(0, booster.best_iteration + 1))
        losses.append(skm.log_loss(y[scored], np.asarray(p, dtype=np.float64), labels=[0, 1]))
    return float(np.mean(losses))


def run(
    csv_path: Path,
    target: str = "y",
    nthread: int = DEFAULT_NTHREAD,
    folds: int = 0,
    hyperparameters: dict | None = None,
) -> dict:
    """Train and score on ``csv_path`` (a header row, numeric features, a 0/1 target); returns the metrics.

    folds: when at least 2, a cross-validation of the configuration (one tuning trial) runs after the split.
    hyperparameters: fields of the pipeline's ``Hyperparameters`` to set; the rest keep its defaults.
    """
    hp = Hyperparameters(**(hyperparameters or {}))
    laps = Laps()
    lap = laps.lap

    with open(csv_path, encoding="utf-8") as fh:
        header = [name.strip().strip('"') for name in fh.readline().split(",")]
    features = [c for c in header if c != target]
    types = {c: pa.float64() for c in features} | {target: pa.int64()}
    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types=types))
    x = np.column_stack([table.column(c).to_numpy() for c in features])
    y = table.column(target).to_numpy()
    del table  # the Arrow copy is no longer needed; drop it before the matrices are built
    lap("read")

    sp = SplitParams()
    rest, test = train_test_split(np.arange(len(y)), test_size=sp.test_ratio, random_state=sp.seed, stratify=y)
    train, valid = train_test_split(rest, test_size=sp.validation_ratio, random_state=sp.seed, stratify=y[rest])
    lap("split")

    cv_log_loss = None
    if folds >= 2:
        cv_log_loss = cross_validate(x, y, rest, features, hp, folds, sp.seed, nthread)
        lap("trial")

    dtrain = xgb.QuantileDMatrix(x[train], y[train], nthread=nthread, feature_names=features, max_bin=hp.max_bin)
    dvalid = xgb.QuantileDMatrix(x[valid], y[valid], ref=dtrain, nthread=nthread, feature_names=features)
    booster = xgb.train(
        # The pipeline's own mapping of its hyperparameters to XGBoost's, so both sides train alike.
        booster_params(hp, n_classes=2, n_threads=nthread),
        dtrain,
        num_boost_round=hp.max_rounds,
        evals=[(dvalid, "validation")],
        early_stopping_rounds=hp.early_stopping_rounds,
        verbose_eval=False,
    )
    del dtrain, dvalid
    lap("fit")

    best = int(booster.best_iteration)
    p = booster.inplace_predict(x[test], iteration_range=(0, best + 1)).astype(np.float64)
    lap("predict")

    y_test = y[test]
    metrics = {
        # The pipeline predicts the argmax of [1-p, p]: a tie at 0.5 goes to class 0, hence ">".
        "accuracy": float(skm.accuracy_score(y_test, p > 0.5)),
        "roc_auc": float(skm.roc_auc_score(y_test, p)),
        "log_loss": float(skm.log_loss(y_test, p, labels=[0, 1])),
        "best_iteration": best,
        "rows": int(len(y)),
        "test_rows": int(len(test)),
        "hyperparameters": asdict(hp),
        "nthread": nthread,
        "cv_log_loss": cv_log_loss,
    }
    lap("score")
    metrics["seconds"], metrics["peak_rss_mib"] = laps.seconds, laps.peak_rss_mib
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--target", default="y")
    parser.add_argument("--nthread", type=int, default=DEFAULT_NTHREAD)
    parser.add_argument("--folds", type=int, default=0, help="cross-validate one trial with this many folds first")
    parser.add_argument("--hyperparameters", type=json.loads, default={}, help="JSON: Hyperparameters fields to set")
    parser.add_argument("--json", type=Path, help="also write the metrics to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    metrics = run(args.csv, args.target, args.nthread, args.folds, args.hyperparameters)
    log.info(
        "%s: accuracy %.4f, ROC AUC %.4f, log loss %.4f on %d test rows (best round %d); stage seconds %s",
        args.csv,
        metrics["accuracy"],
        metrics["roc_auc"],
        metrics["log_loss"],
        metrics["test_rows"],
        metrics["best_iteration"],
        metrics["seconds"],
    )
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
