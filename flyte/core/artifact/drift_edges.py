"""The numeric features' drift bins: quantile edges placed on a seeded sample of the training rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flyte.core.data.matrix import float_matrix
from flyte.core.data.tables import iter_batches

#: Quantile bins per numeric feature (deciles): fewer bins when the training values have fewer distinct cut points.
NUMERIC_BINS = 10
#: Training values sampled (seeded, without replacement in expectation) to place the numeric bin edges.
EDGE_SAMPLE_ROWS = 100_000
EDGE_SAMPLE_SEED = 20261122


def numeric_edges(train: Path, numeric: list[str], rows: int, seed: int = EDGE_SAMPLE_SEED) -> dict[str, list[float]]:
    """Each ``numeric`` feature's bin edges from a seeded sample of about EDGE_SAMPLE_ROWS of the ``rows`` rows of the
    training table ``train``, read batch by batch."""
    rng = np.random.default_rng(seed)
    share = min(1.0, EDGE_SAMPLE_ROWS / max(rows, 1))
    samples: list[np.ndarray] = []
    for batch in iter_batches(train, columns=numeric):
        keep = rng.random(batch.num_rows) < share if share < 1 else slice(None)
        samples.append(float_matrix(batch, range(len(numeric)))[keep])  # the batch holds exactly these columns
    sample = np.concatenate(samples) if samples else np.empty((0, len(numeric)))
    return dict(zip(numeric, edges_from_samples(sample)))


def edges_from_sample(values: np.ndarray) -> list[float]:
    """About NUMERIC_BINS quantile bins' inner edges from a sample of a feature's non-missing values."""
    return edges_from_samples(np.asarray(values, dtype=np.float64).reshape(-1, 1))[0]


def edges_from_samples(sample: np.ndarray) -> list[list[float]]:
    """``edges_from_sample`` of each column of ``sample`` (rows x features, NaN missing), all columns at once.

    The quantiles are numpy's ``inverted_cdf`` (the smallest value with at least that share of the column's
    present values at or below it), computed with numpy's own index arithmetic so the edges are the same.
    """
    ordered = np.sort(sample, axis=0)  # NaN last
    present = ordered.shape[0] - np.isnan(ordered).sum(axis=0)
    q = np.arange(1, NUMERIC_BINS) / NUMERIC_BINS
    index = present[None, :] * q[:, None] - 1
    below = np.floor(index)
    rank = np.clip(below + (index - below > 0), 0, np.maximum(present - 1, 0)[None, :]).astype(np.int64)
    cuts = np.take_along_axis(ordered, rank, axis=0) if ordered.shape[0] else np.zeros(rank.shape)
    top = np.take_along_axis(ordered, np.maximum(present - 1, 0)[None, :], axis=0)[0] if ordered.shape[0] else 0.0
    # Edges at or past the maximum would leave the top bin empty by construction: drop them, and repeats.
    keep = (cuts < top) & np.vstack([np.ones((1, cuts.shape[1]), bool), cuts[1:] != cuts[:-1]])
    keep[:, present == 0] = False
    return [column[kept].tolist() for column, kept in zip(cuts.T, keep.T)]
