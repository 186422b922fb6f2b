"""Class labels: their type decided once from every value seen, then stored as text and coded 0..K-1."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import iter_batches, num_rows

#: How labels read back: whole numbers, other numbers, or text. Decided from all of a target's values.
INT, FLOAT, STR = "int", "float", "str"


#: A number as a file writes it and as Arrow parses one: ASCII digits, an optional sign, point and exponent,
#: or inf / nan. Python's float() reads more ("1_0", full-width and Arabic-Indic digits), which would merge
#: labels written differently ("1_0" and "10") into one class.
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.ASCII | re.IGNORECASE)


def is_number_text(text: str) -> bool:
    """Whether ``text`` (surrounding spaces aside) is a number as written in a data file."""
    return _NUMBER_TEXT.fullmatch(text.strip()) is not None


def _number(value) -> float | None:
    """The value as a number, or None when it is not one (text labels, booleans)."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return None
    if isinstance(value, (int, float, np.number)):
        return float(value)
    text = str(value)
    return float(text) if is_number_text(text) else None


def infer_kind(raw_values) -> str:
    """INT when every label is a whole number ("1", "1.0", 1.0 alike), FLOAT for other numbers, else STR.

    Raises for an infinite or NaN label: those are not classes.
    """
    numbers = [_number(v) for v in raw_values]
    if any(n is None for n in numbers):
        return STR
    bad = [v for v, n in zip(raw_values, numbers) if not math.isfinite(n)]
    if bad:
        raise DataValidationError(f"label value {bad[0]!r} is not a finite number")
    return INT if all(n == int(n) for n in numbers) else FLOAT


def typed(value, kind: str):
    """One raw label (as read from the file) as the Python value it stands for."""
    if kind == STR:
        return str(value)
    number = _number(value)
    if number is None:
        raise DataValidationError(f"label {value!r} is not a number, unlike the rest of the target")
    return int(number) if kind == INT else number


def text(value, kind: str) -> str:
    """The canonical text of a raw label: how profiles, schemas and metrics name its class."""
    return str(typed(value, kind)) if kind != FLOAT else repr(typed(value, kind))


def sort_key(label):
    """Numbers before text, numbers by value: labels 0/1 keep 1 as the positive class."""
    number = _number(label) if not isinstance(label, str) else None
    return (0, number, "") if number is not None else (1, 0.0, str(label))


def codes(array: pa.Array, kind: str, code_of: dict[str, int], where: str = "target") -> np.ndarray:
    """Class codes (int32, 0..K-1) for a column of raw labels, mapped through their canonical text.

    Works on the few distinct values, not per row. A label outside ``code_of`` is refused, naming it.
    """
    encoded = array.dictionary_encode() if not pa.types.is_dictionary(array.type) else array
    if encoded.null_count:
        raise DataValidationError(f"{where}: {encoded.null_count} missing label(s)")
    lookup = []
    for raw in encoded.dictionary.to_pylist():
        name = text(raw, kind)
        if name not in code_of:
            raise DataValidationError(f"{where}: label {name!r} is not one of the known labels {list(code_of)}")
        lookup.append(code_of[name])
    return np.asarray(lookup, dtype=np.int32)[encoded.indices.to_numpy(zero_copy_only=False)]


def read_codes(table: Path, target: str, texts: list[str], kind: str) -> np.ndarray:
    """Every row's class code from a table's target column, read batch by batch into the smallest integer
    type (one byte a row for up to 256 classes): the whole column is never held as text."""
    code_of = {t: i for i, t in enumerate(texts)}
    y = np.empty(num_rows(table), dtype=np.min_scalar_type(max(len(texts) - 1, 0)))
    offset = 0
    for batch in iter_batches(table, columns=[target], dictionary=[target]):
        batch_codes = codes(batch.column(0), kind, code_of, where=f"{Path(table).name}: target column {target!r}")
        y[offset : offset + len(batch_codes)] = batch_codes
        offset += len(batch_codes)
    return y
