"""Regression targets in the spec, ingest, profile and split: refusals naming the line, and the target's distribution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.data.dataset import DatasetSpec, diabetes_spec, local_path
from flyte.core.data.ingest import ingest_table
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from flyte.core.data.target import TargetAccumulator, bin_names, distribution


def regression_csv(tmp_path: Path, rows: list[str], name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text("x,y\n" + "\n".join(rows) + "\n")
    return path


def ingest(path: Path, **spec):
    spec = DatasetSpec(source=str(path), target="y", problem_type="regression", **spec)
    return ingest_table(local_path(spec.source), spec, path.parent / "table").profile


def test_problem_type_defaults_to_classification_and_is_never_guessed():
    assert DatasetSpec(source="a.csv", target="y").problem_type == "classification"
    with pytest.raises(DataValidationError, match=r"problem_type must be one of \['classification', 'regression'\], got 'auto'"):
        DatasetSpec(source="a.csv", target="y", problem_type="auto")


@pytest.mark.parametrize(
    "option",
    [{"expected_labels": ["0", "1"]}, {"positive_label": "1"}, {"min_rows_per_class": 3}],
)
def test_classification_options_are_refused_on_a_regression_spec(option):
    with pytest.raises(DataValidationError, match=f"{next(iter(option))} are for classification"):
        DatasetSpec(source="a.csv", target="y", problem_type="regression", **option)


def test_non_numeric_regression_target_is_refused_naming_the_line(tmp_path):
    path = regression_csv(tmp_path, ["1,2.5", "2,3.5", "3,abc", "4,1"])
    with pytest.raises(DataValidationError, match=r"regression target 'y' holds non-numeric value 'abc' at line 4"):
        ingest(path)
    assert not (tmp_path / "table").exists()


def test_infinite_regression_target_is_refused_naming_the_line(tmp_path):
    path = regression_csv(tmp_path, ["1,2.5", "2,inf", "3,1"])
    with pytest.raises(DataValidationError, match=r"column 'y' holds infinite value inf at line 3"):
        ingest(path)


def test_missing_regression_target_is_refused_naming_the_line(tmp_path):
    path = regression_csv(tmp_path, ["1,2.5", "2,?", "3,1"])
    with pytest.raises(DataValidationError, match=r"target column 'y' has missing value\(s\) at line 3"):
        ingest(path, extra_missing_values=["?"])


def test_constant_regression_target_is_refused(tmp_path):
    path = regression_csv(tmp_path, [f"{i},4" for i in range(20)])
    with pytest.raises(DataValidationError, match="'y' is 4 on every row"):
        ingest(path)


def test_parquet_text_target_is_refused_naming_the_row(tmp_path):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": ["1.5", "two", "3"]}), path)
    with pytest.raises(DataValidationError, match=r"column 'y' holds non-numeric value 'two' at row 2; a regression target must be a number"):
        ingest(path)


def test_profile_records_the_target_distribution_not_classes(tmp_path):
    path = regression_csv(tmp_path, [f"{i},{v}" for i, v in enumerate([1, 2, 3, 4, 0, 10, 6, 7, 8, 9, -5])])
    profile = ingest(path)
    found = profile.target_distribution
    assert profile.problem_type == "regression" and profile.class_counts == {} and profile.labels == []
    # Hand-checked: values -5, 0, 1..4, 6..10 (11 rows): sum 45, mean 45/11; median the 6th of the sorted values.
    assert (found.rows, found.min, found.max, found.median) == (11, -5.0, 10.0, 4.0)
    assert found.mean == pytest.approx(45 / 11)
    assert (found.zeros, found.negatives) == (1, 1)
    assert found.q25 == pytest.approx(1.5) and found.q75 == pytest.approx(7.5)


def test_accumulator_keeps_a_bounded_even_sample_with_exact_moments():
    values = np.arange(10_000, dtype=np.float64)
    acc = TargetAccumulator(limit=1_000)
    for start in range(0, len(values), 333):  # batch sizes must not change the sample
        acc.add(values[start : start + 333])
    found = acc.finish()
    assert acc.kept_rows <= 1_000 and acc.stride == 16
    assert (found.rows, found.min, found.max) == (10_000, 0.0, 9_999.0)
    assert found.mean == pytest.approx(4_999.5)
    assert found.median == pytest.approx(4_999.5, abs=20)


def test_bins_are_named_by_their_edges():
    assert bin_names([1.0, 2.5]) == ["< 1", "[1, 2.5)", ">= 2.5"]
    assert distribution(np.arange(100.0), bins=4).bin_edges == pytest.approx([24.75, 49.5, 74.25])


def test_split_balances_over_target_bins_and_reports_each_part(tmp_path):
    spec = diabetes_spec()
    profile = ingest_table(local_path(spec.source), spec, tmp_path / "table", split=SplitParams()).profile
    summary = split_table(tmp_path / "table", profile, SplitParams(), {n: tmp_path / n for n in PART_NAMES})
    assert summary.class_counts == {} and len(summary.target_bins) == 10
    per_part = np.array(list(summary.target_bins.values()))
    assert per_part.sum(axis=0).tolist() == [summary.train, summary.validation, summary.test]
    assert per_part.sum() == 442
    # Every bin has rows in every part, at shares near the parts' own (a hash split balances in expectation).
    assert per_part.min() > 0
    shares = per_part[:, 2] / per_part.sum(axis=1)
    assert abs(shares.mean() - 0.33) < 0.05
    dists = summary.target_distributions
    assert set(dists) == set(PART_NAMES) and dists["test"].rows == summary.test
    assert dists["train"].min >= profile.target_distribution.min and dists["train"].max <= profile.target_distribution.max


def test_split_of_a_regression_target_is_repeatable(tmp_path):
    spec = diabetes_spec()
    profile = ingest_table(local_path(spec.source), spec, tmp_path / "table").profile
    first = split_table(tmp_path / "table", profile, SplitParams(seed=3), {n: tmp_path / "a" / n for n in PART_NAMES})
    second = split_table(tmp_path / "table", profile, SplitParams(seed=3), {n: tmp_path / "b" / n for n in PART_NAMES})
    assert first == second


def test_a_numeric_target_read_as_classes_points_to_the_regression_option(tmp_path, monkeypatch):
    from flyte.core.data import profile

    monkeypatch.setattr(profile, "MAX_CLASSES", 5)
    path = regression_csv(tmp_path, [f"{i},{i * 1.5}" for i in range(30)])
    spec = DatasetSpec(source=str(path), target="y", min_rows_per_class=1)
    with pytest.raises(DataValidationError, match=r'30 classes.*"problem_type": "regression" in the dataset spec'):
        ingest_table(local_path(spec.source), spec, tmp_path / "table")
