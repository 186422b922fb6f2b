"""`make bench-defaults`: the default hyperparameters against scikit-learn's HistGradientBoosting defaults, one table.

Datasets: benchmarks.defaults_data (scikit-learn's bundled sets and seeded synthetic tables; nothing downloaded).

Classification runs the pipeline's own core path: ingest, the row-hash split (SplitParams defaults), fit on the
train part early-stopped on the validation part, predict and score the test part; HistGradientBoostingClassifier
(its defaults, random_state fixed) fits the same train + validation rows and is scored on the same test rows.
Reported: ROC AUC (one-vs-rest, macro-averaged for multiclass), accuracy, log loss, and ours minus HGB.

Each problem type runs with its own defaults (hyperparameters.default_hyperparameters); --hyperparameters
overrides fields of both. Regression runs raw ``xgboost.train`` (reg:squarederror, early-stopped on a validation
part carved by the same row hash and ratios) with the same hyperparameters against HistGradientBoostingRegressor; reported: test RMSE of
each and their ratio (ours / HGB; below 1 is better). Categorical features are native on both sides.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m benchmarks.defaults [--hyperparameters '{"max_depth": 2}'] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from benchmarks.defaults_data import TARGET, Dataset, classification_datasets, regression_datasets
from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.evaluate import score_tables
from flyte.core.training.fit import booster_params, train_model
from flyte.core.training.hyperparameters import Hyperparameters, default_hyperparameters
from flyte.core.data.ingest import ingest_table
from flyte.core.evaluation.predict import predict_table
from flyte.core.data.row_hash import parts_from_u, row_u
from flyte.core.data.split import PART_NAMES, SplitParams, split_table

log = logging.getLogger(__name__)
THREADS = 2  # the TRAIN preset's cpu limit
SEED = 7  # HGB's random_state and the synthetic data's seed


def _hgb_frame(frame: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    """Features as HGB reads them: categorical columns as pandas categories (native splits), the rest float."""
    x = frame.drop(columns=[TARGET])
    for c in x.columns:
        x[c] = x[c].astype("category") if c in categorical else x[c].astype(float)
    return x


def run_classification(data: Dataset, params: Hyperparameters, work: Path) -> dict:
    """Ours (the pipeline's core path) and HGB on one classification dataset: test AUC, accuracy, log loss."""
    csv = work / f"{data.name}.csv"
    data.frame.to_csv(csv, index=False)
    features = [c for c in data.frame.columns if c != TARGET]
    spec = DatasetSpec(
        source=str(csv), target=TARGET, categorical_columns=list(data.categorical), allow_predictive_columns=features,
        min_rows_per_class=1,
    )  # fmt: skip
    split = SplitParams()
    ingested = ingest_table(csv, spec, work / "table", split=split)
    parts = {part: work / part for part in PART_NAMES}
    try:
        split_table(work / "table", ingested.profile, split, parts)
    except DataValidationError:  # a small class left out of a part by the hash: the next seed, as a user would
        split = SplitParams(seed=split.seed + 1)
        split_table(work / "table", ingested.profile, split, parts)
    started = time.perf_counter()
    model = train_model(parts["train"], parts["validation"], ingested.profile, params, n_threads=THREADS)
    fit_s = time.perf_counter() - started
    predict_table(model, parts["test"], work / "predictions")
    ours, _ = score_tables(parts["test"], work / "predictions", model.schema)

    frames = {p: pd.read_parquet(parts[p]) for p in PART_NAMES}
    fit_rows = pd.concat([frames["train"], frames["validation"]], ignore_index=True)
    labels = [str(v) for v in ingested.profile.labels]
    y_fit = fit_rows[TARGET].astype(str).to_numpy()
    y_test = frames["test"][TARGET].astype(str).to_numpy()
    started = time.perf_counter()
    hgb = HistGradientBoostingClassifier(random_state=SEED).fit(_hgb_frame(fit_rows, data.categorical), y_fit)
    hgb_s = time.perf_counter() - started
    proba = pd.DataFrame(hgb.predict_proba(_hgb_frame(frames["test"], data.categorical)), columns=hgb.classes_)
    proba = proba.reindex(columns=labels, fill_value=0.0).to_numpy()
    if len(labels) == 2:
        auc = roc_auc_score(y_test == labels[1], proba[:, 1])
    else:
        auc = roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=labels)
    theirs = {
        "roc_auc": float(auc),
        "accuracy": float(accuracy_score(y_test, np.asarray(labels)[proba.argmax(axis=1)])),
        "log_loss": float(log_loss(y_test, np.clip(proba, 1e-15, 1.0), labels=labels)),
    }
    mine = {"roc_auc": ours.roc_auc, "accuracy": ours.accuracy, "log_loss": ours.log_loss}
    return {
        "dataset": data.name, "kind": "classification", "rows": int(ingested.profile.rows), "features": len(features),
        "classes": len(labels), "test_rows": int(ours.rows), "ours": mine, "hgb": theirs,
        "diff": {k: mine[k] - theirs[k] for k in mine}, "rounds": model.schema.best_iteration + 1,
        "fit_seconds": round(fit_s, 2), "hgb_seconds": round(hgb_s, 2), "split_seed": split.seed,
    }  # fmt: skip


def regression_parts(frame: pd.DataFrame, split: SplitParams = SplitParams()) -> np.ndarray:
    """Each row's part (0 train, 1 validation, 2 test) by the pipeline's row hash over every column and its ratios."""
    numeric = {c: float for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
    table = pa.Table.from_pandas(frame.astype(numeric), preserve_index=False)
    u = row_u(table, list(frame.columns), split.seed)
    return parts_from_u(u, split.test_ratio, split.validation_ratio, (0, 1, 2))


def _xgb_matrix(x: pd.DataFrame, y: np.ndarray, ref=None) -> xgb.QuantileDMatrix:
    return xgb.QuantileDMatrix(x, label=y, enable_categorical=True, ref=ref, nthread=THREADS, max_bin=256)


def run_regression(data: Dataset, params: Hyperparameters) -> dict:
    """Raw xgboost.train with ``params`` and HGB on one regression dataset: test RMSE of each and their ratio."""
    parts = regression_parts(data.frame)
    x = _hgb_frame(data.frame, data.categorical)
    y = data.frame[TARGET].to_numpy(dtype=float)
    train, valid, test = (parts == 0), (parts == 1), (parts == 2)
    dtrain = _xgb_matrix(x[train], y[train])
    dvalid = _xgb_matrix(x[valid], y[valid], ref=dtrain)
    config = booster_params(params, n_classes=2, n_threads=THREADS)
    config |= {"objective": "reg:squarederror", "eval_metric": "rmse"}
    started = time.perf_counter()
    booster = xgb.train(
        config, dtrain, num_boost_round=params.max_rounds, evals=[(dvalid, "validation")],
        early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False,
    )  # fmt: skip
    fit_s = time.perf_counter() - started
    best = int(booster.best_iteration)
    predicted = booster[: best + 1].predict(xgb.DMatrix(x[test], enable_categorical=True, nthread=THREADS))
    ours = float(np.sqrt(np.mean((predicted - y[test]) ** 2)))
    fit_rows = train | valid
    started = time.perf_counter()
    hgb = HistGradientBoostingRegressor(random_state=SEED).fit(x[fit_rows], y[fit_rows])
    hgb_s = time.perf_counter() - started
    theirs = float(np.sqrt(np.mean((hgb.predict(x[test]) - y[test]) ** 2)))
    return {
        "dataset": data.name, "kind": "regression", "rows": len(data.frame), "features": x.shape[1],
        "test_rows": int(test.sum()), "ours": {"rmse": ours}, "hgb": {"rmse": theirs}, "ratio": ours / theirs,
        "rounds": best + 1, "fit_seconds": round(fit_s, 2), "hgb_seconds": round(hgb_s, 2),
    }  # fmt: skip


def suite_params(overrides: dict) -> dict[str, Hyperparameters]:
    """Each problem type's hyperparameters: its defaults (default_hyperparameters) with ``overrides`` on top."""
    return {kind: replace(default_hyperparameters(kind), **overrides) for kind in ("classification", "regression")}


def run_suite(classification: list[Dataset], regression: list[Dataset], overrides: dict | None = None) -> list[dict]:
    """Every dataset of both lists, in order, each with its problem type's defaults and ``overrides`` (field names
    of Hyperparameters); each classification dataset in its own scratch directory."""
    params = suite_params(overrides or {})
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-defaults-") as tmp:
        for data in classification:
            (Path(tmp) / data.name).mkdir()
            results.append(run_classification(data, params["classification"], Path(tmp) / data.name))
    results += [run_regression(data, params["regression"]) for data in regression]
    return results


def format_table(results: list[dict]) -> str:
    """The results as one text table: classification rows first, then regression rows, then the summary lines."""
    lines = []
    if any(r["kind"] == "classification" for r in results):
        lines.append(f"{'dataset':<26} {'rows':>5} {'k':>3} | {'AUC ours':>8} {'HGB':>6} {'diff':>7} | {'acc ours':>8} "
                     f"{'HGB':>6} {'diff':>7} | {'logloss':>7} {'HGB':>6} {'diff':>7} | {'rounds':>6}")  # fmt: skip
    for r in (r for r in results if r["kind"] == "classification"):
        o, h, d = r["ours"], r["hgb"], r["diff"]
        lines.append(
            f"{r['dataset']:<26} {r['rows']:>5} {r['classes']:>3} | {o['roc_auc']:>8.4f} {h['roc_auc']:>6.4f} {d['roc_auc']:>+7.4f} | "
            f"{o['accuracy']:>8.4f} {h['accuracy']:>6.4f} {d['accuracy']:>+7.4f} | {o['log_loss']:>7.4f} {h['log_loss']:>6.4f} "
            f"{d['log_loss']:>+7.4f} | {r['rounds']:>6}"
        )  # fmt: skip
    if any(r["kind"] == "regression" for r in results):
        lines.append(f"{'dataset':<26} {'rows':>5} {'':>3} | {'RMSE ours':>9} {'HGB':>9} {'ratio':>6} | {'rounds':>6}")
    for r in (r for r in results if r["kind"] == "regression"):
        lines.append(f"{r['dataset']:<26} {r['rows']:>5} {'':>3} | {r['ours']['rmse']:>9.4f} {r['hgb']['rmse']:>9.4f} "
                     f"{r['ratio']:>6.3f} | {r['rounds']:>6}")  # fmt: skip
    cls = [r for r in results if r["kind"] == "classification"]
    reg = [r for r in results if r["kind"] == "regression"]
    if cls:
        lines.append(f"classification: worst AUC diff {min(r['diff']['roc_auc'] for r in cls):+.4f}, "
                     f"mean {np.mean([r['diff']['roc_auc'] for r in cls]):+.4f}")  # fmt: skip
    if reg:
        lines.append(f"regression: worst RMSE ratio {max(r['ratio'] for r in reg):.3f}, mean {np.mean([r['ratio'] for r in reg]):.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hyperparameters", default="{}", help="JSON overrides of both problem types' defaults")
    parser.add_argument("--only", choices=("classification", "regression"), help="run one half of the suite")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    overrides = json.loads(args.hyperparameters)
    params = {kind: asdict(p) for kind, p in suite_params(overrides).items()}
    started = time.perf_counter()
    results = run_suite(
        classification_datasets(SEED) if args.only != "regression" else [],
        regression_datasets(SEED) if args.only != "classification" else [],
        overrides,
    )
    print(format_table(results))
    for kind, values in params.items():
        print(f"{kind} hyperparameters: {values}")
    print(f"suite took {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"hyperparameters": params, "results": results}, indent=2))


if __name__ == "__main__":
    main()
