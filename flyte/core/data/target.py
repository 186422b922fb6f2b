"""A regression target: its problem type, its distribution (streamed, bounded memory) and its values as numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import iter_batches, num_rows

#: The problem types a dataset spec may declare; never guessed from the data.
CLASSIFICATION, REGRESSION = "classification", "regression"
PROBLEM_TYPES = (CLASSIFICATION, REGRESSION)
#: Quantile bins the split balances a regression target over (and reports each part's rows in).
TARGET_BINS = 10
#: The most target values a distribution keeps to compute its quantiles: past it, every other kept value is
#: dropped and the stride doubles, so the sample stays a deterministic, evenly spread subset in file order.
#: Below it (1M rows) the quantiles are exact.
SAMPLE_LIMIT = 1_000_000

#: Regression objectives (Hyperparameters.objective) to XGBoost's objective and the validation metric early
#: stopping watches: squared error (the mean), absolute error (the median), pseudo-Huber (squared near 0, absolute
#: in the tails: robust to outliers), Poisson (counts, log link) and Tweedie (costs with many zeros, log link).
REGRESSION_OBJECTIVES = {
    "squared_error": ("reg:squarederror", "rmse"),
    "absolute_error": ("reg:absoluteerror", "mae"),
    "pseudo_huber": ("reg:pseudohubererror", "mphe"),
    "poisson": ("count:poisson", "poisson-nloglik"),
    "tweedie": ("reg:tweedie", None),  # the metric names the variance power: tweedie-nloglik@1.5
}


@dataclass
class TargetDistribution:
    """A numeric target's distribution over a set of rows (units: the target's own).

    rows: rows counted. mean / std: exact over every row (std with ddof 0).
    min / q05 / q25 / median / q75 / q95 / max: quantiles (linear interpolation); exact up to SAMPLE_LIMIT
        rows, from an evenly strided sample of them beyond (min and max always exact).
    zeros: rows whose target is exactly 0 (MAPE is undefined when any is).
    negatives: rows whose target is below 0 (Poisson and Tweedie objectives need none).
    bin_edges: the inner edges of TARGET_BINS quantile bins (repeated edges merged), which the split balances over.
    """

    rows: int = 0
    mean: float = 0.0
    std: float = 0.0
    min: float = 0.0
    q05: float = 0.0
    q25: float = 0.0
    median: float = 0.0
    q75: float = 0.0
    q95: float = 0.0
    max: float = 0.0
    zeros: int = 0
    negatives: int = 0
    bin_edges: list[float] = field(default_factory=list)


class TargetAccumulator:
    """Builds a TargetDistribution batch by batch; memory is at most SAMPLE_LIMIT float64 values."""

    def __init__(self, limit: int = SAMPLE_LIMIT):
        self.limit, self.stride, self.seen = limit, 1, 0
        self.rows, self.total, self.squares, self.zeros, self.negatives = 0, 0.0, 0.0, 0, 0
        self.low, self.high = np.inf, -np.inf
        self.kept: list[np.ndarray] = []
        self.kept_rows = 0

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return
        self.rows += len(values)
        self.total += float(values.sum())
        self.squares += float(np.square(values).sum())
        self.zeros += int((values == 0).sum())
        self.negatives += int((values < 0).sum())
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))
        # Keep every stride-th value counting over the whole stream, so the sample does not depend on batch sizes.
        start = (-self.seen) % self.stride
        self.seen += len(values)
        picked = values[start :: self.stride]
        self.kept.append(picked.copy())
        self.kept_rows += len(picked)
        while self.kept_rows > self.limit:
            merged = np.concatenate(self.kept)[::2]
            self.kept, self.kept_rows, self.stride = [merged], len(merged), self.stride * 2

    def finish(self, bins: int = TARGET_BINS) -> TargetDistribution:
        if not self.rows:
            return TargetDistribution()
        sample = np.concatenate(self.kept)
        q = np.quantile(sample, [0.05, 0.25, 0.5, 0.75, 0.95])
        mean = self.total / self.rows
        edges = np.unique(np.quantile(sample, np.linspace(0, 1, bins + 1)[1:-1])) if bins > 1 else np.array([])
        return TargetDistribution(
            rows=self.rows, mean=float(mean), std=float(np.sqrt(max(self.squares / self.rows - mean * mean, 0.0))),
            min=self.low, q05=float(q[0]), q25=float(q[1]), median=float(q[2]), q75=float(q[3]), q95=float(q[4]),
            max=self.high, zeros=self.zeros, negatives=self.negatives, bin_edges=[float(e) for e in edges],
        )  # fmt: skip


def distribution(values: np.ndarray, bins: int = TARGET_BINS) -> TargetDistribution:
    """The TargetDistribution of an array of target values."""
    acc = TargetAccumulator()
    acc.add(values)
    return acc.finish(bins)


def bin_of(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Each value's quantile bin (0..len(edges)); a value equal to an edge goes to the bin above it."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")


def bin_names(edges: list[float]) -> list[str]:
    """Readable names of the bins ``edges`` cut: ``< 50``, ``[50, 80)``, ..., ``>= 300``."""
    if not edges:
        return ["all"]
    shown = [f"{e:.4g}" for e in edges]
    middle = [f"[{a}, {b})" for a, b in zip(shown, shown[1:])]
    return [f"< {shown[0]}", *middle, f">= {shown[-1]}"]


def values(array: pa.Array, where: str, locate=None, first: int = 0) -> np.ndarray:
    """A numeric target column as float64; a missing or non-finite value is refused, naming ``where`` and the row
    (``locate(first + i)`` when given, such as a reader's ``line 12``; else ``row i + 1`` of ``array``)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not (pa.types.is_floating(array.type) or pa.types.is_integer(array.type) or pa.types.is_decimal(array.type)):
        raise DataValidationError(f"{where}: a regression target must be numeric, found type {array.type}")
    y = pc.cast(array, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        at = locate(first + i) if locate is not None else f"row {i + 1}"
        what = "a missing value" if np.isnan(y[i]) else f"value {y[i]}, not a finite number,"
        raise DataValidationError(f"{where}: {what} at {at}; a regression target needs a finite number on every row")
    return y


def read_values(table: Path, target: str) -> np.ndarray:
    """Every row's target from a table's numeric target column, as float64, read batch by batch."""
    y = np.empty(num_rows(table), dtype=np.float64)
    offset = 0
    for batch in iter_batches(table, columns=[target]):
        part = values(batch.column(0), f"{Path(table).name}: target column {target!r}")
        y[offset : offset + len(part)] = part
        offset += len(part)
    return y


class PartTargets:
    """A regression target's realised distribution in each split part, and each part's rows per quantile bin."""

    def __init__(self, edges: list[float], parts: int = 3):
        self.edges = list(edges)
        self.counts = np.zeros((len(self.edges) + 1, parts), dtype=np.int64)
        self.accumulators = [TargetAccumulator() for _ in range(parts)]

    def add(self, y: np.ndarray, parts: np.ndarray) -> None:
        """Count the rows of one batch: targets ``y`` and their part codes ``parts`` (0..parts-1)."""
        k = self.counts.shape[1]
        self.counts += np.bincount(bin_of(y, self.edges) * k + parts, minlength=self.counts.size).reshape(self.counts.shape)
        for code, acc in enumerate(self.accumulators):
            acc.add(y[parts == code])

    def distributions(self, names) -> dict[str, TargetDistribution]:
        """Each part's TargetDistribution, by part name; its bin_edges are the whole table's."""
        out = {}
        for name, acc in zip(names, self.accumulators):
            found = acc.finish(bins=1)
            found.bin_edges = list(self.edges)
            out[name] = found
        return out

    def bins(self) -> dict[str, list[int]]:
        """Each quantile bin's name to its rows in each part."""
        return {name: [int(n) for n in row] for name, row in zip(bin_names(self.edges), self.counts)}
