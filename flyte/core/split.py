"""Stage 2: stratified train / validation / test split with an explicit seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd
from sklearn.model_selection import train_test_split

from flyte.core.errors import DataValidationError


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


class Split(NamedTuple):
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


#: A stratified three-way split needs a row of every class in each part.
MIN_ROWS_PER_CLASS = 3


def split_dataset(df: pd.DataFrame, target: str, params: SplitParams) -> Split:
    """Split rows three ways, each part keeping the target's class balance.

    The input frame is not changed; each part gets a fresh 0..n-1 index.
    """
    for field_name in ("test_ratio", "validation_ratio"):
        ratio = getattr(params, field_name)
        if not 0.0 < ratio < 1.0:
            raise DataValidationError(f"split {field_name} must be between 0 and 1 exclusive, got {ratio}")
    if target not in df.columns:
        raise DataValidationError(f"target column {target!r} not in table columns {list(df.columns)}")
    counts = df[target].value_counts()
    rare = counts[counts < MIN_ROWS_PER_CLASS]
    if len(rare):
        raise DataValidationError(
            f"target column {target!r}: class(es) {dict(rare.items())} have fewer than {MIN_ROWS_PER_CLASS} rows; "
            "a stratified train/validation/test split needs at least that many of each"
        )
    try:
        rest, test = train_test_split(df, test_size=params.test_ratio, random_state=params.seed, stratify=df[target])
        train, validation = train_test_split(
            rest, test_size=params.validation_ratio, random_state=params.seed, stratify=rest[target]
        )
    except ValueError as exc:  # e.g. a part too small to hold one row of every class
        raise DataValidationError(
            f"cannot split {len(df)} rows with {len(counts)} classes at test_ratio={params.test_ratio}, "
            f"validation_ratio={params.validation_ratio}: {exc}"
        ) from exc
    return Split(*(part.reset_index(drop=True) for part in (train, validation, test)))
