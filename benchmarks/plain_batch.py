"""The bar for batch prediction: load a model, read new rows, predict, write the predictions, score, as one script.

What a user would write without Flyte for a binary model of the project's format: XGBoost's own model file and
the feature list from the model directory (model.ubj, schema.json), Arrow's CSV reader with typed float64
features, ``inplace_predict`` at the best iteration, the probabilities and labels written as CSV with Arrow,
and accuracy and ROC AUC when the rows carry the target. No schema checks, drift or report: that is what the
pipeline adds. Stage seconds and peak RSS are kept as benchmarks.plain_script keeps them.

    .venv/bin/python -m benchmarks.plain_batch MODEL_DIR rows.csv OUT.csv [--target y] [--nthread 2] [--json m.json]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import xgboost as xgb
from sklearn import metrics as skm

from benchmarks.plain_script import DEFAULT_NTHREAD, Laps

log = logging.getLogger(__name__)


def run(model_dir: Path, csv_path: Path, out_csv: Path, target: str = "y", nthread: int = DEFAULT_NTHREAD) -> dict:
    """Predict ``csv_path``'s rows with the model in ``model_dir`` into ``out_csv``; returns stage times and metrics."""
    laps = Laps()
    schema = json.loads((model_dir / "schema.json").read_text(encoding="utf-8"))
    booster = xgb.Booster(model_file=str(model_dir / "model.ubj"))
    booster.set_param({"nthread": nthread})
    laps.lap("load")

    features = schema["features"]
    table = pacsv.read_csv(
        csv_path, convert_options=pacsv.ConvertOptions(column_types={c: pa.float64() for c in features})
    )
    x = np.column_stack([table.column(c).to_numpy() for c in features])
    y = table.column(target).to_numpy() if target in table.column_names else None
    del table
    laps.lap("read")

    p = booster.inplace_predict(x, iteration_range=(0, int(schema["best_iteration"]) + 1)).astype(np.float64)
    pacsv.write_csv(pa.table({"probability": p, "label": (p > 0.5).astype(np.int8)}), out_csv)
    laps.lap("predict")

    metrics = {"rows": int(len(p))}
    if y is not None:
        metrics.update(accuracy=float(skm.accuracy_score(y, p > 0.5)), roc_auc=float(skm.roc_auc_score(y, p)))
    laps.lap("score")
    metrics["seconds"], metrics["peak_rss_mib"] = laps.seconds, laps.peak_rss_mib
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("csv", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--target", default="y")
    parser.add_argument("--nthread", type=int, default=DEFAULT_NTHREAD)
    parser.add_argument("--json", type=Path, help="also write the metrics to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    metrics = run(args.model, args.csv, args.out, args.target, args.nthread)
    log.info("%s: %d rows predicted; stage seconds %s", args.csv, metrics["rows"], metrics["seconds"])
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
