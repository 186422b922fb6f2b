"""The seed example's model (flytesnacks' pima diabetes workflow), re-run as the accuracy baseline.

Same 768 rows, same non-stratified split (test ratio 0.33, seed 7), same XGBClassifier settings
(the workflow passed max_depth=4 over the defaults below), with today's libraries. Run it directly
to print both accuracies side by side:

    .venv/bin/python -m benchmarks.seed_baseline
"""

from __future__ import annotations

import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

from flyte.core.data.dataset import DATA_DIR

SEED_COLUMNS = [
    "#preg", "pgc_2h", "diastolic_bp", "tricep_skin_fold_mm", "serum_insulin_2h",
    "bmi", "diabetes_pedigree", "age", "class",
]  # fmt: skip
PIMA_CSV = DATA_DIR / "pima-indians-diabetes.data.csv"


def seed_example_accuracy(csv_path=PIMA_CSV, test_split_ratio: float = 0.33, seed: int = 7) -> float:
    """Test accuracy of the seed example's model, computed as its code did."""
    df = pd.read_csv(csv_path, names=SEED_COLUMNS)
    x, y = df[SEED_COLUMNS[:-1]], df[["class"]]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_split_ratio, random_state=seed)
    model = XGBClassifier(
        n_jobs=1, max_depth=4, n_estimators=100, booster="gbtree", objective="binary:logistic", learning_rate=0.1
    )
    model.fit(x_train, y_train)
    return float(accuracy_score(y_test, model.predict(x_test)))


def main() -> None:
    from flyte.workflows.training.pipeline import training_pipeline

    baseline = seed_example_accuracy()
    ours = training_pipeline().metrics
    print(f"seed example accuracy: {baseline:.4f}")
    print(f"this pipeline:         {ours.accuracy:.4f}  (ratio {ours.accuracy / baseline:.3f}x)")
    print(f"  balanced accuracy {ours.balanced_accuracy:.4f}, ROC AUC {ours.roc_auc:.4f}, log loss {ours.log_loss:.4f}")


if __name__ == "__main__":
    main()
