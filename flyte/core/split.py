"""Stage 2: exact stratified train / validation / test split, seeded, streamed from one table to three."""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from flyte.core import labels as lbl
from flyte.core.dataset import DataProfile
from flyte.core.errors import DataValidationError
from flyte.core.validation import check_types, require, strict
from flyte.core.tables import TableWriter, iter_batches, prefetch, schema

log = logging.getLogger(__name__)

#: Part codes in the assignment array.
TRAIN, VALIDATION, TEST = 0, 1, 2
PART_NAMES = ("train", "validation", "test")


@strict
@dataclass
class SplitParams:
    """How rows are shared out.

    test_ratio: fraction of all rows held out for the final score (the seed example's 0.33).
    validation_ratio: fraction of the remaining training rows held out for early stopping.
    seed: drives the shuffle; the same seed and data give the same split.
    """

    test_ratio: float = 0.33
    validation_ratio: float = 0.2
    seed: int = 7

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("test_ratio", "validation_ratio"):
            ratio = getattr(self, name)
            require(0.0 < ratio < 1.0, f"split {name} must be between 0 and 1 exclusive, got {ratio}")
        require(self.seed >= 0, f"split seed must be 0 or more, got {self.seed}")


class SplitSizes(NamedTuple):
    train: int
    validation: int
    test: int


def part_sizes(counts: np.ndarray, params: SplitParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of each class (by code) in test, validation and train: exact sizes, shared in proportion.

    The test part holds ceil(test_ratio * n) rows and validation ceil(validation_ratio * rest), shared
    between classes in proportion to their counts (largest remainders get the leftover rows).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    test = _allocate(counts, math.ceil(params.test_ratio * n))
    rest = counts - test
    validation = _allocate(rest, math.ceil(params.validation_ratio * int(rest.sum())))
    return test, validation, rest - validation


def unsplittable(counts: np.ndarray, params: SplitParams) -> list[int]:
    """Codes of the classes that would leave a part without one of their rows (empty when the split works)."""
    return _short(counts, part_sizes(counts, params))


def _short(counts: np.ndarray, sizes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[int]:
    test, validation, train = sizes
    return [k for k in range(len(counts)) if counts[k] and min(test[k], validation[k], train[k]) < 1]


def assign_parts(y: np.ndarray, params: SplitParams) -> np.ndarray:
    """For each row, its part (TRAIN, VALIDATION or TEST), given only the class codes ``y``.

    Exact sizes from ``part_sizes``, with at least one row of every class in every part. Within a class,
    which rows go where is a seeded uniform shuffle, so the same seed and codes always give the same assignment.
    """
    n = len(y)
    counts = np.zeros(int(y.max()) + 1 if n else 0, dtype=np.int64)
    for start in range(0, n, 1 << 20):  # chunks: bincount would widen all of y to 8-byte integers at once
        counts += np.bincount(y[start : start + (1 << 20)], minlength=len(counts))
    sizes = part_sizes(counts, params)
    short = _short(counts, sizes)
    if short:
        raise DataValidationError(
            f"cannot split {n} rows at test_ratio={params.test_ratio}, validation_ratio={params.validation_ratio}: "
            f"class code(s) {short} (counts {[int(counts[k]) for k in short]}) would leave a part without a row of "
            "that class; every class needs a row in train, validation and test"
        )
    test, validation, train = sizes
    # Per class, shuffle that class's part codes (exact counts) and scatter them onto its rows through a
    # mask: one byte a row for the codes, the mask and the parts, and no index arrays (eight bytes a row).
    rng = np.random.default_rng(params.seed)
    parts = np.empty(n, dtype=np.int8)
    for k in np.flatnonzero(counts):
        codes = np.repeat(np.array([TEST, VALIDATION, TRAIN], dtype=np.int8), [test[k], validation[k], train[k]])
        rng.shuffle(codes)
        parts[y == k] = codes
    return parts


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Share ``total`` rows among classes in proportion to ``counts``: floors first, then the largest
    remainders (lower class code first on ties), so the shares sum to ``total`` exactly."""
    exact = counts * (total / counts.sum())
    share = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(counts)), -(exact - share)))
    share[order[: total - int(share.sum())]] += 1
    return np.minimum(share, counts)


def split_table(table: Path, profile: DataProfile, params: SplitParams, destinations: dict[str, Path]) -> SplitSizes:
    """Write the rows of ``table`` into three new tables (train, validation, test) at ``destinations``.

    Only the target column is held in memory whole (a few bytes a row); the other columns stream
    through one batch at a time, keeping file order inside each part.
    """
    y = lbl.read_codes(table, profile.target, profile.labels, profile.label_kind)
    parts = assign_parts(y, params)
    del y
    table_schema = schema(table)
    writers = [TableWriter(destinations[name], table_schema) for name in PART_NAMES]
    published: list[Path] = []
    try:
        offset = 0
        for batch in prefetch(iter_batches(table)):
            where = parts[offset : offset + batch.num_rows]
            offset += batch.num_rows
            for code, writer in enumerate(writers):
                writer.write(batch.filter(pa.array(where == code)))
        if offset != len(parts):
            raise DataValidationError(f"{table}: read {offset} rows but the target column has {len(parts)}")
        for writer in writers:
            writer.commit()
            published.append(writer.directory)
    except BaseException:
        # All three parts or none: a failure removes what was staged and what was already published.
        for writer in writers:
            writer.abort()
        for directory in published:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    sizes = SplitSizes(*(w.rows for w in writers))
    log.info("split %d rows into train %d, validation %d, test %d (seed %d)", len(parts), *sizes, params.seed)
    return sizes
