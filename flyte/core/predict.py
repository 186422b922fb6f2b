"""Stage 4: batch prediction of labels and class probabilities for a table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flyte.core.model import TrainedModel

PREDICTED_COLUMN = "predicted_label"
PROBABILITY_PREFIX = "probability_"


def probability_column(label) -> str:
    """Name of the column holding the probability of ``label``."""
    return f"{PROBABILITY_PREFIX}{label}"


def predict_table(model: TrainedModel, table: pd.DataFrame, n_threads: int = 1) -> pd.DataFrame:
    """One row per input row: the most probable label, in the original label values, and each class probability.

    Columns the model was not trained on (the target among them) are ignored.
    """
    proba = model.predict_proba(table, n_threads=n_threads)
    labels = model.schema.labels
    predicted = pd.Series(np.asarray(labels, dtype=object)[proba.argmax(axis=1)], index=table.index)
    if all(isinstance(v, (int, np.integer)) for v in labels):
        predicted = predicted.astype("int64")
    elif all(isinstance(v, (int, float, np.number)) for v in labels):
        predicted = predicted.astype("float64")
    out = pd.DataFrame({PREDICTED_COLUMN: predicted})
    for i, label in enumerate(labels):
        out[probability_column(label)] = proba[:, i]
    return out.reset_index(drop=True)


def probabilities(predictions: pd.DataFrame, labels: list) -> np.ndarray:
    """The probability columns of a predict_table result as an array, in ``labels`` order."""
    return predictions[[probability_column(label) for label in labels]].to_numpy(dtype="float64")
