"""ROC AUC and ROC curves from a fixed histogram of scores: bounded memory at any row count, with a stated error bound."""

# A class's scores in [0, 1] go to ``bins`` equal-width bins (bin ``min(floor(score x bins), bins - 1)``, monotone in the
# score), counting positives and negatives per bin. A (positive, negative) pair in different bins is ordered exactly as
# by the scores themselves; a pair sharing a bin is counted as a tie (one half), whereas its exact value is 0, 1/2 or 1.
# So the histogram AUC is within
#
#     bound = 1/2 x sum over bins of positives_b x negatives_b / (positives x negatives)
#
# of the exact AUC. Each bin also keeps its lowest and highest score: a bin whose scores are all equal holds only true
# ties, which the histogram counts exactly as the exact AUC does, so only bins holding both kinds AND distinct
# scores enter the sum (``HistogramAuc.error_bound``; tree models give many exactly tied scores). Memory: two int64
# counts and two float64 ends per bin per class (8 MiB per class at 2^18 bins), whatever the row count.

from __future__ import annotations

import numpy as np


class HistogramAuc:
    """One class's positive and negative counts per score bin, filled batch by batch with ``add``."""

    def __init__(self, bins: int):
        if bins < 2:
            raise ValueError(f"bins must be at least 2, got {bins}")
        self.bins = bins
        self.pos = np.zeros(bins, dtype=np.int64)
        self.neg = np.zeros(bins, dtype=np.int64)
        self.low = np.full(bins, np.inf)
        self.high = np.full(bins, -np.inf)

    def add(self, positive: np.ndarray, score: np.ndarray) -> None:
        """Count a batch of rows: ``positive`` whether each is of the class, ``score`` its probability in [0, 1]."""
        score = np.asarray(score, dtype=np.float64)
        ids = self.bin_ids(score)
        np.minimum.at(self.low, ids, score)
        np.maximum.at(self.high, ids, score)
        self.pos += np.bincount(ids[positive], minlength=self.bins)
        self.neg += np.bincount(ids[~positive], minlength=self.bins)

    def bin_ids(self, score: np.ndarray) -> np.ndarray:
        """Each score's bin: ``min(floor(score x bins), bins - 1)``, monotone in the score."""
        return np.minimum((np.asarray(score, dtype=np.float64) * self.bins).astype(np.int64), self.bins - 1)

    @property
    def defined(self) -> bool:
        """Whether both positives and negatives were counted (else there is no AUC)."""
        return bool(self.pos.any() and self.neg.any())

    def auc(self) -> float:
        """The AUC with pairs in one bin counted half, exactly summed in integers (twice the pair count)."""
        below = np.cumsum(self.neg) - self.neg  # negatives in lower bins
        doubled = int(np.sum(self.pos * (2 * below + self.neg)))
        return doubled / (2 * int(self.pos.sum()) * int(self.neg.sum()))

    def error_bound(self) -> float:
        """The most the histogram AUC can differ from the exact AUC of the same rows (module docstring)."""
        mixed = self.low < self.high  # bins with distinct scores: their pairs may be ordered, not tied
        shared = int(np.sum(self.pos[mixed] * self.neg[mixed]))
        return shared / (2 * int(self.pos.sum()) * int(self.neg.sum()))

    def roc_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative false and true positive counts at each non-empty bin's lower edge as the threshold, highest
        bin first, after a leading (0, 0): the exact ROC curve's points at those thresholds."""
        used = np.flatnonzero((self.pos + self.neg) > 0)[::-1]
        return np.r_[0, np.cumsum(self.neg[used])], np.r_[0, np.cumsum(self.pos[used])]
