"""Feature drift: the training rows' per-feature distribution (reference.json) and the PSI of new rows against it."""

# Why PSI on fixed bins: it needs only per-bin counts, so both sides are accumulated batch by batch in memory that
# does not grow with the rows, and the reference is a few hundred numbers stored beside the model. Why a p-value
# beside it: see drift_stats.py (PSI alone flags noise at small n).

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.artifact.drift_edges import EDGE_SAMPLE_SEED, numeric_edges
from flyte.core.artifact.drift_stats import chi_square_p, psi
from flyte.core.common.errors import DataValidationError
from flyte.core.data.matrix import float_matrix
from flyte.core.common.validation import check_types, require, strict
from flyte.core.data.tables import iter_batches, num_rows

REFERENCE_FILE = "reference.json"
REFERENCE_FORMAT = 1
#: Rows binned at a time: a block's temporaries (the values, their codes) stay in the CPU cache, so each of the
#: per-edge passes costs arithmetic rather than memory traffic.
BLOCK_ROWS = 16384
MISSING_BIN, UNSEEN_BIN = "(missing)", "(unseen)"


@dataclass
class FeatureReference:
    """One feature's training distribution.

    kind: ``numeric`` or ``categorical``.
    edges: numeric bin edges, ascending; bin i holds edges[i-1] < x <= edges[i] (the first and last are open).
    categories: the training categories, in the schema's code order (categorical only).
    counts: training rows per bin: the numeric bins (len(edges) + 1) or the categories, then for categorical
        features the unseen bin (0 in training), and last the missing bin.
    """

    kind: str
    edges: list[float] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def bin_names(self) -> list[str]:
        if self.kind == "categorical":
            return [*self.categories, UNSEEN_BIN, MISSING_BIN]
        e = [f"{v:.4g}" for v in self.edges]
        if not e:
            return ["all", MISSING_BIN]
        return [f"≤ {e[0]}", *(f"({a}, {b}]" for a, b in zip(e, e[1:])), f"> {e[-1]}", MISSING_BIN]


@dataclass
class Reference:
    """The training part's per-feature distribution, written into the model directory as reference.json."""

    rows: int = 0
    features: dict[str, FeatureReference] = field(default_factory=dict)
    format: int = REFERENCE_FORMAT

    def to_json(self) -> str:
        # One feature per line, each line by json's C encoder: an indented dump runs the pure-Python encoder, and
        # dataclasses.asdict deep-copies every list (each seconds at 50,000 features). Features stay in model order.
        lines = ",\n".join(
            f"{json.dumps(name)}: {json.dumps({'kind': f.kind, 'edges': f.edges, 'categories': f.categories, 'counts': f.counts})}"
            for name, f in self.features.items()
        )  # fmt: skip
        return f'{{"rows": {json.dumps(self.rows)}, "format": {json.dumps(self.format)}, "features": {{\n{lines}\n}}}}\n'


def build_reference(train: Path, features: list[str], categories: dict[str, list[str]], seed: int = EDGE_SAMPLE_SEED) -> Reference:
    """The reference of the training table ``train``: two streamed passes (a seeded sample for the numeric
    edges, then the counts of every row), so memory holds a batch and at most drift_edges.EDGE_SAMPLE_ROWS values a feature."""
    numeric = [f for f in features if f not in categories]
    rows = num_rows(train)
    edges = numeric_edges(train, numeric, rows, seed) if numeric else {}
    ref = empty_reference(rows, features, categories, edges)
    counter = DriftCounter(ref)
    for batch in iter_batches(train, columns=features):
        counter.add(batch)
    return counted(ref, counter.counts)


def empty_reference(rows: int, features: list[str], categories: dict[str, list[str]], edges: dict[str, list[float]]) -> Reference:
    """A reference with its bins (each categorical feature's categories, each numeric one's ``edges``) and no counts yet."""
    return Reference(rows=rows, features={
        f: FeatureReference(kind="categorical", categories=list(categories[f])) if f in categories
        else FeatureReference(kind="numeric", edges=edges[f]) for f in features
    })  # fmt: skip


def counted(ref: Reference, counts: dict[str, np.ndarray]) -> Reference:
    """``ref`` with each feature's per-bin row counts (a DriftCounter's, or several summed)."""
    for f in ref.features:
        ref.features[f].counts = [int(n) for n in counts[f]]
    return ref


class DriftCounter:
    """Counts rows per reference bin, batch by batch (the same code counts the training and the new rows).

    ``counts`` maps each feature to its per-bin counts. The numeric features' are rows of one matrix, counted
    for a whole batch at once: a step per feature and batch costs seconds at 50,000 features.
    """

    def __init__(self, reference: Reference):
        self.reference = reference
        self.counts = {f: np.zeros(_bins(r), dtype=np.int64) for f, r in reference.features.items() if r.kind == "categorical"}
        self._numeric = [f for f, r in reference.features.items() if r.kind != "categorical"]
        widths = [len(reference.features[f].edges) for f in self._numeric]
        self._slots = max(widths, default=0) + 2
        self._edges = np.full((len(self._numeric), self._slots - 2), np.inf)  # unused edges: +inf, never below a value
        for j, f in enumerate(self._numeric):
            self._edges[j, : widths[j]] = reference.features[f].edges
        self._widths = np.asarray(widths, dtype=np.int64)
        self._table = np.zeros((len(self._numeric), self._slots), dtype=np.int64)
        for j, f in enumerate(self._numeric):  # views into the matrix, in the reference's feature order
            self.counts[f] = self._table[j, : widths[j] + 2]
        self.counts = {f: self.counts[f] for f in reference.features}

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        position = {name: i for i, name in enumerate(batch.schema.names)}
        for name, ref in self.reference.features.items():
            if ref.kind != "categorical":
                continue
            values = batch.column(position[name])
            index = pc.index_in(pc.cast(values, pa.string()), value_set=pa.array(ref.categories, pa.string()))
            codes = index.fill_null(len(ref.categories)).to_numpy(zero_copy_only=False).astype(np.int64)
            codes[values.is_null().to_numpy(zero_copy_only=False)] = len(ref.categories) + 1
            self.counts[name] += np.bincount(codes, minlength=len(self.counts[name]))
        if self._numeric and batch.num_rows:
            positions = [position[f] for f in self._numeric]
            for start in range(0, batch.num_rows, BLOCK_ROWS):
                self._count_numeric(float_matrix(batch.slice(start, BLOCK_ROWS), positions, row_major=False).T)

    def _count_numeric(self, x: np.ndarray) -> None:
        """Add the counts of ``x``, features x rows, each feature's values contiguous: a comparison then runs along one
        feature against one edge, where rows of a few features each would compare a handful of values a row."""
        # A value's bin is the number of edges below it (searchsorted, side left); NaN goes to the missing bin.
        # Codes in the smallest integer that holds a bin number (one byte for the usual dozen bins): each of
        # the per-edge passes below moves an eighth of the memory int64 codes would.
        small = np.min_scalar_type(self._slots)
        codes = np.zeros(x.shape, dtype=small)
        above = np.empty(x.shape, dtype=bool)
        for k in range(self._edges.shape[1]):
            np.greater(x, self._edges[:, k : k + 1], out=above)
            codes += above.view(np.uint8).astype(small, copy=False)
        missing = np.isnan(x)
        codes[missing] = np.broadcast_to((self._widths + 1).astype(small)[:, None], x.shape)[missing]
        flat = codes.astype(np.intp)
        flat += np.arange(len(self._numeric))[:, None] * self._slots
        self._table += np.bincount(flat.ravel(), minlength=self._table.size).reshape(self._table.shape)


def _bins(ref: FeatureReference) -> int:
    return len(ref.categories) + 2 if ref.kind == "categorical" else len(ref.edges) + 2


@dataclass
class FeatureDrift:
    """One feature's drift: its PSI, the chi-square test's p-value (how likely counts this far from the training
    shares are for rows drawn from the training distribution), and each bin's share of the training and of the
    new rows (fractions)."""

    feature: str = ""
    kind: str = ""
    psi: float = 0.0
    p_value: float = 1.0
    flagged: bool = False
    bins: list[str] = field(default_factory=list)
    reference_share: list[float] = field(default_factory=list)
    batch_share: list[float] = field(default_factory=list)


@strict
@dataclass(frozen=True)
class DriftSettings:
    """When a feature's drift is flagged: the batch check's ``drift`` input. Unknown keys and wrong types are refused.

    psi_threshold: the PSI past which a feature may be flagged. The common rule of thumb: below 0.1 no significant
        change, 0.1 to 0.25 a moderate shift, above 0.25 a significant one (Siddiqi, "Credit Risk Scorecards",
        Wiley 2006; Yurdakul, "Statistical Properties of Population Stability Index", 2018).
    min_rows: the fewest new rows for any flag. PSI alone cries wolf at small n: 50 rows drawn from Pima's own
        training file scored a PSI of 0.969 on one feature from a single empty decile.
    alpha: the family-wise significance level a flagged feature's chi-square p-value must also pass (divided among
        the features, Bonferroni).
    """

    psi_threshold: float = 0.25
    min_rows: int = 30
    alpha: float = 0.01

    def __post_init__(self) -> None:
        check_types(self)
        require(self.psi_threshold >= 0, f"DriftSettings.psi_threshold must be 0 or more, got {self.psi_threshold}")
        require(self.min_rows >= 1, f"DriftSettings.min_rows must be at least 1, got {self.min_rows}")
        require(0 < self.alpha < 1, f"DriftSettings.alpha must be within (0, 1), got {self.alpha}")


@dataclass
class DriftSummary:
    """How far the new rows' feature distributions moved from the training rows'.

    threshold: the PSI past which a feature may be flagged (the run's DriftSettings.psi_threshold).
    min_rows: the fewest new rows for any flag (DriftSettings.min_rows); with fewer, nothing is flagged.
    alpha: the family-wise significance level: a feature is flagged only when its p-value is below
        alpha / (number of features) as well (Bonferroni), so rows drawn from the training distribution raise a
        false flag on some feature with probability at most alpha (DriftSettings.alpha).
    flagged: the flagged features, most drifted first.
    features: every feature's drift, in the model's feature order.
    rows / reference_rows: the new rows and the training rows compared.
    """

    threshold: float = 0.0
    min_rows: int = 0
    alpha: float = 0.0
    rows: int = 0
    reference_rows: int = 0
    flagged: list[str] = field(default_factory=list)
    features: list[FeatureDrift] = field(default_factory=list)


def summarize(reference: Reference, counter: DriftCounter, threshold: float, min_rows: int, alpha: float) -> DriftSummary:
    """The DriftSummary of the rows ``counter`` has counted against ``reference``: a feature is flagged when there
    are at least ``min_rows`` rows, its PSI passes ``threshold`` and its p-value is below ``alpha`` / features."""
    rows = int(next(iter(counter.counts.values())).sum()) if counter.counts else 0
    level = alpha / max(len(reference.features), 1)
    out = []
    for name, ref in reference.features.items():
        expected, actual = np.asarray(ref.counts, dtype=np.int64), counter.counts[name]
        value, p = psi(expected, actual), chi_square_p(expected, actual)
        out.append(FeatureDrift(
            feature=name, kind=ref.kind, psi=round(value, 6), p_value=float(f"{p:.6g}"),
            flagged=rows >= min_rows and value > threshold and p < level, bins=ref.bin_names(),
            reference_share=_shares(expected), batch_share=_shares(actual),
        ))  # fmt: skip
    flagged = [d.feature for d in sorted(out, key=lambda d: -d.psi) if d.flagged]
    return DriftSummary(threshold=threshold, min_rows=min_rows, alpha=alpha, rows=rows, reference_rows=reference.rows,
                        flagged=flagged, features=out)  # fmt: skip


def _shares(counts: np.ndarray) -> list[float]:
    total = float(counts.sum())
    return [round(float(c) / total, 6) if total else 0.0 for c in counts]


def read_reference(data: bytes, path: Path, features: list[str], categories: dict[str, list[str]]) -> Reference:
    """The Reference stored as ``data`` (the verified bytes of ``path``), checked against the model's schema."""
    try:
        raw = json.loads(data)
        ref = Reference(rows=int(raw["rows"]), format=int(raw["format"]),
                        features={k: FeatureReference(**v) for k, v in raw["features"].items()})  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise DataValidationError(f"{path}: not a drift reference ({exc})") from None
    if ref.format != REFERENCE_FORMAT:
        raise DataValidationError(f"{path}: format {ref.format}, but this code reads format {REFERENCE_FORMAT}")
    if list(ref.features) != list(features):
        raise DataValidationError(f"{path}: describes features {list(ref.features)}, but the model has {features}")
    for name, f in ref.features.items():
        bad = (f.kind == "categorical") != (name in categories) or len(f.counts) != _bins(f)
        if bad or (f.kind == "categorical" and f.categories != categories[name]) or any(
            not math.isfinite(e) for e in f.edges
        ):
            raise DataValidationError(f"{path}: feature {name!r} does not match the model's schema")
    return ref
