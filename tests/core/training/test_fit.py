"""Tests for flyte.core.training.fit: label mapping, categories, missing values, determinism, early stopping, memory modes."""

from __future__ import annotations

import numpy as np
import pytest

from flyte.core.data import tables
from flyte.core.common.errors import DataValidationError
from flyte.core.training import fit as fit_module
from flyte.core.training.fit import train_model
from flyte.core.training.fit_memory import estimated_fit_bytes, replayable, use_external_memory
from flyte.core.training.hyperparameters import Hyperparameters
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, read_frame, split_frame

FAST = Hyperparameters(max_rounds=60, early_stopping_rounds=10, learning_rate=0.3)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return split_frame(tmp_path_factory.mktemp("mixed"), mixed_frame(360), "label", MIXED_CATEGORICAL, seed=5)


def fit(parts, profile, params=FAST, **kwargs):
    return train_model(parts["train"], parts["validation"], profile, params, **kwargs)


def accuracy(model, table) -> float:
    df = read_frame(table)
    proba = model.predict_proba(tables.read_columns(table, model.schema.features))
    return float((np.asarray(model.schema.label_texts)[proba.argmax(axis=1)] == df[model.schema.target].astype(str)).mean())


def test_binary_integer_labels_keep_their_order(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(rows=200), "y")
    model = fit(parts, profile)
    assert model.schema.labels == [0, 1] and model.schema.label_kind == "int"
    assert model.schema.features == ["a", "b"]
    proba = model.predict_proba(tables.read_columns(parts["validation"], ["a", "b"]))
    assert proba.shape == (tables.num_rows(parts["validation"]), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert accuracy(model, parts["test"]) > 0.8


def test_multiclass_string_labels_categories_and_missing_values(mixed):
    parts, profile = mixed
    train = read_frame(parts["train"])
    assert train["x2"].isna().any() and train["colour"].isna().any()  # the data really has gaps
    model = fit(parts, profile)
    assert model.schema.labels == ["alpha", "beta", "gamma"]
    assert model.schema.categories["colour"] == ["blue", "green", "red"]
    assert model.schema.categories["size"] == ["L", "M", "S", "XL"]
    assert accuracy(model, parts["test"]) > 0.7  # learnable signal; chance is about 0.33
    assert model.schema.feature_importance["colour"] > 0  # the native categorical split was used


def test_unseen_category_at_prediction_is_treated_as_missing(mixed):
    parts, profile = mixed
    model = fit(parts, profile)
    test = tables.read_columns(parts["test"], model.schema.features)
    novel = test.set_column(test.schema.get_field_index("colour"), "colour", [["purple"] * test.num_rows])
    as_missing = test.set_column(test.schema.get_field_index("colour"), "colour", [[None] * test.num_rows])
    np.testing.assert_allclose(model.predict_proba(novel), model.predict_proba(as_missing))


def test_same_seed_gives_identical_models_whatever_the_thread_count(mixed):
    parts, profile = mixed
    one, two = fit(parts, profile, n_threads=1), fit(parts, profile, n_threads=2)
    test = tables.read_columns(parts["test"], one.schema.features)
    np.testing.assert_array_equal(one.predict_proba(test), two.predict_proba(test))
    assert one.schema.best_iteration == two.schema.best_iteration


def test_batch_size_does_not_change_the_model(mixed, monkeypatch):
    """The iterator hands XGBoost many small batches or one big one; the quantised matrix is the same."""
    parts, profile = mixed
    whole = fit(parts, profile)
    monkeypatch.setattr(tables, "batch_rows", lambda *_args, **_kw: 37)
    batched = fit(parts, profile)
    test = tables.read_columns(parts["test"], whole.schema.features)
    np.testing.assert_allclose(whole.predict_proba(test), batched.predict_proba(test), rtol=1e-6)


def test_the_booster_input_is_column_major_and_its_layout_changes_nothing(tmp_path, monkeypatch):
    from flyte.core.artifact import model as model_module

    parts, profile = split_frame(tmp_path, binary_frame(rows=400), "y")
    by_column = fit(parts, profile)
    test = tables.read_columns(parts["test"], by_column.schema.features)
    data, _ = by_column.booster_input(test)
    assert data.flags.f_contiguous and not data.flags.c_contiguous
    expected = by_column.predict_proba(test)
    original = model_module.float_matrix
    monkeypatch.setattr(model_module, "float_matrix", lambda batch, positions, row_major=True: original(batch, positions))
    by_row = fit(parts, profile)
    assert by_row.booster_input(test)[0].flags.c_contiguous
    assert by_column.booster.save_raw("ubj") == by_row.booster.save_raw("ubj")
    np.testing.assert_array_equal(by_row.predict_proba(test), expected)


def test_keeping_the_batches_for_xgboosts_later_passes_does_not_change_the_model(mixed, monkeypatch):
    parts, profile = mixed
    reads = []
    original = fit_module._TableIter.reset

    def counted_reset(self):
        reads.append(self.reads)
        original(self)

    monkeypatch.setattr(fit_module._TableIter, "reset", counted_reset)
    in_memory = Hyperparameters(**{**FAST.__dict__, "external_memory": "never"})
    kept = fit(parts, profile, in_memory, memory_budget=2 << 30)
    kept_reads, reads[:] = max(reads), []
    decoded = fit(parts, profile, in_memory, memory_budget=400 << 20)  # the fit's estimate alone passes half of it
    assert kept_reads == 1 and max(reads) > 1  # XGBoost passes over its input more than once
    assert kept.booster.save_raw("ubj") == decoded.booster.save_raw("ubj")


def test_batches_are_kept_while_the_fit_and_they_stay_within_half_the_budget():
    # 5M rows x 8 features (4M train and validation): the estimate and 257 MB of batches stay within 1 GiB of 2 GiB.
    assert replayable(4_000_000, 8, memory_budget=2 << 30)
    assert not replayable(8_000_000, 8, memory_budget=2 << 30)  # 10M rows: the fit alone is near 900 MB
    assert replayable(200, 50_000, memory_budget=2 << 30)  # a wide table's 80 MB
    assert not replayable(4_000_000, 8, memory_budget=1 << 30)
    # No budget known: a fixed cap on the batches alone.
    assert replayable(1000, 1000) and not replayable(100_000, 50_000)


def test_another_seed_changes_the_sampled_model(mixed):
    parts, profile = mixed
    a = fit(parts, profile)
    b = fit(parts, profile, Hyperparameters(**{**FAST.__dict__, "seed": 99}))
    test = tables.read_columns(parts["test"], a.schema.features)
    assert not np.array_equal(a.predict_proba(test), b.predict_proba(test))


def test_early_stopping_keeps_only_rounds_up_to_the_best(mixed):
    parts, profile = mixed
    model = fit(parts, profile, Hyperparameters(max_rounds=400, early_stopping_rounds=5, learning_rate=0.5))
    assert model.schema.best_iteration < 399
    assert model.booster.num_boosted_rounds() == model.schema.best_iteration + 1


def test_external_memory_trains_a_comparable_model(mixed, tmp_path):
    parts, profile = mixed
    in_memory = fit(parts, profile, Hyperparameters(**{**FAST.__dict__, "external_memory": "never"}))
    on_disk = fit(parts, profile, Hyperparameters(**{**FAST.__dict__, "external_memory": "always"}), scratch=tmp_path)
    assert abs(accuracy(on_disk, parts["test"]) - accuracy(in_memory, parts["test"])) < 0.05
    assert list(tmp_path.iterdir()) == []  # the page cache on disk is removed after training


def test_auto_external_memory_follows_the_estimate_against_the_budget():
    # 10M rows (6.7M train + validation) measured 751 MiB in the fit pod; 100M would not fit 2 GiB.
    assert estimated_fit_bytes(6_700_000, 8) == pytest.approx(751 << 20, rel=0.1)
    assert not use_external_memory("auto", rows=6_700_000, features=8, memory_budget=2 << 30)
    assert use_external_memory("auto", rows=67_000_000, features=8, memory_budget=2 << 30)
    assert not use_external_memory("auto", rows=100_000_000, features=8, memory_budget=None)
    assert use_external_memory("always", rows=10, features=1, memory_budget=None)
    assert not use_external_memory("never", rows=10**9, features=8, memory_budget=1 << 30)


def test_label_in_a_part_unknown_to_the_profile_is_refused(mixed):
    parts, profile = mixed
    narrowed = type(profile)(**{**profile.__dict__, "labels": ["alpha", "beta"]})
    with pytest.raises(DataValidationError, match=r"label 'gamma' is not one of the known labels \['alpha', 'beta'\]"):
        fit(parts, narrowed)


def test_the_reference_built_beside_the_fit_is_the_one_built_alone(mixed):
    """The drift reference is read on another thread while the booster trains: the same bins and counts."""
    from flyte.core.artifact.drift import build_reference

    parts, profile = mixed
    model = fit(parts, profile)
    alone = build_reference(parts["train"], model.schema.features, model.schema.categories)
    assert model.reference == alone and model.reference.rows == tables.num_rows(parts["train"])


def test_a_failing_reference_fails_the_fit_with_its_own_error(mixed, monkeypatch):
    parts, profile = mixed

    def broken(*args, **kwargs):
        raise DataValidationError("train: reference could not be read")

    monkeypatch.setattr(fit_module, "build_reference", broken)
    with pytest.raises(DataValidationError, match="reference could not be read"):
        fit(parts, profile)


def test_a_leaking_feature_refuses_the_fit_before_the_reference_or_the_booster_start(tmp_path, monkeypatch):
    parts, profile = split_frame(tmp_path, binary_frame(rows=300).assign(leak=lambda d: d["y"] * 2.0), "y")
    started = []
    monkeypatch.setattr(fit_module, "build_reference", lambda *a, **k: started.append("reference"))
    monkeypatch.setattr(fit_module, "_boost", lambda *a, **k: started.append("boost"))
    with pytest.raises(DataValidationError, match="leak"):
        fit(parts, profile)
    assert started == []


def test_the_reference_overlaps_the_fit_only_when_memory_allows():
    from flyte.core.training.fit_memory import overlap_reference

    assert overlap_reference(535_729, 670_025, 8, memory_budget=2 << 30)  # 1M rows x 8: about 80 MB beside the fit
    assert overlap_reference(6_700_000, 8_375_000, 8, memory_budget=2 << 30)  # 10M rows: still within half of 2 GiB
    assert not overlap_reference(67_000, 83_000, 1000, memory_budget=2 << 30)  # a 1,000-wide sample: 1 GB alone
    assert overlap_reference(1000, 1200, 8) and not overlap_reference(100_000, 120_000, 1000)  # no budget known
    # 50,000 features x 200 rows: the fit's estimate says little, and beside it the reference took the pod past 2 GiB
    assert not overlap_reference(200, 250, 50_000, memory_budget=2 << 30)


def test_a_reference_too_big_to_overlap_is_built_after_the_booster(mixed, monkeypatch):
    parts, profile = mixed
    order = []
    real_boost, real_reference = fit_module._boost, fit_module.build_reference
    monkeypatch.setattr(fit_module, "overlap_reference", lambda *a, **k: False)
    monkeypatch.setattr(fit_module, "_boost", lambda *a, **k: order.append("boost") or real_boost(*a, **k))
    monkeypatch.setattr(fit_module, "build_reference", lambda *a, **k: order.append("reference") or real_reference(*a, **k))
    model = fit(parts, profile)
    assert order == ["boost", "reference"] and model.reference.rows == tables.num_rows(parts["train"])
