"""Histogram AUC within its stated bound of the exact one; streamed scoring equal to the in-memory scoring on
everything else, whatever the two tables' batch sizes; the streamed path chosen from the threshold on."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import flyte.core.evaluation.evaluate as evaluate_module
from flyte.core.data import labels as lbl
from flyte.core.evaluation.evaluate import score_tables
from flyte.core.evaluation.predict import probability_column
from flyte.core.artifact.schema import ModelSchema
from flyte.core.evaluation.score import _auc, _roc_counts, roc_curves, score_predictions
from flyte.core.evaluation.score_hist import HistogramAuc
from flyte.core.evaluation.score_stream import ScoreSettings, score_streamed
from flyte.core.data.tables import TableWriter


def scores(n: int, k: int, seed: int, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if decimals is not None:  # coarse scores: many exact ties, as a tree model gives
        proba = np.round(proba, decimals)
    return y, proba


@pytest.mark.parametrize("bins,decimals", [(4, None), (64, None), (1 << 12, 2), (1 << 18, None), (1 << 18, 3)])
def test_histogram_auc_is_within_its_bound_of_the_exact_auc(bins, decimals):
    y, proba = scores(20_000, 2, seed=bins, decimals=decimals)
    hist = HistogramAuc(bins)
    for lo in range(0, len(y), 3000):  # batch by batch, as the streamed scoring fills it
        hist.add(y[lo : lo + 3000] == 1, proba[lo : lo + 3000, 1])
    exact, found, bound = _auc(y == 1, proba[:, 1]), hist.auc(), hist.error_bound()
    assert abs(found - exact) <= bound + 1e-15
    assert bound < (0.2 if bins == 4 else 5e-3 if bins == 64 else 1e-4)  # finer bins, a tighter bound
    if bins == 4:  # coarse bins: a real error, and the bound is not vacuous
        assert found != exact and bound > 0


def test_bins_holding_one_distinct_score_each_give_the_exact_auc_and_curve():
    y, proba = scores(5000, 2, seed=1, decimals=2)  # at most 101 distinct scores, k / 100
    hist = HistogramAuc(1000)  # every 0.01 step lands in its own bin
    hist.add(y == 1, proba[:, 1])
    assert hist.error_bound() == 0.0
    assert hist.auc() == pytest.approx(_auc(y == 1, proba[:, 1]), abs=1e-15)
    fps, tps = hist.roc_counts()
    exact_fps, exact_tps = _roc_counts(y == 1, proba[:, 1])
    assert fps.tolist() == exact_fps.tolist() and tps.tolist() == exact_tps.tolist()


def test_too_few_bins_are_refused():
    with pytest.raises(ValueError, match="bins"):
        HistogramAuc(1)
    with pytest.raises(ValueError, match="auc_bins"):
        ScoreSettings(auc_bins=1)


def write_tables(tmp_path, y, proba, labels, label_groups: int, prob_groups: int):
    """A test table and its predictions, written in row groups of different sizes (so their batches never align)."""
    schema = ModelSchema(target="t", features=["x"], labels=labels, label_kind=lbl.STR)
    test, predictions = tmp_path / "test", tmp_path / "predictions"
    table = pa.table({"t": pa.array([labels[c] for c in y]), "x": pa.array(np.zeros(len(y)))})
    with TableWriter(test, table.schema, row_group_rows=label_groups) as w:
        for batch in table.to_batches(max_chunksize=label_groups):
            w.write(batch)
        w.commit()
    probs = pa.table({probability_column(t): pa.array(proba[:, i]) for i, t in enumerate(labels)})
    with TableWriter(predictions, probs.schema, row_group_rows=prob_groups) as w:
        for batch in probs.to_batches(max_chunksize=prob_groups):
            w.write(batch)
        w.commit()
    return test, predictions, schema


@pytest.mark.parametrize("k", [2, 3])
def test_streamed_scoring_equals_the_in_memory_one_but_for_the_auc_within_its_bound(tmp_path, k):
    labels = [f"c{i}" for i in range(k)]
    y, proba = scores(7001, k, seed=k)
    test, predictions, schema = write_tables(tmp_path, y, proba, labels, label_groups=1000, prob_groups=777)
    streamed, curves = score_streamed(test, predictions, schema, ScoreSettings(exact_rows=1, auc_bins=1 << 16))
    exact = score_predictions(y, proba, labels)
    assert streamed.confusion_matrix == exact.confusion_matrix and streamed.rows == 7001
    for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "log_loss"):
        assert getattr(streamed, name) == pytest.approx(getattr(exact, name), rel=1e-12), name
    assert streamed.roc_auc == pytest.approx(exact.roc_auc, abs=1e-4)
    exact_curves = roc_curves(y, proba, labels)
    assert [c.label for c in curves] == [c.label for c in exact_curves]
    for mine, theirs in zip(curves, exact_curves):
        assert mine.fpr[0] == mine.tpr[0] == 0 and mine.fpr[-1] == mine.tpr[-1] == 1
        assert len(mine.fpr) <= 300 and mine.auc == pytest.approx(theirs.auc, abs=1e-4)


def test_score_tables_streams_from_the_threshold_on(tmp_path, monkeypatch):
    labels = ["a", "b"]
    y, proba = scores(500, 2, seed=9)
    test, predictions, schema = write_tables(tmp_path, y, proba, labels, 128, 100)
    calls = []
    monkeypatch.setattr(evaluate_module, "score_streamed", lambda *a: calls.append(a) or score_streamed(*a))
    below = score_tables(test, predictions, schema, ScoreSettings(exact_rows=501))[0]
    assert calls == [] and below.roc_auc == score_predictions(y, proba, labels).roc_auc
    at = score_tables(test, predictions, schema, ScoreSettings(exact_rows=500))[0]
    assert len(calls) == 1 and at.confusion_matrix == below.confusion_matrix


def test_tables_of_different_lengths_are_refused(tmp_path):
    y, proba = scores(300, 2, seed=2)
    test, _, schema = write_tables(tmp_path, y, proba, ["a", "b"], 100, 100)
    _, predictions, _ = write_tables(tmp_path / "other", y[:299], proba[:299], ["a", "b"], 100, 100)
    with pytest.raises(Exception, match="300 true labels but 299 predictions"):
        score_streamed(test, predictions, schema, ScoreSettings(exact_rows=1))
