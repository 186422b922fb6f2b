"""Tests for flyte.core.drift: the training reference, bin counting and PSI, on tiny hand-checked tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from flyte.core.drift import (
    MISSING_BIN, PSI_EPSILON, UNSEEN_BIN, DriftCounter, build_reference, psi, read_reference, summarize,
)  # fmt: skip
from flyte.core.errors import DataValidationError
from flyte.core.tables import TableWriter


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


def test_psi_by_hand():
    # shares 0.5/0.5 against 0.25/0.75: (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5)
    assert psi(np.array([50, 50]), np.array([25, 75])) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    # an empty training bin counts as PSI_EPSILON of the rows, so PSI stays finite
    expected = (0.5 - 1) * math.log(0.5) + (0.5 - PSI_EPSILON) * math.log(0.5 / PSI_EPSILON)
    assert psi(np.array([10, 0]), np.array([5, 5])) == pytest.approx(expected)
    assert psi(np.array([3, 7]), np.array([30, 70])) == 0.0  # the same shares at another scale
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
    summary = summarize(ref, same, threshold=0.25)
    assert [d.psi for d in summary.features] == [0.0, 0.0] and summary.flagged == []
    assert summary.rows == summary.reference_rows == 200

    shifted = frame.assign(x=frame.x + 100, c="a")
    moved = DriftCounter(ref)
    moved.add(pa.Table.from_pandas(shifted))
    summary = summarize(ref, moved, threshold=0.25)
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
