"""Stage 2: train / validation / test split by each row's own hash, seeded, streamed from one table to three."""

# Why a hash of the row rather than a shuffle of the table: see flyte/core/data/row_hash.py. The price is that the
# parts are stratified in expectation only (every class's rows fall in each part with the same probabilities),
# not exactly; the realised shares are reported in the split's summary, the model card and the manifest.

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile
from flyte.core.common.errors import DataValidationError
from flyte.core.data.target import REGRESSION, PartTargets, TargetDistribution, values as target_values
from flyte.core.data.row_hash import HASH_VERSION, parts_from_u, row_u
from flyte.core.common.validation import check_types, require, strict
from flyte.core.data.tables import TableWriter, iter_batches, prefetch, schema

log = logging.getLogger(__name__)

#: Part codes in the assignment array.
TRAIN, VALIDATION, TEST = 0, 1, 2
PART_NAMES = ("train", "validation", "test")
#: The split method recorded in a model's manifest: a row's part from the hash of its content or of its key.
METHOD = "row-hash"


@strict
@dataclass
class SplitParams:
    """How rows are shared out.

    test_ratio: each row's probability of landing in the test part (the seed example's 0.33).
    validation_ratio: each remaining row's probability of landing in the validation part (early stopping).
    seed: drives the row hash; the same seed and row always give the same part.
    key_column: hash only this column's value instead of the whole row, so rows sharing a key (a patient,
        a customer) share a part. It must be a column of the ingested table (a feature); "" hashes every
        column, the target included.
    """

    test_ratio: float = 0.33
    validation_ratio: float = 0.2
    seed: int = 7
    key_column: str = ""

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("test_ratio", "validation_ratio"):
            ratio = getattr(self, name)
            require(0.0 < ratio < 1.0, f"split {name} must be between 0 and 1 exclusive, got {ratio}")
        require(self.seed >= 0, f"split seed must be 0 or more, got {self.seed}")


@dataclass
class SplitRule:
    """The rule that decided every row's part, as a model's manifest records it: enough to recompute, for any
    row holding the hashed columns, which part it fell in (what the gate needs to find a champion's unseen rows).

    method: ``row-hash`` ("" when unknown: a model split before the rule was recorded).
    hash_version: the canonical form hashed (``row_hash.HASH_VERSION``).
    seed / test_ratio / validation_ratio / key_column: as in SplitParams.
    """

    method: str = ""
    hash_version: int = 0
    seed: int = 0
    test_ratio: float = 0.0
    validation_ratio: float = 0.0
    key_column: str = ""


def rule_of(params: SplitParams) -> SplitRule:
    """The rule ``params`` split by."""
    return SplitRule(METHOD, HASH_VERSION, params.seed, params.test_ratio, params.validation_ratio, params.key_column)


@dataclass
class SplitSummary:
    """What the split did: its rule, and each class's rows in each part.

    train / validation / test: rows in each part.
    class_counts: each class (its label text) to its rows in [train, validation, test].
    class_shares: each class to the fraction of its rows in [train, validation, test] (each sums to 1); with
        the split stratified in expectation only, these are near, not equal to, the part fractions.
    target_bins: for a regression target (no classes), each of its quantile bins (over the whole table) to its
        rows in [train, validation, test]: the split balances these as it balances classes, in expectation.
    target_distributions: for a regression target, each part's name to its realised target distribution.
    """

    rule: SplitRule = field(default_factory=SplitRule)
    train: int = 0
    validation: int = 0
    test: int = 0
    class_counts: dict[str, list[int]] = field(default_factory=dict)
    class_shares: dict[str, list[float]] = field(default_factory=dict)
    target_bins: dict[str, list[int]] = field(default_factory=dict)
    target_distributions: dict[str, TargetDistribution] = field(default_factory=dict)


class SplitSizes(NamedTuple):
    train: int
    validation: int
    test: int


def expected_shares(params: SplitParams) -> tuple[float, float, float]:
    """Each row's probability of landing in train, validation and test."""
    validation = (1.0 - params.test_ratio) * params.validation_ratio
    return 1.0 - params.test_ratio - validation, validation, params.test_ratio


def part_sizes(counts: np.ndarray, params: SplitParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of each class (by code) in test, validation and train if the parts were cut exactly to their fractions.

    The hashed split meets these only in expectation; ingest uses them to refuse, before any work, a class so
    small that even an exact split would leave a part without it. Test: ceil(test_ratio * n) rows, validation
    ceil(validation_ratio * rest), shared between classes in proportion to their counts (largest remainders).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    test = _allocate(counts, math.ceil(params.test_ratio * n))
    rest = counts - test
    validation = _allocate(rest, math.ceil(params.validation_ratio * int(rest.sum())))
    return test, validation, rest - validation


def unsplittable(counts: np.ndarray, params: SplitParams) -> list[int]:
    """Codes of the classes an exact split would leave missing from a part (empty when it works)."""
    return _short(counts, part_sizes(counts, params))


def _short(counts: np.ndarray, sizes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[int]:
    test, validation, train = sizes
    return [k for k in range(len(counts)) if counts[k] and min(test[k], validation[k], train[k]) < 1]


def _allocate(counts: np.ndarray, total: int) -> np.ndarray:
    """Share ``total`` rows among classes in proportion to ``counts``: floors first, then the largest
    remainders (lower class code first on ties), so the shares sum to ``total`` exactly."""
    exact = counts * (total / counts.sum())
    share = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(counts)), -(exact - share)))
    share[order[: total - int(share.sum())]] += 1
    return np.minimum(share, counts)


def hashed_columns(rule: SplitRule, columns: list[str]) -> list[str]:
    """The columns ``rule`` hashes, out of a table's ``columns`` (its target and features)."""
    return [rule.key_column] if rule.key_column else list(columns)


def assign_parts(batch: pa.RecordBatch | pa.Table, rule: SplitRule, target: str, label_kind: str) -> np.ndarray:
    """Each row's part (TRAIN, VALIDATION or TEST) under ``rule``, from the row alone.

    Without a key column every column of ``batch`` is hashed (``target`` through its label text, read as
    ``label_kind``; "" for a regression target, hashed as the number it is); with one, only that column.
    """
    columns = hashed_columns(rule, batch.schema.names)
    u = row_u(batch, columns, rule.seed, target, label_kind)
    return parts_from_u(u, rule.test_ratio, rule.validation_ratio, (TRAIN, VALIDATION, TEST))


def split_table(table: Path, profile: DataProfile, params: SplitParams, destinations: dict[str, Path]) -> SplitSummary:
    """Write the rows of ``table`` into three new tables (train, validation, test) at ``destinations``.

    Streams one batch at a time, keeping file order inside each part. Refuses (and leaves no part behind) a
    key column the table lacks or that has missing values, and a class that ended up with no row in a part.
    """
    table_schema = schema(table)
    rule = rule_of(params)
    key = params.key_column
    if key and key not in table_schema.names:
        names = ", ".join(table_schema.names)
        raise DataValidationError(
            f"split key_column {key!r} is not a column of the ingested table (columns: {names[:120]}); "
            "it must be the target or a feature"
        )
    regression = profile.problem_type == REGRESSION
    code_of = {t: i for i, t in enumerate(profile.labels)}
    counts = np.zeros((len(profile.labels), 3), dtype=np.int64)
    numbers = PartTargets(profile.target_distribution.bin_edges if regression else [])
    # A regression target is hashed as the number it is, like any numeric column; a class through its label text.
    hashed_target = "" if regression else profile.target
    writers = [TableWriter(destinations[name], table_schema) for name in PART_NAMES]
    published: list[Path] = []
    try:
        for batch in prefetch(iter_batches(table)):
            if key and batch.column(key).null_count:
                raise DataValidationError(f"{table}: split key_column {key!r} has missing values; every row needs a key")
            parts = assign_parts(batch, rule, hashed_target, profile.label_kind)
            if regression:
                numbers.add(target_values(batch.column(profile.target), f"target {profile.target!r}"), parts)
            else:
                y = lbl.codes(batch.column(profile.target), profile.label_kind, code_of, where=f"target {profile.target!r}")
                counts += np.bincount(y.astype(np.int64) * 3 + parts, minlength=counts.size).reshape(counts.shape)
            for code, writer in enumerate(writers):
                writer.write(batch.filter(pa.array(parts == code)))
        _refuse_missing_classes(numbers.counts.sum(axis=0, keepdims=True) if regression else counts,
                                ["(all rows)"] if regression else profile.labels, params)  # fmt: skip
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
    if regression:
        summary = summarize(rule, [], numbers.counts.sum(axis=0, keepdims=True))
        summary.class_counts, summary.class_shares = {}, {}
        summary.target_bins, summary.target_distributions = numbers.bins(), numbers.distributions(PART_NAMES)
    else:
        summary = summarize(rule, profile.labels, counts)
    log.info("split %d rows into train %d, validation %d, test %d (row hash v%d, seed %d%s); %s",
             summary.train + summary.validation + summary.test, summary.train, summary.validation, summary.test,
             HASH_VERSION, params.seed, f", key {key!r}" if key else "",
             f"rows per target bin {summary.target_bins}" if regression else f"class shares {summary.class_shares}")  # fmt: skip
    return summary


def summarize(rule: SplitRule, labels: list[str], counts: np.ndarray) -> SplitSummary:
    """The SplitSummary of per-class, per-part row ``counts`` (classes x [train, validation, test])."""
    totals = counts.sum(axis=0)
    return SplitSummary(
        rule=rule, train=int(totals[TRAIN]), validation=int(totals[VALIDATION]), test=int(totals[TEST]),
        class_counts={t: [int(n) for n in counts[k]] for k, t in enumerate(labels)},
        class_shares={t: [round(float(n) / max(int(counts[k].sum()), 1), 6) for n in counts[k]] for k, t in enumerate(labels)},
    )  # fmt: skip


def _refuse_missing_classes(counts: np.ndarray, labels: list[str], params: SplitParams) -> None:
    """Every class needs a row in train (to be learned), validation (early stopping) and test (its AUC)."""
    for k, row in enumerate(counts):
        if row.sum() and row.min() == 0:
            part = PART_NAMES[int(np.argmin(row))]
            need = math.ceil(3 / min(expected_shares(params)))
            raise DataValidationError(
                f"cannot split: class {labels[k]!r} ({int(row.sum())} rows) got no row in {part} (train {row[TRAIN]}, "
                f"validation {row[VALIDATION]}, test {row[TEST]}) at test_ratio={params.test_ratio}, "
                f"validation_ratio={params.validation_ratio}, seed={params.seed}; each row's part is drawn by its hash, "
                f"so a class needs about {need} rows or more, or larger ratios"
            )
