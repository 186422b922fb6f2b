"""`make bench-tuning`: what the search buys, tuned against the default hyperparameters, on two datasets, one run.

For each dataset (the bundled Pima data, and benchmarks.synthetic's 8-feature binary CSV at --rows): ingest and
split exactly as the pipeline does (SplitParams defaults), cross-validate every trial of SearchSpace(trials,
folds) on the train + validation rows, refit the default and the best configuration on train (early-stopped on
validation), and score both on the test rows. The default is trial 0 of the search (include_base), so its CV log
loss is measured by the same folds. The stage functions are the pipeline's own core calls (no flytekit, no
cache), so every number is computed afresh. Run with OMP_WAIT_POLICY=PASSIVE (the Makefile sets it).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m benchmarks.tuning [--trials 20] [--folds 5] [--rows 20000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.synthetic import dataset_spec, write_synthetic_csv
from flyte.core.tuning.cross_validation import cross_validate
from flyte.core.data.dataset import DatasetSpec, local_path, pima_spec
from flyte.core.evaluation.evaluate import evaluate
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.ingest import ingest_table
from flyte.core.artifact.model import save_model
from flyte.core.evaluation.predict import predict_table
from flyte.core.tuning.search import CrossValidation, SearchSpace, best_trial, sample_trials
from flyte.core.data.split import PART_NAMES, SplitParams, split_table

log = logging.getLogger(__name__)
THREADS = 2  # the TRAIN preset's cpu limit: what a trial pod and the fit pod run


def compare(name: str, spec: DatasetSpec, space: SearchSpace, work: Path) -> dict:
    """CV log loss and test metrics of the default and the tuned configuration on one dataset."""
    ingested = ingest_table(local_path(spec.source), spec, work / "table", split=SplitParams())
    parts = {part: work / part for part in PART_NAMES}
    split_table(work / "table", ingested.profile, SplitParams(), parts)
    base = Hyperparameters()
    cv = CrossValidation(folds=space.folds, seed=space.seed)
    started = time.perf_counter()
    results = [cross_validate(parts["train"], parts["validation"], ingested.profile, t, cv, THREADS) for t in sample_trials(space, base)]
    search_s = time.perf_counter() - started
    best = best_trial(results)
    out = {"dataset": name, "rows": ingested.profile.rows, "trials": space.trials, "folds": space.folds, "search_seconds": round(search_s, 1)}
    for label, result in (("default", results[0]), ("tuned", best)):
        model = train_model(parts["train"], parts["validation"], ingested.profile, result.hyperparameters, n_threads=THREADS)
        directory = save_model(model, work / f"model-{label}")
        predict_table(model, parts["test"], work / f"pred-{label}")
        metrics = evaluate(parts["test"], work / f"pred-{label}", model.schema, ingested.profile).metrics
        out[label] = {
            "trial": result.index, "cv_log_loss": round(result.mean_log_loss, 4), "cv_log_loss_std": round(result.std_log_loss, 4),
            "test_log_loss": round(metrics.log_loss, 4), "test_accuracy": round(metrics.accuracy, 4),
            "test_roc_auc": round(metrics.roc_auc, 4), "test_rows": metrics.rows, "rounds": model.schema.best_iteration + 1,
            "hyperparameters": {k: v for k, v in asdict(result.hyperparameters).items() if k in
                                ("max_depth", "learning_rate", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda")},
        }  # fmt: skip
        del directory
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows", type=int, default=20000, help="rows of the synthetic dataset")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    space = SearchSpace(trials=args.trials, folds=args.folds, seed=args.seed)
    report = []
    with tempfile.TemporaryDirectory(prefix="bench-tuning-") as tmp:
        tmp = Path(tmp)
        synthetic = write_synthetic_csv(tmp / "synthetic.csv", args.rows)
        datasets = [("pima", pima_spec()), (f"synthetic-{args.rows}", DatasetSpec(**dataset_spec(synthetic)))]
        for name, spec in datasets:
            (tmp / name).mkdir()
            report.append(compare(name, spec, space, tmp / name))
    header = f"{'dataset':<18} {'config':<8} {'trial':>5} {'CV log loss (std)':>18} {'test log loss':>13} {'accuracy':>8} {'ROC AUC':>7} {'rounds':>6}"
    print(header)
    for r in report:
        for label in ("default", "tuned"):
            c = r[label]
            print(f"{r['dataset']:<18} {label:<8} {c['trial']:>5} {c['cv_log_loss']:>10.4f} ({c['cv_log_loss_std']:.4f}) "
                  f"{c['test_log_loss']:>13.4f} {c['test_accuracy']:>8.4f} {c['test_roc_auc']:>7.4f} {c['rounds']:>6}")  # fmt: skip
        print(f"{'':<18} search: {r['trials']} trials x {r['folds']} folds in {r['search_seconds']} s; tuned = {r['tuned']['hyperparameters']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
