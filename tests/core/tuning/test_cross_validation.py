"""Tests for flyte.core.tuning.cross_validation: exact stratified folds, CV over train + validation only, batch reads."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from flyte.core.tuning import cross_validation

from flyte.core.data import tables
from flyte.core.tuning.cross_validation import assign_folds, cross_validate, fold_assignment
from flyte.core.common.errors import DataValidationError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import CrossValidation, Trial
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, split_frame

FAST = Hyperparameters(max_rounds=30, early_stopping_rounds=5, learning_rate=0.3)


def test_folds_are_exact_stratified_disjoint_and_covering():
    y = np.repeat(np.array([0, 1, 2], dtype=np.int8), [503, 301, 97])
    folds = assign_folds(y, 5, seed=3)
    assert folds.dtype == np.int8 and set(np.unique(folds)) == set(range(5))  # every row has exactly one fold
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == len(y)
    for k, count in enumerate((503, 301, 97)):
        per_fold = np.bincount(folds[y == k], minlength=5)
        assert per_fold.sum() == count and per_fold.max() - per_fold.min() <= 1  # the class shared evenly


def test_folds_are_seeded_and_shuffled_within_each_class():
    y = np.arange(400) % 2
    first = assign_folds(y, 4, seed=11)
    np.testing.assert_array_equal(first, assign_folds(y, 4, seed=11))
    assert not np.array_equal(first, assign_folds(y, 4, seed=12))
    assert not np.array_equal(first[y == 0], np.sort(first[y == 0]))  # not in file order


def test_a_class_smaller_than_the_folds_is_refused():
    y = np.array([0] * 50 + [1] * 2)
    with pytest.raises(DataValidationError, match=r"class\(es\) \['yes'\] have only \[2\].*every fold"):
        assign_folds(y, 3, seed=0, labels=["no", "yes"])


def test_cross_validation_never_reads_the_test_rows(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(rows=300), "y")
    read = []
    real = tables.iter_batches

    def spy(directory, *args, **kwargs):
        read.append(directory)
        return real(directory, *args, **kwargs)

    with mock.patch.object(cross_validation, "iter_batches", spy), mock.patch("flyte.core.data.labels.iter_batches", spy), \
            mock.patch("flyte.core.training.fit.iter_batches", spy):  # fmt: skip
        result = cross_validate(parts["train"], parts["validation"], profile, Trial(0, FAST), CrossValidation(3, 1))
    assert read and {str(p) for p in read} <= {str(parts["train"]), str(parts["validation"])}
    assert len(result.fold_log_loss) == len(result.rounds) == 3


def test_the_folds_cover_exactly_the_train_and_validation_rows(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(rows=300), "y")
    folds = fold_assignment([parts["train"], parts["validation"]], profile, CrossValidation(3, 1))
    assert len(folds) == tables.num_rows(parts["train"]) + tables.num_rows(parts["validation"])
    assert len(folds) < 300  # the test rows are not among them


def test_scores_are_sane_reproducible_and_independent_of_batch_size(tmp_path):
    parts, profile = split_frame(tmp_path, mixed_frame(rows=600), "label", MIXED_CATEGORICAL)
    args = (parts["train"], parts["validation"], profile, Trial(4, FAST), CrossValidation(3, 7))
    first = cross_validate(*args)
    assert first.index == 4 and first.hyperparameters == FAST
    assert first.mean_log_loss == pytest.approx(np.mean(first.fold_log_loss))
    assert first.std_log_loss == pytest.approx(np.std(first.fold_log_loss, ddof=1))
    assert first.mean_log_loss < np.log(3) and min(first.fold_accuracy) > 1 / 3  # better than chance
    assert all(1 <= r <= FAST.max_rounds for r in first.rounds)
    with mock.patch.object(tables, "batch_rows", lambda *a, **k: 64):  # many small batches
        again = cross_validate(*args)
    assert again.fold_log_loss == pytest.approx(first.fold_log_loss, abs=1e-6)
