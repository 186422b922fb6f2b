"""How much memory an XGBoost fit needs, and so whether its matrix lives on disk and its input batches are kept."""

from __future__ import annotations

from flyte.core.artifact.drift_edges import EDGE_SAMPLE_ROWS
from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import BATCH_BYTES

# The ``auto`` memory model, fitted to `make bench` (fit pod peak RSS, 8 features, 100k to 10M rows: 290 MiB
# at 100k, 751 MiB at 10M): a fixed process baseline, one byte a cell for the quantised matrix (bin
# indices for max_bin <= 256), and per row XGBoost's labels, gradients, prediction cache and row partition.
PROCESS_BASELINE_BYTES = 300 << 20
QUANTISED_BYTES_PER_CELL = 1
ROW_OVERHEAD_BYTES = 64
#: Bytes per training or validation row and class that a multiclass fit holds whatever the matrix's home
#: (prediction cache, gradient and hessian as float32), from 3.9 GB at 5,000 classes x 67k train and validation rows.
CLASS_ROW_BYTES = 12
#: With no memory budget known, the largest train and validation tables (as float64 cells) whose converted batches an
#: in-memory fit keeps between XGBoost's passes over its input: each pass otherwise decodes the Parquet again (seconds
#: a pass at 50,000 columns; 2 s of a 5M-row fit). Memory only: the model is the same either way.
REPLAY_BYTES = 128 << 20
#: With a budget, the batches are kept when the in-memory fit's estimate plus the kept batches stay within this share
#: of it (the fit task's 2 GiB keep them up to about 5M rows x 8 features).
REPLAY_SHARE = 0.5
#: With no memory budget known, the most the drift reference may hold (reference_bytes) and still be built while the
#: booster trains rather than after it.
REFERENCE_OVERLAP_BYTES = 128 << 20
#: The widest table whose drift reference may be built beside the fit. The fit's estimate above was fitted to 8-feature
#: tables and undercounts wide ones (a 200-row x 50,000-feature fit peaked at 1.65 GiB), so beside a wide fit no
#: estimate is trusted: at that width the reference held 530 MB more beside the booster, and its pod passed 2 GiB.
OVERLAP_MAX_FEATURES = 1024
#: The drift reference's own memory per feature beyond its sample and batch (its bins, counts and per-feature objects):
#: 530 MB beside the fit at 50,000 features and 200 rows, of which the sample and batches explain 160 MB.
REFERENCE_FEATURE_BYTES = 8 << 10
#: External memory is chosen when the in-memory estimate passes this share of the budget (the limit).
AUTO_EXTERNAL_SHARE = 0.7


def use_external_memory(setting: str, rows: int, features: int, memory_budget: int | None) -> bool:
    """Whether the training matrix should live on disk: the setting, or for ``auto`` whether the estimated
    in-memory fit (``estimated_fit_bytes`` of the train and validation rows) passes AUTO_EXTERNAL_SHARE of
    ``memory_budget``. With no budget known, ``auto`` stays in memory."""
    if setting == "always":
        return True
    if setting == "never" or not memory_budget:
        return False
    return estimated_fit_bytes(rows, features) > AUTO_EXTERNAL_SHARE * memory_budget


def replayable(rows: int, features: int, memory_budget: int | None = None) -> bool:
    """Whether the converted batches (float64, 8 bytes a cell) of ``rows`` train and validation rows may be kept for
    XGBoost's later passes over them rather than reading the Parquet again on each: with ``memory_budget`` (bytes),
    when the in-memory fit's estimate plus the batches stay within REPLAY_SHARE of it; without, under REPLAY_BYTES."""
    kept = rows * features * 8
    if memory_budget:
        return estimated_fit_bytes(rows, features) + kept <= REPLAY_SHARE * memory_budget
    return kept <= REPLAY_BYTES


def check_class_memory(classes: int, rows: int, memory_budget: int | None) -> None:
    """Refuse a multiclass fit whose per-row, per-class state alone (CLASS_ROW_BYTES) would pass ``memory_budget``:
    external memory moves the matrix to disk, not this state, so the pod would be killed part way."""
    if classes <= 2 or not memory_budget:
        return
    need = PROCESS_BASELINE_BYTES + rows * classes * CLASS_ROW_BYTES
    if need > memory_budget:
        raise DataValidationError(
            f"{classes} classes x {rows} training and validation rows need about {need >> 20} MiB, over the fit's "
            f"{memory_budget >> 20} MiB: merge rare classes, sample rows, or give the fit more memory"
        )


def estimated_fit_bytes(rows: int, features: int) -> int:
    """Peak memory of an in-memory fit of ``rows`` x ``features``, by the model fitted to `make bench`."""
    return PROCESS_BASELINE_BYTES + rows * (features * QUANTISED_BYTES_PER_CELL + ROW_OVERHEAD_BYTES)


def reference_bytes(rows: int, features: int) -> int:
    """Peak memory of building the drift reference of a ``rows`` x ``features`` training table: its edge sample and
    the sample's sorted copy (float64), a batch read and converted, and its per-feature state."""
    return 2 * min(rows, EDGE_SAMPLE_ROWS) * features * 8 + 2 * BATCH_BYTES + features * REFERENCE_FEATURE_BYTES


def overlap_reference(rows: int, all_rows: int, features: int, memory_budget: int | None = None) -> bool:
    """Whether the drift reference of ``rows`` training rows may be built while the booster trains on ``all_rows``
    train and validation rows rather than after it: with ``memory_budget``, when the in-memory fit's estimate, the
    batches it may keep (``replayable``) and the reference together stay within REPLAY_SHARE of it; without, when
    the reference holds at most REFERENCE_OVERLAP_BYTES. Never past OVERLAP_MAX_FEATURES features. A wide table's
    reference (100k rows x 1,000 features is a 1.6 GB sample with its sorted copy) is then built after the fit has
    let go of its matrices."""
    if features > OVERLAP_MAX_FEATURES:
        return False
    reference = reference_bytes(rows, features)
    if not memory_budget:
        return reference <= REFERENCE_OVERLAP_BYTES
    kept = all_rows * features * 8 if replayable(all_rows, features, memory_budget) else 0
    return estimated_fit_bytes(all_rows, features) + kept + reference <= REPLAY_SHARE * memory_budget
