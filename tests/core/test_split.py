"""Tests for flyte.core.split: stratified, seeded, three-way, input untouched."""

from __future__ import annotations

import pandas as pd
import pytest

from flyte.core.errors import DataValidationError
from flyte.core.split import SplitParams, split_dataset
from tests.data_factory import binary_frame, mixed_frame


def test_parts_partition_the_rows_with_the_requested_sizes():
    df = binary_frame(rows=300)
    train, validation, test = split_dataset(df, "y", SplitParams(test_ratio=0.2, validation_ratio=0.25, seed=3))
    assert len(test) == 60 and len(validation) == 60 and len(train) == 180
    together = pd.concat([train, validation, test]).sort_values(["a", "b"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, df.sort_values(["a", "b"]).reset_index(drop=True))
    assert all(list(part.index) == list(range(len(part))) for part in (train, validation, test))


def test_every_part_keeps_the_class_balance():
    df = mixed_frame(rows=600)
    overall = df["label"].value_counts(normalize=True)
    for part in split_dataset(df, "label", SplitParams()):
        share = part["label"].value_counts(normalize=True)
        assert (share - overall).abs().max() < 0.02


def test_same_seed_same_split_and_other_seed_other_split():
    df = binary_frame(rows=200)
    first = split_dataset(df, "y", SplitParams(seed=11))
    again = split_dataset(df, "y", SplitParams(seed=11))
    other = split_dataset(df, "y", SplitParams(seed=12))
    pd.testing.assert_frame_equal(first.test, again.test)
    assert not first.test.equals(other.test)


def test_input_frame_is_not_modified():
    df = binary_frame(rows=90)
    before = df.copy()
    split_dataset(df, "y", SplitParams())
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("field,value", [("test_ratio", 0.0), ("test_ratio", 1.0), ("validation_ratio", -0.1)])
def test_ratios_outside_zero_one_are_refused(field, value):
    params = SplitParams(**{field: value})
    with pytest.raises(DataValidationError, match=f"split {field} must be between 0 and 1 exclusive, got {value}"):
        split_dataset(binary_frame(), "y", params)


def test_a_class_too_rare_to_stratify_is_named():
    df = pd.DataFrame({"a": range(10), "y": ["p"] * 8 + ["q"] * 2})
    with pytest.raises(DataValidationError, match=r"class\(es\) \{'q': 2\} have fewer than 3 rows"):
        split_dataset(df, "y", SplitParams())


def test_parts_too_small_for_every_class_are_reported():
    df = pd.DataFrame({"a": range(12), "y": list("abcd") * 3})
    with pytest.raises(DataValidationError, match="cannot split 12 rows with 4 classes at test_ratio=0.1"):
        split_dataset(df, "y", SplitParams(test_ratio=0.1))


def test_missing_target_column():
    with pytest.raises(DataValidationError, match="target column 'label' not in table columns"):
        split_dataset(binary_frame(), "label", SplitParams())
