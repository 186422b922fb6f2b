"""Tests for flyte.core.artifact.drift: the training reference, bin counting and PSI, on tiny hand-checked tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from flyte.core.data.dataset import DATA_DIR, PIMA_COLUMNS
from flyte.core.artifact.drift import MISSING_BIN, UNSEEN_BIN, DriftCounter, build_reference, read_reference, summarize
from flyte.core.artifact.drift_stats import psi
from flyte.core.artifact.drift_stats import PSEUDOCOUNT, chi_square_p
from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import TableWriter


def write(tmp_path, frame: pd.DataFrame, name: str = "train"):
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with TableWriter(tmp_path / name, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=7):  # several batches: counts must add up across them
            writer.write(batch)
        writer.commit()
    return tmp_path / name


def train_frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=n)
    x[::10] = np.nan
    return pd.DataFrame({"x": x, "c": rng.choice(["a", "b", "c"], size=n)})


#: When drift is flagged, as config sets it: PSI past 0.25, from 30 rows, family-wise p below 0.01.
RULE = dict(threshold=0.25, min_rows=30, alpha=0.01)


def test_counts_do_not_depend_on_the_block_size(tmp_path, monkeypatch):
    """Numeric values are binned a block of rows at a time: a block boundary must not lose or move a row."""
    from flyte.core.artifact import drift

    table = write(tmp_path, train_frame(500))
    whole = build_reference(table, ["x", "c"], {"c": ["a", "b", "c"]})
    monkeypatch.setattr(drift, "BLOCK_ROWS", 3)  # blocks end inside every 7-row batch
    assert build_reference(table, ["x", "c"], {"c": ["a", "b", "c"]}) == whole
    assert sum(whole.features["x"].counts) == 500


def test_psi_by_hand():
    # shares (50.5/101, 50.5/101) against (25.5/101, 75.5/101): every bin gets half a row first
    e, a = np.array([50.5, 50.5]) / 101, np.array([25.5, 75.5]) / 101
    assert psi(np.array([50, 50]), np.array([25, 75])) == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    # an empty bin weighs as half a row, so PSI stays finite and small samples do not explode
    e, a = np.array([10.5, PSEUDOCOUNT]) / 11, np.array([5.5, 5.5]) / 11
    assert psi(np.array([10, 0]), np.array([5, 5])) == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    assert psi(np.array([3, 7]), np.array([30, 70])) < 0.002  # the same shares at another scale: smoothing only
    assert psi(np.array([0, 0]), np.array([1, 1])) == 0.0


def test_reference_bins_every_training_row(tmp_path):
    frame = train_frame()
    ref = build_reference(write(tmp_path, frame), ["x", "c"], {"c": ["a", "b", "c"]})
    assert ref.rows == 200
    x, c = ref.features["x"], ref.features["c"]
    assert x.kind == "numeric" and len(x.edges) == 9 and x.edges == sorted(x.edges)
    assert sum(x.counts) == 200 and x.counts[-1] == 20  # the missing bin: every tenth value
    assert all(abs(n - 18) <= 1 for n in x.counts[:-1])  # deciles of the 180 present values
    assert c.bin_names() == ["a", "b", "c", UNSEEN_BIN, MISSING_BIN]
    assert c.counts[:3] == [int((frame.c == k).sum()) for k in "abc"] and c.counts[3:] == [0, 0]
    assert build_reference(write(tmp_path, frame, "again"), ["x", "c"], {"c": ["a", "b", "c"]}) == ref  # seeded


def test_identical_rows_have_zero_drift_and_a_shift_is_flagged(tmp_path):
    frame = train_frame()
    ref = build_reference(write(tmp_path, frame), ["x", "c"], {"c": ["a", "b", "c"]})
    same = DriftCounter(ref)
    same.add(pa.Table.from_pandas(frame))
    summary = summarize(ref, same, **RULE)
    assert [d.psi for d in summary.features] == [0.0, 0.0] and summary.flagged == []
    assert summary.rows == summary.reference_rows == 200

    shifted = frame.assign(x=frame.x + 100, c="a")
    moved = DriftCounter(ref)
    moved.add(pa.Table.from_pandas(shifted))
    summary = summarize(ref, moved, **RULE)
    assert sorted(summary.flagged) == ["c", "x"] and all(d.psi > 1 for d in summary.features)
    x = summary.features[0]
    assert x.batch_share[-2] == pytest.approx(0.9) and x.batch_share[-1] == pytest.approx(0.1)  # all above the top edge


def test_unseen_and_missing_categories_have_their_own_bins(tmp_path):
    ref = build_reference(write(tmp_path, train_frame()), ["x", "c"], {"c": ["a", "b", "c"]})
    counter = DriftCounter(ref)
    counter.add(pa.table({"x": [0.0, None, 1.0], "c": ["zz", None, "a"]}))
    assert counter.counts["c"].tolist() == [1, 0, 0, 1, 1]
    assert counter.counts["x"][-1] == 1


def test_a_reference_that_does_not_match_the_model_is_refused(tmp_path):
    ref = build_reference(write(tmp_path, train_frame()), ["x", "c"], {"c": ["a", "b", "c"]})
    data = ref.to_json().encode()
    assert read_reference(data, tmp_path / "r.json", ["x", "c"], {"c": ["a", "b", "c"]}) == ref
    with pytest.raises(DataValidationError, match="describes features"):
        read_reference(data, tmp_path / "r.json", ["c", "x"], {"c": ["a", "b", "c"]})
    with pytest.raises(DataValidationError, match="feature 'c' does not match"):
        read_reference(data, tmp_path / "r.json", ["x", "c"], {"c": ["a", "b"]})
    with pytest.raises(DataValidationError, match="not a drift reference"):
        read_reference(b"[]", tmp_path / "r.json", ["x", "c"], {"c": ["a", "b", "c"]})


def test_the_chi_square_p_value_by_hand():
    # 2 x 2 table [[60, 40], [40, 60]]: every expected count 50, X2 = 4 * 10^2 / 50 = 8 with 1 dof: p = erfc(sqrt(8 / 2))
    assert chi_square_p(np.array([60, 40]), np.array([40, 60])) == pytest.approx(math.erfc(2.0), rel=1e-9)
    assert chi_square_p(np.array([500, 500]), np.array([50, 50])) == pytest.approx(1.0)
    assert chi_square_p(np.array([500, 500, 0]), np.array([50, 50, 0])) == pytest.approx(1.0)  # an empty bin is no degree of freedom
    assert chi_square_p(np.array([500, 500]), np.array([0, 0])) == 1.0


def pima() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "pima-indians-diabetes.data.csv", header=None, names=list(PIMA_COLUMNS))


def pima_reference():
    from flyte.core.batch.model_source import read_model_files

    return read_model_files(DATA_DIR / "models" / "pima")[1]


def counted(ref, rows: pd.DataFrame) -> DriftCounter:
    counter = DriftCounter(ref)
    counter.add(pa.Table.from_pandas(rows[list(ref.features)].astype("float64"), preserve_index=False))
    return counter


def old_psi(expected, actual, epsilon=1e-4) -> float:
    """PSI as it was: an empty bin's share raised to a fixed epsilon."""
    e = np.maximum(np.asarray(expected) / np.sum(expected), epsilon)
    a = np.maximum(np.asarray(actual) / np.sum(actual), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


@pytest.mark.parametrize("rows", [50, 200])
def test_rows_drawn_from_the_training_data_are_not_flagged(rows):
    """Twenty seeded draws of rows from the bundled model's own training file: no feature is flagged in any."""
    ref, data = pima_reference(), pima()
    worst_old = 0.0
    for seed in range(20):
        sample = data.sample(n=rows, random_state=seed)
        summary = summarize(ref, counted(ref, sample), **RULE)
        assert summary.flagged == [], (seed, [(d.feature, d.psi, d.p_value) for d in summary.features])
        counter = counted(ref, sample)
        worst_old = max(worst_old, *(old_psi(ref.features[f].counts, counter.counts[f]) for f in ref.features))
    if rows == 50:
        assert worst_old > 0.5  # the old measure flagged these very draws: one empty decile was worth 0.7


@pytest.mark.parametrize("rows", [50, 200, 2000])
def test_shifted_rows_are_still_flagged_at_small_and_moderate_n(rows):
    ref, data = pima_reference(), pima()
    sample = data.sample(n=rows, random_state=1, replace=rows > len(data))
    shifted = sample.assign(glucose=sample.glucose + 40, bmi=sample.bmi * 1.3)  # high glucose and weight
    summary = summarize(ref, counted(ref, shifted), **RULE)
    assert set(summary.flagged) == {"glucose", "bmi"}, [(d.feature, d.psi, d.p_value) for d in summary.features]
    assert all(d.p_value < 0.01 / len(ref.features) for d in summary.features if d.flagged)


def test_too_few_rows_are_never_flagged(tmp_path):
    ref = build_reference(write(tmp_path, train_frame()), ["x", "c"], {"c": ["a", "b", "c"]})
    counter = DriftCounter(ref)
    counter.add(pa.table({"x": [100.0] * 29, "c": ["a"] * 29}))  # far off, but 29 rows
    summary = summarize(ref, counter, **RULE)
    assert summary.flagged == [] and all(d.psi > 1 for d in summary.features) and summary.min_rows == 30
    counter.add(pa.table({"x": [100.0], "c": ["a"]}))
    assert sorted(summarize(ref, counter, **RULE).flagged) == ["c", "x"]
