"""The distributed fit's training on the workers: each streams its own Parquet row groups into XGBoost, in one collective."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xgboost as xgb

from flyte.core.artifact.schema import ModelSchema
from flyte.core.data import labels as lbl
from flyte.core.data.tables import part_files
from flyte.core.data.target import values as target_values

log = logging.getLogger(__name__)

#: Seconds the tracker waits for every worker to join the collective, and for them to leave it: a worker that never
#: starts its share fails the fit instead of leaving the others waiting for ever.
TRACKER_TIMEOUT_S = 600


@dataclass(frozen=True, order=True)
class Piece:
    """One Parquet row group of a table: the part file (a local path, or a URI read through fsspec), its index, its rows."""

    path: str
    row_group: int
    rows: int


def list_pieces(table: Path | str, storage_options: dict | None) -> list[Piece]:
    """Every row group of the table directory ``table``, in table order, from the parts' footers (no data is read).

    A local directory is listed as the single-pod fit lists it (``tables.part_files``); a remote one through fsspec
    with ``storage_options``, keeping the same ``*.parquet`` parts (names starting with ``_`` or ``.`` are not data)."""
    if storage_options is None:
        files = [str(p) for p in part_files(Path(table))]
        return [piece for f in files for piece in _pieces(f, pq.ParquetFile(f).metadata)]
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(table), **storage_options)
    names = sorted(
        p for p in fs.ls(root, detail=False)
        if p.endswith(".parquet") and not p.rsplit("/", 1)[-1].startswith(("_", "."))
    )  # fmt: skip
    if not names:
        raise FileNotFoundError(f"{table}: holds no Parquet parts")
    pieces = []
    for name in names:
        with fs.open(name, "rb") as fh:
            pieces += _pieces(fs.unstrip_protocol(name), pq.ParquetFile(fh).metadata)
    return pieces


def _pieces(path: str, metadata) -> list[Piece]:
    return [Piece(path, i, metadata.row_group(i).num_rows) for i in range(metadata.num_row_groups)]


def deal(pieces: list[Piece], workers: int) -> list[list[Piece]]:
    """``pieces`` shared out among ``workers``: each piece, largest first, to the worker holding the fewest rows so far
    (the lowest index on a tie), so the shares differ by at most one row group. Each share stays in table order."""
    shares: list[list[tuple[int, Piece]]] = [[] for _ in range(workers)]
    held = [0] * workers
    for at, piece in sorted(enumerate(pieces), key=lambda ip: -ip[1].rows):
        w = min(range(workers), key=lambda i: (held[i], i))
        shares[w].append((at, piece))
        held[w] += piece.rows
    return [[p for _, p in sorted(share)] for share in shares]


def start_tracker(workers: int, host: str | None) -> dict:
    """Runs on the Dask scheduler, which every worker can reach: starts XGBoost's collective tracker for ``workers``
    workers and returns the arguments a worker joins it with. Ranks follow each worker's task id.

    The tracker listens on the address XGBoost finds for this host; where it cannot bind there, on ``host`` (the
    scheduler's address as the client knows it), the order xgboost.dask tries them in. A service name (the Dask
    operator's ``<job>-scheduler.<namespace>.svc``) may resolve to an address no process can bind."""
    from xgboost.core import XGBoostError
    from xgboost.tracker import RabitTracker

    addresses = [None] if host is None else [None, host]
    for i, address in enumerate(addresses):
        try:
            tracker = RabitTracker(n_workers=workers, host_ip=address, sortby="task", timeout=TRACKER_TIMEOUT_S)
            tracker.start()
            break
        except XGBoostError as exc:
            if i == len(addresses) - 1:
                raise
            log.warning("the collective tracker could not listen on this host's own address (%s); trying %s", exc, host)
    # The tracker serves until every worker has left the collective; nothing waits on it here.
    threading.Thread(target=tracker.wait_for, daemon=True).start()
    return tracker.worker_args()


class PieceIter(xgb.DataIter):
    """XGBoost's input on one worker: its pieces read one row group at a time and typed by ``matrix_rows``, so a
    worker holds one row group of input at a time, whatever its share, and nothing of it once the matrix is built."""

    def __init__(self, pieces: list[Piece], schema: ModelSchema, code_of: dict[str, int], part: str,
                 storage_options: dict | None) -> None:  # fmt: skip
        self.pieces, self.schema, self.code_of, self.part = pieces, schema, code_of, part
        self.storage_options = storage_options
        self.columns = [*schema.features, schema.target]
        self.types = schema.booster_types if schema.categories else None
        self._at = 0
        super().__init__(release_data=True)

    def next(self, input_data) -> bool:
        if self._at == len(self.pieces):
            return False
        piece = self.pieces[self._at]
        out = matrix_rows(read_piece(piece, self.columns, self.storage_options), self.schema, self.code_of, self.part)
        k = len(self.schema.features)
        input_data(data=out[:, :k], label=out[:, k], feature_types=self.types)
        self._at += 1
        return True

    def reset(self) -> None:
        self._at = 0


def read_piece(piece: Piece, columns: list[str], storage_options: dict | None) -> pa.Table:
    """The piece's row group, ``columns`` only."""
    if storage_options is None:
        return pq.ParquetFile(piece.path).read_row_group(piece.row_group, columns=columns)
    import fsspec

    fs, path = fsspec.core.url_to_fs(piece.path, **storage_options)
    with fs.open(path, "rb") as fh:
        return pq.ParquetFile(fh).read_row_group(piece.row_group, columns=columns)


def matrix_rows(table: pa.Table, schema: ModelSchema, code_of: dict[str, int], part: str) -> np.ndarray:
    """Rows as the booster is fed: typed as ``TrainedModel.feature_frame`` types them (numbers with NaN for missing;
    a category as its code in the sorted training categories, NaN when missing or unseen), then the class code
    (``labels.codes``) or the regression target, in one rows x (features + 1) float32 array written column by column
    from the Arrow buffers: no pandas frame, float64 copy or categorical is built. Float32 is what XGBoost stores a
    value as, so the bins are those of float64 input."""
    out = np.empty((table.num_rows, len(schema.features) + 1), dtype=np.float32)
    for j, col in enumerate(schema.features):
        values = table.column(col)
        if col in schema.categories:
            known = pa.array(schema.categories[col], pa.string())
            values = pc.index_in(pc.cast(values, pa.string()), value_set=known)
        # Through float64 (as feature_frame types it), then to float32 as XGBoost itself narrows every value.
        typed = values if values.type == pa.float64() else pc.cast(values, pa.float64())
        out[:, j] = typed.to_numpy(zero_copy_only=False)
    target = schema.target
    column = table.column(target).combine_chunks()
    where = f"{part} table: {target!r}"
    out[:, -1] = target_values(column, where) if schema.regression else lbl.codes(column, schema.label_kind, code_of, where=where)
    return out


def train_share(
    rank: int, tracker: dict, train: list[Piece], validation: list[Piece], schema: ModelSchema,
    code_of: dict[str, int], settings: dict, max_bin: int, rounds: int, early_stopping: int,
    storage_options: dict | None,
) -> bytes | None:  # fmt: skip
    """Runs on one Dask worker: join the collective as ``rank``, build this worker's training and validation
    ``QuantileDMatrix`` from its pieces (the bins are merged across workers, the validation ones from the training
    matrix), and train with early stopping on the validation rows of all workers (XGBoost reduces the metric across
    them, so every worker stops at the same round). Returns the model as UBJSON bytes, or None from a worker that
    held no training rows. Every worker must run this at the same time: the collective waits for all."""
    from distributed import get_worker

    threads = get_worker().state.nthreads
    with xgb.collective.CommunicatorContext(**tracker, dmlc_task_id=f"{rank:06d}"):
        dtrain = _matrix(train, schema, code_of, "train", storage_options, max_bin, threads)
        dvalid = _matrix(validation, schema, code_of, "validation", storage_options, max_bin, threads, ref=dtrain)
        log.info("worker %d: %d train and %d validation rows", rank, dtrain.num_row(), dvalid.num_row())
        booster = xgb.train(
            {**settings, "nthread": threads}, dtrain, num_boost_round=rounds, evals=[(dvalid, "validation")],
            early_stopping_rounds=early_stopping, verbose_eval=False,
        )  # fmt: skip
        held = dtrain.num_row()
        del dtrain, dvalid
    return bytes(booster.save_raw("ubj")) if held else None


def _matrix(pieces, schema, code_of, part, storage_options, max_bin, threads, ref=None) -> xgb.QuantileDMatrix:
    if not pieces:  # a worker with no rows of this part still joins every collective step, with an empty matrix
        return xgb.QuantileDMatrix(
            np.empty((0, len(schema.features)), dtype=np.float32), label=np.empty(0, dtype=np.float32), max_bin=max_bin,
            ref=ref, nthread=threads, enable_categorical=True, feature_types=schema.booster_types if schema.categories else None,
        )  # fmt: skip
    return xgb.QuantileDMatrix(
        PieceIter(pieces, schema, code_of, part, storage_options), max_bin=max_bin, ref=ref, nthread=threads,
        enable_categorical=True,
    )  # fmt: skip
