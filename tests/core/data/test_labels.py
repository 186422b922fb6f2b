"""Tests for flyte.core.data.labels: one type for all of a target's labels, canonical text, vectorised codes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from flyte.core.data import labels as lbl
from flyte.core.common.errors import DataValidationError


@pytest.mark.parametrize(
    "raw,kind",
    [(["0", "1"], lbl.INT), (["0.0", "1", 2.0], lbl.INT), (["0.5", "1"], lbl.FLOAT), (["1", "yes"], lbl.STR), ([True, False], lbl.STR)],
)
def test_kind_is_decided_from_every_value(raw, kind):
    assert lbl.infer_kind(raw) == kind


def test_non_finite_labels_are_refused():
    with pytest.raises(DataValidationError, match="label value 'nan' is not a finite number"):
        lbl.infer_kind(["1", "nan"])


def test_text_is_canonical_per_kind():
    assert [lbl.text(v, lbl.INT) for v in ("1", "1.0", 1, 1.0)] == ["1"] * 4
    assert lbl.text("0.50", lbl.FLOAT) == "0.5"
    assert lbl.text(" x", lbl.STR) == " x"  # text labels are kept exactly as written


def test_sort_puts_numbers_by_value_before_text():
    assert sorted([10, 9, "b", "a", 1.5], key=lbl.sort_key) == [1.5, 9, 10, "a", "b"]


def test_codes_map_every_spelling_of_a_class():
    codes = lbl.codes(pa.array(["1", "0", "1.0", "0"]), lbl.INT, {"0": 0, "1": 1})
    assert codes.tolist() == [1, 0, 1, 0] and codes.dtype == np.int32


def test_codes_refuse_unknown_and_missing_labels():
    with pytest.raises(DataValidationError, match=r"target: label '7' is not one of the known labels \['0', '1'\]"):
        lbl.codes(pa.array([0, 7]), lbl.INT, {"0": 0, "1": 1})
    with pytest.raises(DataValidationError, match="1 missing label"):
        lbl.codes(pa.array(["0", None]), lbl.INT, {"0": 0, "1": 1})
