"""How far predicted probabilities can be taken at their word: a reliability curve and the expected calibration error."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flyte.core.score import _validated


@dataclass
class Calibration:
    """A reliability diagram over ``bins`` equal-width bins of [0, 1], empty bins left out.

    kind: ``positive`` (two classes: the probability of ``label``, the positive class, against how often
        the row is of it) or ``top-label`` (more classes: the highest probability, the confidence, against
        how often the predicted class is right).
    confidence: each non-empty bin's mean predicted probability; observed: its share of rows that were
        positive (or predicted right); counts: its rows; lower: its lower edge. All lists of equal length.
    ece: expected calibration error, sum over bins of (bin rows / rows) x |observed - confidence|, in [0, 1].
    """

    kind: str = "positive"
    label: str = ""
    bins: int = 10
    lower: list[float] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    observed: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    ece: float = 0.0


def calibration(y: np.ndarray, proba: np.ndarray, labels: list, bins: int) -> Calibration:
    """The reliability curve of ``proba`` against ``y`` (arguments as for ``score.score_predictions``).

    Bins as scikit-learn's ``calibration_curve(strategy="uniform")``: edges ``linspace(0, 1, bins + 1)``, a
    probability on an inner edge goes to the lower bin.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    y, proba = _validated(y, proba, labels)
    if proba.shape[1] == 2:
        kind, label, prob, hit = "positive", str(labels[1]), proba[:, 1], y == 1
    else:
        kind, label = "top-label", ""
        pred = proba.argmax(axis=1)
        prob, hit = proba[np.arange(len(y)), pred], pred == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], prob)
    counts = np.bincount(ids, minlength=bins)
    sums = np.bincount(ids, weights=prob, minlength=bins)
    hits = np.bincount(ids, weights=hit.astype(np.float64), minlength=bins)
    used = counts > 0
    confidence, observed = sums[used] / counts[used], hits[used] / counts[used]
    ece = float(np.sum(counts[used] / len(y) * np.abs(observed - confidence)))
    return Calibration(
        kind=kind,
        label=label,
        bins=bins,
        lower=edges[:-1][used].tolist(),
        confidence=confidence.tolist(),
        observed=observed.tolist(),
        counts=counts[used].tolist(),
        ece=ece,
    )
