"""How far predicted probabilities can be taken at their word: a reliability curve and the expected calibration error."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flyte.core.evaluation.score import _validated


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
    return calibration_from_sums(calibration_sums(y, proba, labels, bins), len(y))


@dataclass
class CalibrationSums:
    """What a reliability curve is made of, summed over rows (and over batches with ``merged``): per bin, its
    rows (``counts``), their predicted probabilities (``sums``) and how many were positive or right (``hits``)."""

    kind: str
    label: str
    counts: np.ndarray
    sums: np.ndarray
    hits: np.ndarray

    def merged(self, other: "CalibrationSums") -> "CalibrationSums":
        return CalibrationSums(self.kind, self.label, self.counts + other.counts, self.sums + other.sums, self.hits + other.hits)


def calibration_sums(y: np.ndarray, proba: np.ndarray, labels: list, bins: int) -> CalibrationSums:
    """The per-bin sums of these rows (arguments as for ``calibration``)."""
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
    return CalibrationSums(
        kind, label, np.bincount(ids, minlength=bins), np.bincount(ids, weights=prob, minlength=bins),
        np.bincount(ids, weights=hit.astype(np.float64), minlength=bins),
    )  # fmt: skip


def calibration_from_sums(s: CalibrationSums, rows: int) -> Calibration:
    """The reliability curve of ``rows`` rows whose per-bin sums are ``s``."""
    bins = len(s.counts)
    edges = np.linspace(0.0, 1.0, bins + 1)
    used = s.counts > 0
    confidence, observed = s.sums[used] / s.counts[used], s.hits[used] / s.counts[used]
    ece = float(np.sum(s.counts[used] / rows * np.abs(observed - confidence)))
    return Calibration(
        kind=s.kind,
        label=s.label,
        bins=bins,
        lower=edges[:-1][used].tolist(),
        confidence=confidence.tolist(),
        observed=observed.tolist(),
        counts=s.counts[used].tolist(),
        ece=ece,
    )
