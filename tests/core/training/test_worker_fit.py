"""The distributed fit's worker side: row groups listed and dealt out, typed as the booster is fed, streamed into XGBoost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb

from flyte.core.artifact.model import ModelSchema, TrainedModel
from flyte.core.common.errors import DataValidationError
from flyte.core.training import worker_fit
from flyte.core.training.worker_fit import Piece, PieceIter, deal, list_pieces, matrix_rows


def write_parts(directory, groups: list[list[int]]) -> None:
    """One Parquet part per entry of ``groups``, each with row groups of the listed sizes (column x = row number)."""
    directory.mkdir()
    start = 0
    for i, sizes in enumerate(groups):
        with pq.ParquetWriter(directory / f"part-{i:05d}.parquet", pa.schema([("x", pa.float64())])) as writer:
            for n in sizes:
                writer.write_table(pa.table({"x": np.arange(start, start + n, dtype=np.float64)}))
                start += n


def test_every_row_group_of_every_part_is_listed_in_table_order_and_non_data_files_are_not(tmp_path):
    write_parts(tmp_path / "t", [[5, 3], [4]])
    (tmp_path / "t" / "_SUCCESS.parquet").write_bytes(b"")
    (tmp_path / "t" / ".part-00009.parquet.crc").write_bytes(b"")
    pieces = list_pieces(tmp_path / "t", None)
    first, second = str(tmp_path / "t" / "part-00000.parquet"), str(tmp_path / "t" / "part-00001.parquet")
    assert pieces == [Piece(first, 0, 5), Piece(first, 1, 3), Piece(second, 0, 4)]
    assert worker_fit.read_piece(pieces[1], ["x"], None).column("x").to_pylist() == [5.0, 6.0, 7.0]


def test_a_directory_without_parts_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no Parquet parts"):
        list_pieces(tmp_path / "empty", None)


def test_the_deal_balances_rows_keeps_table_order_and_covers_every_piece_once():
    pieces = [Piece("a", i, n) for i, n in enumerate([10, 10, 10, 3, 10, 2])]
    shares = deal(pieces, 2)
    assert sorted(p for share in shares for p in share) == sorted(pieces)
    assert [sum(p.rows for p in share) for share in shares] in ([23, 22], [22, 23])
    for share in shares:
        assert share == sorted(share, key=pieces.index)
    # More workers than pieces: the rest get nothing, and the deal is the same every time.
    assert deal(pieces[:1], 3) == [[pieces[0]], [], []]
    assert deal(pieces, 3) == deal(list(pieces), 3)


def test_rows_are_typed_as_feature_frame_types_them_into_one_float32_array_without_a_pandas_frame(monkeypatch):
    """What a worker feeds XGBoost: category codes in the sorted training categories, NaN for missing or unseen,
    and the class code last, in float32; no pandas frame is built."""
    schema = ModelSchema(
        target="label", features=["x", "colour"], categories={"colour": ["blue", "red"]},
        labels=["a", "b"], label_kind="str", xgboost_version="",
    )  # fmt: skip
    table = pa.table({"x": [0.5, None, 2.25, 1e10], "colour": ["red", None, "purple", "blue"], "label": ["b", "a", "a", "b"]})
    expected = TrainedModel(booster=None, schema=schema).feature_frame(table)
    built = []
    original_init = pd.DataFrame.__init__
    monkeypatch.setattr(pd.DataFrame, "__init__", lambda self, *a, **k: built.append(1) or original_init(self, *a, **k))
    out = matrix_rows(table, schema, {"a": 0, "b": 1}, "train")
    assert not built
    assert out.dtype == np.float32 and out.shape == (4, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out[:, 0], expected["x"].to_numpy(dtype=np.float32))
    codes = expected["colour"].cat.codes.to_numpy().astype(np.float32)
    np.testing.assert_array_equal(out[:, 1], np.where(codes < 0, np.nan, codes))
    np.testing.assert_array_equal(out[:, 2], [1, 0, 0, 1])


def test_a_label_outside_the_schema_is_refused_naming_the_part():
    schema = ModelSchema(target="y", features=["x"], categories={}, labels=[0, 1], label_kind="int", xgboost_version="")
    with pytest.raises(DataValidationError, match="validation table: 'y'"):
        matrix_rows(pa.table({"x": [1.0, 2.0], "y": [0, 7]}), schema, {"0": 0, "1": 1}, "validation")


def test_the_iterator_reads_one_row_group_at_a_time_on_every_pass_and_builds_the_whole_tables_matrix(tmp_path, monkeypatch):
    """Each pass XGBoost makes reads every piece again, one at a time, instead of keeping them: the worker holds one
    row group of input at most. The matrix is the one the whole table gives at once."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=900)
    y = (x + rng.normal(scale=0.5, size=900) > 0).astype(np.int64)
    (tmp_path / "t").mkdir()
    pq.write_table(pa.table({"x": x, "y": y}), tmp_path / "t" / "part-00000.parquet", row_group_size=200)
    schema = ModelSchema(target="y", features=["x"], categories={}, labels=[0, 1], label_kind="int", xgboost_version="")
    pieces = list_pieces(tmp_path / "t", None)
    reads = []
    real = worker_fit.read_piece
    monkeypatch.setattr(worker_fit, "read_piece", lambda piece, *a: reads.append(piece) or real(piece, *a))
    streamed = xgb.QuantileDMatrix(PieceIter(pieces, schema, {"0": 0, "1": 1}, "train", None), max_bin=32)
    assert len(pieces) == 5 and len(reads) >= 2 * len(pieces) and reads[: len(pieces)] == pieces
    whole = xgb.QuantileDMatrix(x.astype(np.float32).reshape(-1, 1), label=y, max_bin=32)
    assert streamed.num_row() == 900
    for a, b in zip(streamed.get_quantile_cut(), whole.get_quantile_cut()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(streamed.get_label(), y.astype(np.float32))


def test_the_tracker_listens_where_xgboost_finds_this_host_and_falls_back_to_the_schedulers_address(monkeypatch):
    """The order xgboost.dask tries: this host's own address first; the scheduler's address when that fails."""
    from xgboost import tracker as xgb_tracker
    from xgboost.core import XGBoostError

    tried = []

    class Tracker:
        def __init__(self, n_workers, host_ip, sortby, timeout):
            tried.append(host_ip)
            assert (n_workers, sortby, timeout) == (2, "task", worker_fit.TRACKER_TIMEOUT_S)
            self.host = host_ip

        def start(self):
            if self.host is None:
                raise XGBoostError("cannot bind")

        def wait_for(self):
            pass

        def worker_args(self):
            return {"dmlc_tracker_uri": self.host, "dmlc_tracker_port": 9091}

    monkeypatch.setattr(xgb_tracker, "RabitTracker", Tracker)
    assert worker_fit.start_tracker(2, "10.0.0.7") == {"dmlc_tracker_uri": "10.0.0.7", "dmlc_tracker_port": 9091}
    assert tried == [None, "10.0.0.7"]
    tried.clear()
    with pytest.raises(XGBoostError):
        worker_fit.start_tracker(2, None)
    assert tried == [None]
