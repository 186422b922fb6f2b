"""Target leakage: each feature alone against the target on the training rows; one that nearly determines it is refused."""

# Why a binned purity score and not a single-feature AUC: AUC needs a positive class and an order, so it
# misses a feature that gives the class away by value but not monotonically, and has no natural multiclass or
# categorical form. Goodman and Kruskal's lambda (how much of the error of always guessing the majority class
# a feature's values remove) covers binary, multiclass, numeric and categorical alike, is 1 for a copy of the
# target whatever its coding, and is one bincount per feature. Bins and categories with few rows are not
# credited, so a fine-grained or unique-per-row column (an ID) cannot look predictive by chance.

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.data import labels as lbl
from flyte.core.common.errors import DataValidationError
from flyte.core.data.matrix import float_matrix
from flyte.core.data.tables import iter_batches, num_rows
from flyte.core.data.target import values as target_values

log = logging.getLogger(__name__)

#: The file beside the booster that records what the check found.
LEAKAGE_FILE = "leakage.json"
#: The leak score above which a feature is refused unless allowed. A copy of the target scores 1, a continuous
#: feature that separates the classes perfectly about 0.98 (the one quantile bin across the boundary is mixed),
#: and one with 1% of its labels flipped about 0.96 (binary, balanced); the strongest legitimate features of the
#: bundled and test datasets score at most 0.68 (docs: "Leakage check"). The fit task's ``leak_threshold`` input
#: defaults to it.
DEFAULT_THRESHOLD = 0.95
#: Quantile bins a numeric feature is cut into (missing values get a bin of their own).
BINS = 32
#: Fewest rows a bin or category needs for its purity to count; smaller ones are scored as the majority guess.
MIN_BIN_ROWS = 5
#: The most training rows scored: a seeded uniform sample above it. Lambda's sampling error at 200k rows is
#: far below the gap between a legitimate feature and a copy of the target.
SAMPLE_ROWS = 200_000
#: The most cells (rows x features) held at once, as float32: 25M cells are 100 MB. Wide tables get fewer rows,
#: never fewer than MIN_SAMPLE_ROWS.
SAMPLE_CELLS = 25_000_000
MIN_SAMPLE_ROWS = 1_000
#: Cells (rows x features x cut points) per step of binning numeric features: a step's one-byte codes and its boolean
#: temporary stay near 2 MB each, its column-major copy and that copy sorted near 8 MB each.
_CHUNK_CELLS = 64_000_000
#: Contingency cells counted at once (int64: 32 MB), whatever the number of classes.
_TABLE_CELLS = 4_000_000


@dataclass
class LeakCheck:
    """What the leakage check found on the training rows.

    threshold: a feature scoring above it is refused unless allowed.
    scores: each feature's leak score in [0, 1]: lambda for classes (0 when its values do no better than guessing
        the majority class, 1 when they determine the class); for a regression target the R² of predicting it by
        the mean of the feature's bin (0: explains none of its variance, 1: determines it).
    allowed: the features the dataset spec allows to score above the threshold (allow_predictive_columns).
    rows: the training rows scored (a seeded sample of them when there are more than SAMPLE_ROWS).
    seed: the sample's seed.
    """

    threshold: float
    scores: dict[str, float] = field(default_factory=dict)
    allowed: list[str] = field(default_factory=list)
    rows: int = 0
    seed: int = 0

    @property
    def over(self) -> list[str]:
        """Features above the threshold, highest score first (allowed ones included)."""
        return sorted((f for f, s in self.scores.items() if s > self.threshold), key=lambda f: -self.scores[f])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str, where: Path) -> "LeakCheck":
        try:
            raw = json.loads(text)
            return cls(threshold=float(raw["threshold"]), scores={str(k): float(v) for k, v in raw["scores"].items()},
                       allowed=[str(a) for a in raw["allowed"]], rows=int(raw["rows"]), seed=int(raw["seed"]))  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataValidationError(f"{where}: not a leakage record ({type(exc).__name__}: {str(exc)[:80]})") from None


def lambda_score(bins: np.ndarray, y: np.ndarray, n_bins: int, n_classes: int) -> float:
    """Goodman-Kruskal lambda of class codes ``y`` given bin codes ``bins`` (0..n_bins-1): the share of the
    majority guess's errors that guessing each bin's own majority removes. Bins under MIN_BIN_ROWS rows are
    guessed the overall majority, so they add nothing."""
    table = np.bincount(bins.astype(np.int64) * n_classes + y, minlength=n_bins * n_classes).reshape(n_bins, n_classes)
    return _lambda(table)


def _lambda(table: np.ndarray) -> float:
    """Lambda from a bins x classes contingency table (see ``lambda_score``)."""
    return float(_lambdas(table[None])[0])


def _lambdas(tables: np.ndarray) -> np.ndarray:
    """Lambda of each of a stack of bins x classes contingency tables (features x bins x classes), at once."""
    totals = tables.sum(axis=1)  # features x classes
    majority = np.argmax(totals, axis=1)
    right = np.take_along_axis(totals, majority[:, None], axis=1)[:, 0]
    errors = totals.sum(axis=1) - right
    support = tables.sum(axis=2) >= MIN_BIN_ROWS
    guessed = np.take_along_axis(tables, majority[:, None, None], axis=2)[:, :, 0]  # the majority class's count per bin
    correct = np.where(support, tables.max(axis=2), guessed).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(errors > 0, (correct - right) / np.maximum(errors, 1), 0.0)
    return np.maximum(score, 0.0)


def numeric_scores(x: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Lambda of each column of ``x`` (rows x features, NaN for missing) cut into up to BINS quantile bins.

    Bins are cut at the values' own quantiles, so ties stay in one bin (row order never splits them), and there
    are at most one bin per MIN_BIN_ROWS present values. Missing values form one more bin.
    """
    out = np.zeros(x.shape[1])
    slots = BINS + 1  # bin codes 0..BINS-1, and BINS for missing
    for start, codes in _binned(x, _TABLE_CELLS // (slots * n_classes)):
        columns = codes.shape[0]
        flat = (np.arange(columns)[:, None] * slots + codes) * n_classes + y[None, :]
        table = np.bincount(flat.ravel(), minlength=columns * slots * n_classes).reshape(columns, slots, n_classes)
        out[start : start + columns] = _lambdas(table)
    return out


def numeric_r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For a numeric target ``y``: each column of ``x``'s R² when the target is predicted by the mean of its
    quantile bin (as numeric_scores bins it), bins under MIN_BIN_ROWS rows predicted the overall mean: the share of
    the target's variance the feature alone explains (0 for none, 1 when it determines the target)."""
    out = np.zeros(x.shape[1])
    # Bins of twice MIN_BIN_ROWS: rank-cut bins differ by a row or two, and one falling under MIN_BIN_ROWS (predicted
    # the overall mean) would cost a copy of the target much of its R², where lambda loses only that bin's rows.
    for start, codes in _binned(x, _TABLE_CELLS // (BINS + 1), rows_per_bin=2 * MIN_BIN_ROWS):
        out[start : start + codes.shape[0]] = [binned_r2(column, y, BINS + 1) for column in codes]
    return out


def binned_r2(bins: np.ndarray, y: np.ndarray, n_bins: int) -> float:
    """R² of predicting ``y`` by its bin's mean (bins 0..n_bins-1; under MIN_BIN_ROWS rows: the overall mean)."""
    total = float(np.square(y - y.mean()).sum()) if len(y) else 0.0
    if total <= 0:
        return 0.0
    counts = np.bincount(bins, minlength=n_bins)
    sums = np.bincount(bins, weights=y, minlength=n_bins)
    means = np.where(counts >= MIN_BIN_ROWS, sums / np.maximum(counts, 1), y.mean())
    return max(0.0, 1.0 - float(np.square(y - means[bins]).sum()) / total)


def _binned(x: np.ndarray, table_columns: int, rows_per_bin: int = MIN_BIN_ROWS):
    """(first column, columns x rows bin codes) for chunks of ``x``'s columns, as numeric_scores describes the bins."""
    n, width = x.shape
    if n == 0 or width == 0:
        return
    steps = np.arange(1, BINS)[None, :]
    # Columns per step: bounds the comparisons (rows x cut points), the chunk's copies and the contingency tables.
    chunk = max(1, min(_CHUNK_CELLS // max(1, n * (BINS - 1)), table_columns))
    for start in range(0, width, chunk):
        # Column by column in memory: a comparison then runs along one column against one cut point, where rows of
        # a few features each would compare a handful of values per row, six times slower at 8 features.
        part = np.ascontiguousarray(x[:, start : start + chunk].T)
        missing = np.isnan(part)
        present = n - missing.sum(axis=1)
        bins = np.clip(present // rows_per_bin, 1, BINS)
        # Cut points: the values at ranks k * present / bins, k = 1 .. BINS-1, per column (repeats are harmless).
        ranks = np.minimum((steps * present[:, None]) // bins[:, None], np.maximum(present - 1, 0)[:, None])
        edges = np.take_along_axis(np.sort(part, axis=1), ranks, axis=1)  # NaN sorts last
        edges[steps >= bins[:, None]] = np.inf  # columns with fewer bins use fewer cut points
        # One cut point at a time into one-byte codes: a value's code is the number of cut points below it.
        codes = np.zeros(part.shape, dtype=np.uint8)
        above = np.empty(part.shape, dtype=bool)
        for k in range(BINS - 1):
            np.greater(part, edges[:, k : k + 1], out=above)
            codes += above.view(np.uint8)
        codes[missing] = BINS
        yield start, codes


def categorical_score(codes: np.ndarray, y: np.ndarray, n_categories: int, n_classes: int) -> float:
    """Lambda of a categorical feature: each category (code 0..n_categories-1, -1 missing) a bin of its own."""
    return lambda_score(np.where(codes < 0, n_categories, codes), y, n_categories + 1, n_classes)


def sample_rows(table: Path, features: list[str], categories: dict[str, list[str]], target: str,
                code_of: dict[str, int] | None, label_kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """A seeded uniform sample of the table's rows, bounded by SAMPLE_ROWS and SAMPLE_CELLS: the features as float32
    (NaN missing; a categorical feature as its category's code, -1 missing) and the class codes. Streamed batch by batch."""
    total = num_rows(table)
    size = min(total, SAMPLE_ROWS, max(MIN_SAMPLE_ROWS, SAMPLE_CELLS // max(1, len(features))))
    picked = np.arange(total) if size == total else np.sort(np.random.default_rng(seed).choice(total, size, replace=False))
    x = np.empty((size, len(features)), dtype=np.float32)
    y = np.empty(size, dtype=np.int64 if code_of is not None else np.float64)
    sets = {c: pa.array(v, pa.string()) for c, v in categories.items()}
    numeric = [j for j, f in enumerate(features) if f not in sets]
    coded = [j for j, f in enumerate(features) if f in sets]
    filled, offset = 0, 0
    for batch in iter_batches(table, columns=[*features, target], dictionary=[target]):
        end = offset + batch.num_rows
        take = picked[filled : filled + int(np.searchsorted(picked[filled:], end))] - offset
        offset = end
        if not len(take):
            continue
        rows = batch if len(take) == batch.num_rows else batch.take(pa.array(take))
        # By position: the batch holds exactly these columns in this order. Numeric ones in one conversion.
        x[filled : filled + len(take), numeric] = float_matrix(rows, numeric, row_major=False)  # numpy copies any layout
        for j in coded:
            values = pc.index_in(rows.column(j), value_set=sets[features[j]])
            x[filled : filled + len(take), j] = pc.fill_null(values, -1).to_numpy(zero_copy_only=False)
        where = f"{table.name}: {target!r}"
        target_column = rows.column(len(features))
        y[filled : filled + len(take)] = (
            lbl.codes(target_column, label_kind, code_of, where=where) if code_of is not None else target_values(target_column, where)
        )
        filled += len(take)
    return x[:filled], y[:filled]


def check_leakage(table: Path, features: list[str], categories: dict[str, list[str]], target: str, labels: list[str],
                  label_kind: str, threshold: float, allowed: list[str], seed: int = 0) -> LeakCheck:  # fmt: skip
    """Score every feature of the training table ``table`` alone against the target (lambda for classes; for a
    regression target, ``labels`` empty, the R² of its bin means); refuse the fit when one
    not in ``allowed`` scores above ``threshold``, naming the column and its score. Returns what was checked."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise DataValidationError(f"leak_threshold must be a number within (0, 1], got {threshold!r}",
                                  hint="a leak score is 0 to 1; 1 refuses nothing")  # fmt: skip
    regression = not labels
    code_of = None if regression else {t: i for i, t in enumerate(labels)}
    x, y = sample_rows(table, features, categories, target, code_of, label_kind, seed)
    scores = np.zeros(len(features))
    numeric = [j for j, f in enumerate(features) if f not in categories]
    if numeric:
        scores[numeric] = numeric_r2(x[:, numeric], y) if regression else numeric_scores(x[:, numeric], y, len(labels))
    for j, f in enumerate(features):
        if f in categories:
            codes = x[:, j].astype(np.int64)
            if regression:
                scores[j] = binned_r2(np.where(codes < 0, len(categories[f]), codes), y, len(categories[f]) + 1)
            else:
                scores[j] = categorical_score(codes, y, len(categories[f]), len(labels))
    allowed_set = set(allowed)
    result = LeakCheck(threshold=threshold, scores={f: round(float(s), 4) for f, s in zip(features, scores)},
                       allowed=[f for f in features if f in allowed_set], rows=len(y), seed=seed)  # fmt: skip
    refused = [f for f in result.over if f not in allowed_set]
    top = max(result.scores.items(), key=lambda kv: kv[1]) if features else ("", 0.0)
    log.info("leakage check on %d training rows: highest score %s %.4f (threshold %g); allowed %s",
             len(y), top[0], top[1], threshold, result.allowed)  # fmt: skip
    if refused:
        f = refused[0]
        more = f" and {len(refused) - 1} more ({', '.join(map(repr, refused[1:4]))[:80]})" if len(refused) > 1 else ""
        raise DataValidationError(
            f"feature {f[:60]!r} alone predicts target {target[:60]!r} on the training rows: leak score "
            f"{result.scores[f]:.4f} > threshold {threshold:g}{more}",
            hint="a copy of the target, or a column only known after the outcome? drop it (drop_columns), or "
            "list it in the dataset's allow_predictive_columns if it is truly available at prediction time",
        )
    return result
