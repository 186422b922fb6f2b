"""A regression's metrics: exact in memory, or streamed batch by batch in bounded memory, in numpy alone."""

# Definitions as scikit-learn 1.9 gives them (the tests hold them to it): RMSE the root of the mean squared error,
# MAE the mean absolute error, R² = 1 - SSE / SST (SST around the scored rows' own mean), median absolute error,
# MAPE the mean of |error| / |actual| as a fraction. scikit-learn's MAPE divides by max(|y|, eps) and so reports
# a huge number when a target is 0; here it is left out (None) with the reason instead.

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from flyte.core.common.errors import DataValidationError
from flyte.core.data.target import TargetAccumulator, bin_names, bin_of


@dataclass
class RegressionMetrics:
    """How close the predicted numbers came to the true ones on held-out rows (errors in the target's units).

    rmse: root mean squared error. mae: mean absolute error. median_ae: median absolute error (exact up to
        target.SAMPLE_LIMIT rows, from an evenly strided sample of the errors beyond).
    r2: coefficient of determination, 1 - SSE / SST: 1 is perfect, 0 no better than predicting the rows' mean,
        below 0 worse than that.
    mape: mean absolute percentage error as a fraction (0.12 = 12%); None when a true target is 0, with mape_note
        saying so (the percentage is undefined there).
    mean_error: mean of (prediction - actual): above 0 the model over-predicts on average.
    rows: rows scored.
    """

    rmse: float = 0.0
    mae: float = 0.0
    r2: float = 0.0
    median_ae: float = 0.0
    mape: Optional[float] = None
    mape_note: str = ""
    mean_error: float = 0.0
    rows: int = 0


def regression_metrics(y: np.ndarray, prediction: np.ndarray) -> RegressionMetrics:
    """RegressionMetrics of ``prediction`` against the true targets ``y`` (same rows, same order)."""
    acc = RegressionAccumulator()
    acc.add(y, prediction)
    return acc.finish()


class RegressionAccumulator:
    """Sums for RegressionMetrics, batch by batch; memory is the bounded sample of absolute errors for the median."""

    def __init__(self):
        self.rows, self.sse, self.sae, self.error_sum, self.ape = 0, 0.0, 0.0, 0.0, 0.0
        self.zeros = 0
        self.shift: float | None = None  # the first batch's mean: SST from shifted sums stays accurate
        self.shifted_sum, self.shifted_squares = 0.0, 0.0
        self.absolute = TargetAccumulator()

    def add(self, y: np.ndarray, prediction: np.ndarray) -> None:
        y, prediction = np.asarray(y, dtype=np.float64), np.asarray(prediction, dtype=np.float64)
        if y.shape != prediction.shape or y.ndim != 1:
            raise DataValidationError(f"{len(y)} true targets but {len(prediction)} predictions")
        if not np.isfinite(prediction).all():
            raise DataValidationError(f"a prediction is not a finite number (row {int(np.flatnonzero(~np.isfinite(prediction))[0]) + 1})")
        if not len(y):
            return
        error = prediction - y
        self.rows += len(y)
        self.sse += float(np.square(error).sum())
        self.sae += float(np.abs(error).sum())
        self.error_sum += float(error.sum())
        nonzero = y != 0
        self.zeros += int((~nonzero).sum())
        self.ape += float((np.abs(error[nonzero]) / np.abs(y[nonzero])).sum())
        if self.shift is None:
            self.shift = float(y.mean())
        self.shifted_sum += float((y - self.shift).sum())
        self.shifted_squares += float(np.square(y - self.shift).sum())
        self.absolute.add(np.abs(error))

    def finish(self) -> RegressionMetrics:
        n = self.rows
        if n == 0:
            raise DataValidationError("no rows to score")
        sst = self.shifted_squares - self.shifted_sum**2 / n
        # A constant target leaves R² undefined; scikit-learn reports 1.0 for a perfect fit there, else 0.0.
        r2 = 1.0 - self.sse / sst if sst > 0 else (1.0 if self.sse == 0 else 0.0)
        mape, note = (self.ape / n, "") if not self.zeros else (None, f"not defined: {self.zeros} of {n} true targets are 0")
        return RegressionMetrics(
            rmse=float(np.sqrt(self.sse / n)), mae=self.sae / n, r2=float(r2), median_ae=self.absolute.finish(bins=1).median,
            mape=mape, mape_note=note, mean_error=self.error_sum / n, rows=n,
        )  # fmt: skip


def describe(m: RegressionMetrics) -> str:
    """One line: ``RMSE 53.1, MAE 42.0, R² 0.452, median AE 36.2, MAPE 38.5% (144 rows)``."""
    mape = f"MAPE {100 * m.mape:.1f}%" if m.mape is not None else f"MAPE {m.mape_note}"
    return f"RMSE {m.rmse:.4g}, MAE {m.mae:.4g}, R² {m.r2:.3f}, median AE {m.median_ae:.4g}, {mape} ({m.rows} rows)"


@dataclass
class BinnedErrors:
    """Predicted against actual per quantile bin of the true target (the binned form of the predicted-vs-actual
    plot, readable at any row count): bin name, rows, mean actual, mean predicted, RMSE within the bin."""

    bins: list[str]
    rows: list[int]
    mean_actual: list[float]
    mean_predicted: list[float]
    rmse: list[float]


class BinnedAccumulator:
    """BinnedErrors over the bins ``edges`` cut (target.bin_of), batch by batch."""

    def __init__(self, edges: list[float]):
        self.edges = list(edges)
        k = len(self.edges) + 1
        self.n, self.y, self.p, self.sse = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k)

    def add(self, y: np.ndarray, prediction: np.ndarray) -> None:
        b, k = bin_of(y, self.edges), len(self.n)
        self.n += np.bincount(b, minlength=k)
        self.y += np.bincount(b, weights=y, minlength=k)
        self.p += np.bincount(b, weights=prediction, minlength=k)
        self.sse += np.bincount(b, weights=np.square(prediction - y), minlength=k)

    def finish(self) -> BinnedErrors:
        n = np.maximum(self.n, 1)
        return BinnedErrors(
            bins=bin_names(self.edges), rows=[int(v) for v in self.n], mean_actual=[float(v) for v in self.y / n],
            mean_predicted=[float(v) for v in self.p / n], rmse=[float(v) for v in np.sqrt(self.sse / n)],
        )  # fmt: skip
