"""The bar for the pipeline: its read, split, fit, predict and score, written as one plain script.

What a competent engineer would write without Flyte: Arrow's CSV reader with typed float64 columns,
a stratified split of the pipeline's shape (test 0.33, then validation 0.2 of the rest, seed 7: the
same part sizes and class balance, from sklearn's train_test_split on a row-index array; the pipeline's
own shuffle may pick other rows, so accuracies agree within sampling noise, not to the digit),
``QuantileDMatrix`` for train and validation (validation binned with the train matrix's cuts, ``ref=``),
``xgb.train`` with early stopping on validation log loss and the pipeline's default ``Hyperparameters``,
then accuracy, ROC AUC and log loss on the test rows. No profiling, validation of odd input, caching
or Parquet hand-offs: that is the overhead the benchmark puts a number on.

    .venv/bin/python -m benchmarks.plain_script data.csv [--target y] [--nthread 2] [--json out.json]
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
from sklearn.model_selection import train_test_split

from flyte.core.split import SplitParams

from flyte.core.fit import booster_params
from flyte.core.hyperparameters import Hyperparameters

log = logging.getLogger(__name__)

#: The pipeline's fit runs as many threads as its task's cpu limit; the benchmark passes that value.
#: The default matches it without importing flytekit, which would bill the plain script for the
#: pipeline's import time.
DEFAULT_NTHREAD = 2


def run(csv_path: Path, target: str = "y", nthread: int = DEFAULT_NTHREAD) -> dict:
    """Train and score on ``csv_path`` (a header row, numeric features, a 0/1 target); returns the metrics."""
    seconds, clock = {}, time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

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

    hp = Hyperparameters()
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
    }
    lap("score")
    metrics["seconds"] = seconds
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--target", default="y")
    parser.add_argument("--nthread", type=int, default=DEFAULT_NTHREAD)
    parser.add_argument("--json", type=Path, help="also write the metrics to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    metrics = run(args.csv, args.target, args.nthread)
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
