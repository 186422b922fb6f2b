"""The leakage check: a feature that alone (nearly) determines the target is refused unless allowed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.data import leakage
from flyte.core.data.leakage import (
    BINS, DEFAULT_THRESHOLD, MIN_BIN_ROWS, LeakCheck, binned_r2, check_leakage, lambda_score, numeric_r2, numeric_scores,
)

LABELS = ["0", "1"]


def table(tmp_path, columns: dict, name: str = "train"):
    directory = tmp_path / name
    directory.mkdir()
    pq.write_table(pa.table(columns), directory / "part-00000.parquet")
    return directory


def check(directory, features, categories=None, labels=LABELS, kind="int", allowed=(), threshold=DEFAULT_THRESHOLD):
    return check_leakage(directory, features, categories or {}, "y", labels, kind, threshold, list(allowed), seed=0)


def legit(rows: int = 2000, seed: int = 0):
    """A binary target that a feature predicts well but not perfectly (a strong, legitimate feature)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    y = ((a + 0.5 * b + rng.normal(scale=0.3, size=rows)) > 0).astype(np.int64)
    return a, b, y


def test_a_copy_of_the_target_is_refused_naming_it_and_its_score(tmp_path):
    a, b, y = legit()
    directory = table(tmp_path, {"a": a, "copy": y.astype(float), "y": y})
    with pytest.raises(DataValidationError, match=r"feature 'copy' alone predicts target 'y' .* leak score 1\.0000 > threshold 0\.95"):
        check(directory, ["a", "copy"])


def test_a_near_copy_is_refused(tmp_path):
    rng = np.random.default_rng(1)
    a, b, y = legit()
    noisy = np.where(rng.random(len(y)) < 0.01, 1 - y, y) * 10.0 + rng.normal(scale=0.1, size=len(y))
    directory = table(tmp_path, {"a": a, "near": noisy, "y": y})
    with pytest.raises(DataValidationError, match="feature 'near'"):
        check(directory, ["a", "near"])


def test_a_strong_legitimate_feature_passes_with_its_score_recorded(tmp_path):
    a, b, y = legit()
    result = check(table(tmp_path, {"a": a, "b": b, "y": y}), ["a", "b"])
    assert 0.3 < result.scores["a"] < DEFAULT_THRESHOLD  # strong, but far from the target itself
    assert result.scores["b"] < result.scores["a"]
    assert (result.rows, result.threshold, result.allowed) == (len(y), DEFAULT_THRESHOLD, [])


def test_an_allowed_column_passes_and_is_recorded(tmp_path):
    a, b, y = legit()
    result = check(table(tmp_path, {"a": a, "copy": y.astype(float), "y": y}), ["a", "copy"], allowed=["copy"])
    assert result.allowed == ["copy"] and result.over == ["copy"] and result.scores["copy"] == 1.0


def test_a_categorical_copy_of_a_multiclass_text_target_is_refused(tmp_path):
    rng = np.random.default_rng(2)
    y = rng.choice(["alpha", "beta", "gamma"], size=600)
    code = np.array(["A", "B", "C"])[np.searchsorted(["alpha", "beta", "gamma"], y)]
    directory = table(tmp_path, {"x": rng.normal(size=600), "code": code, "y": y})
    with pytest.raises(DataValidationError, match="feature 'code'"):
        check(directory, ["x", "code"], {"code": ["A", "B", "C"]}, ["alpha", "beta", "gamma"], "str")


def test_ids_and_constants_do_not_look_predictive_even_when_rows_are_sorted_by_label(tmp_path):
    rng = np.random.default_rng(3)
    y = np.sort(rng.integers(0, 2, size=1000))
    ids = rng.permutation(1000).astype(float)  # unique per row, unrelated to the label
    ids_text = np.array([f"id{i}" for i in range(1000)])  # a unique-per-row category: every category has one row
    directory = table(tmp_path, {"id": ids, "const": np.ones(1000), "tag": ids_text, "y": y})
    result = check(directory, ["id", "const", "tag"], {"tag": list(np.sort(ids_text))})
    assert result.scores["const"] == 0.0 and result.scores["tag"] == 0.0
    assert result.scores["id"] < 0.3


def test_a_row_number_of_a_table_sorted_by_label_is_refused(tmp_path):
    y = np.repeat([0, 1], 500)
    directory = table(tmp_path, {"row": np.arange(1000.0), "y": y})
    with pytest.raises(DataValidationError, match="feature 'row'"):
        check(directory, ["row"])


def test_missing_values_form_their_own_bin():
    x = np.array([[np.nan] * 50 + [1.0] * 50]).T
    y = np.array([0] * 50 + [1] * 50)
    assert numeric_scores(x, y, 2)[0] == 1.0  # missingness itself gives the class away


def per_column_codes(v: np.ndarray, rows_per_bin: int) -> np.ndarray:
    """The bins by their definition, one column alone: cut points at the present values' ranks k * present / bins,
    a value's code the number of cut points below it, missing values in bin BINS."""
    present = np.sort(v[~np.isnan(v)])
    bins = min(max(len(present) // rows_per_bin, 1), BINS)
    edges = [present[min(k * len(present) // bins, len(present) - 1)] for k in range(1, bins)]
    codes = np.array([sum(value > e for e in edges) for value in v])
    return np.where(np.isnan(v), BINS, codes)


@pytest.mark.parametrize("chunk_cells", [leakage._CHUNK_CELLS, 700 * (BINS - 1) * 2])  # one step, or two columns a step
def test_scores_equal_each_column_binned_alone(monkeypatch, chunk_cells):
    """Ties, missing values, a constant, an all-missing and a two-valued column; class and numeric targets."""
    monkeypatch.setattr(leakage, "_CHUNK_CELLS", chunk_cells)
    rng = np.random.default_rng(3)
    rows = 700
    x = np.column_stack([
        rng.normal(size=rows), np.round(rng.normal(size=rows), 1), np.full(rows, 2.5), np.full(rows, np.nan),
        rng.integers(0, 2, rows).astype(float), np.where(rng.random(rows) < 0.3, np.nan, rng.exponential(size=rows)),
        rng.normal(size=rows),
    ]).astype(np.float32)  # fmt: skip
    y = (x[:, 0] + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    expected = [lambda_score(per_column_codes(x[:, j], MIN_BIN_ROWS), y, BINS + 1, 2) for j in range(x.shape[1])]
    assert numeric_scores(x, y, 2).tolist() == expected
    target = 2.0 * np.nan_to_num(x[:, 0]) + rng.normal(size=rows)
    expected_r2 = [binned_r2(per_column_codes(x[:, j], 2 * MIN_BIN_ROWS), target, BINS + 1) for j in range(x.shape[1])]
    assert numeric_r2(x, target).tolist() == expected_r2
    assert expected[0] > 0.3 and expected[2] == expected[3] == 0.0  # the informative column scores, the empty ones not


def test_lambda_gives_no_credit_to_bins_below_the_minimum_rows():
    bins = np.arange(10)  # ten bins of one row each: pure, but by chance
    y = np.array([0, 1] * 5)
    assert lambda_score(bins, y, 10, 2) == 0.0


def test_a_large_table_is_scored_on_a_bounded_seeded_sample(tmp_path, monkeypatch):
    import flyte.core.data.leakage as leakage

    monkeypatch.setattr(leakage, "SAMPLE_ROWS", 500)
    a, b, y = legit(rows=3000)
    directory = table(tmp_path, {"a": a, "y": y})
    first, again = check(directory, ["a"]), check(directory, ["a"])
    assert first.rows == 500 and first.scores == again.scores


def test_the_record_round_trips_and_a_bad_one_is_refused(tmp_path):
    record = LeakCheck(threshold=0.9, scores={"a": 0.5}, allowed=["a"], rows=10, seed=3)
    assert LeakCheck.from_json(record.to_json(), tmp_path) == record
    with pytest.raises(DataValidationError, match="not a leakage record"):
        LeakCheck.from_json('{"threshold": 1}', tmp_path / "leakage.json")


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5, True])
def test_a_leak_threshold_outside_zero_to_one_is_refused(tmp_path, threshold):
    with pytest.raises(DataValidationError, match="leak_threshold"):
        check_leakage(tmp_path / "absent", ["x"], {}, "y", ["0", "1"], "int", threshold, [], seed=0)
