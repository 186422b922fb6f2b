"""A row's part from the row alone: a seeded 64-bit hash of its content or key, mapped to u in [0, 1)."""

# u is compared with the part fractions (split.py).
#
# Why the row and not its position: a seeded shuffle of the whole table moves rows between parts whenever the
# table grows, so yesterday's training rows become today's test rows. A row's hash does not depend on the other
# rows, so appending rows never moves an existing one, and anyone holding a model's recorded rule can tell which
# rows it trained on.
#
# The canonical form (HASH_VERSION 1), per row, over the hashed columns in the order of their names:
# - a float64 column: its IEEE-754 bits, with -0.0 as 0.0 and every NaN and null as one "missing" value;
# - the target: the UTF-8 bytes of its label's canonical text (``labels.text``), so "1", "1.0" and 1 agree;
# - any other column (text categories, keys of other types): the UTF-8 bytes of the value as text, null as
#   "missing"; these are hashed once per distinct value of a batch (BLAKE2b, 8 bytes), not once per row.
# Each column's value hash is mixed with its name's hash, folded into the row's running hash, and the result
# is mixed with the seed (splitmix64's finaliser: every input bit flips each output bit with probability 1/2).

from __future__ import annotations

import functools
import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.data import labels as lbl
from flyte.core.data.matrix import float_matrix

#: The version of the canonical form above; a model's manifest records it with the rest of its split rule.
HASH_VERSION = 1

_M1, _M2, _FOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
_MISSING = np.uint64(0x7FF8_0000_0000_0001)  # stands for a null or NaN float; no float's canonical bits equal it


def mix64(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wrapping arithmetic); ``z`` itself is left as it was."""
    z = z ^ (z >> np.uint64(30))
    # In place from here: on a million rows each temporary array costs more than the arithmetic.
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def text_hash(value: str) -> np.uint64:
    """A stable 64-bit hash of a text (BLAKE2b, 8-byte digest, little-endian)."""
    return np.uint64(int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little"))


def _float_hash(values: pa.Array) -> np.ndarray:
    x = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=True)  # nulls read as NaN
    x[x == 0.0] = 0.0  # -0.0 and 0.0 are one value
    bits = x.view(np.uint64)
    bits[np.isnan(x)] = _MISSING
    return bits


def _distinct_hash(values: pa.Array, as_text) -> np.ndarray:
    """One hash per distinct value (``as_text`` gives its canonical text), spread over the rows."""
    encoded = values.dictionary_encode() if not pa.types.is_dictionary(values.type) else values
    table = np.array([text_hash(as_text(v)) for v in encoded.dictionary.to_pylist()] + [_MISSING], dtype=np.uint64)
    indices = encoded.indices.fill_null(len(table) - 1).to_numpy(zero_copy_only=False)
    return table[indices]


def column_hash(values: pa.Array, label_kind: str | None = None) -> np.ndarray:
    """Each row's value hash for one column; ``label_kind`` is given for the target only."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if label_kind is not None:
        return _distinct_hash(values, lambda v: lbl.text(v, label_kind))
    if pa.types.is_floating(values.type):
        return _float_hash(pc.cast(values, pa.float64()))
    return _distinct_hash(values, str)


#: Rows hashed at a time. Each step of the hash is a numpy pass over a whole block; at this size a block's
#: temporaries stay in the CPU cache and below the allocator's mmap threshold, so a pass costs arithmetic rather than
#: memory traffic and fresh page faults: 1M rows x 9 columns in 0.12 s against 0.3 s as one block.
BLOCK_ROWS = 16384


def row_u(batch: pa.RecordBatch | pa.Table, columns: list[str], seed: int, target: str = "", label_kind: str = "") -> np.ndarray:
    """Each row's u in [0, 1) from the values of ``columns`` (order does not matter: they are taken by name).

    ``target`` names the column hashed through its label text (``label_kind``); "" when none of them is the target.
    """
    u = np.empty(batch.num_rows, dtype=np.float64)
    for start in range(0, batch.num_rows, BLOCK_ROWS):  # a row's u depends on that row alone, so blocks are exact
        u[start : start + BLOCK_ROWS] = _block_u(batch.slice(start, BLOCK_ROWS), columns, seed, target, label_kind)
    return u


def _block_u(batch: pa.RecordBatch | pa.Table, columns: list[str], seed: int, target: str, label_kind: str) -> np.ndarray:
    names = sorted(columns)
    position = {name: i for i, name in enumerate(batch.schema.names)}
    types = batch.schema.types
    floats = [j for j, n in enumerate(names) if n != target and pa.types.is_floating(types[position[n]])]
    value = np.empty((len(names), batch.num_rows), dtype=np.uint64)  # one row of value hashes per column
    if floats:  # every float column's canonical bits at once (the same bits as _float_hash, column by column)
        x = float_matrix(batch, [position[names[j]] for j in floats], row_major=False).T.copy()  # a straight copy
        x[x == 0.0] = 0.0
        bits = x.view(np.uint64)
        bits[np.isnan(x)] = _MISSING
        value[floats] = bits
    for j in sorted(set(range(len(names))) - set(floats)):
        value[j] = column_hash(batch.column(position[names[j]]), label_kind if names[j] == target else None)
    h = np.full(batch.num_rows, mix64(np.array([seed], dtype=np.uint64))[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = mix64(value ^ _name_hashes(tuple(names))[:, None])
        for j in range(len(names)):  # the fold is sequential by definition: one step per column, on whole rows
            h = mix64((h * _FOLD) ^ mixed[j])
        h = mix64(h ^ np.uint64(seed))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@functools.lru_cache(maxsize=8)
def _name_hashes(names: tuple[str, ...]) -> np.ndarray:
    """Each column name's text_hash, worked out once per column list rather than once per batch."""
    out = np.array([text_hash(n) for n in names], dtype=np.uint64)
    out.flags.writeable = False
    return out


def parts_from_u(u: np.ndarray, test_ratio: float, validation_ratio: float, codes: tuple[int, int, int]) -> np.ndarray:
    """Each row's part code from its u: test below ``test_ratio``, then validation for ``validation_ratio`` of the
    rest, then train. ``codes``: the (train, validation, test) part codes."""
    train, validation, test = codes
    parts = np.full(len(u), train, dtype=np.int8)
    parts[u < test_ratio + (1.0 - test_ratio) * validation_ratio] = validation
    parts[u < test_ratio] = test
    return parts
