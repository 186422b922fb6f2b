"""The card's streamed statistics equal the in-memory ones: counts exactly, AUC's interval within the histogram's
resolution, whatever the tables' batch sizes."""

from __future__ import annotations

import numpy as np
import pytest

from flyte.core.evaluation.statistics.analytic import analytic_intervals
from flyte.core.evaluation.statistics.bootstrap import METRICS
from flyte.core.evaluation.statistics.calibration import calibration
from flyte.core.publishing.card_stream import streamed_card_stats
from flyte.core.evaluation.statistics.class_metrics import class_metrics
from tests.core.evaluation.test_score_stream import scores, write_tables


@pytest.mark.parametrize("k", [2, 3])
def test_streamed_card_statistics_equal_the_in_memory_ones(tmp_path, k):
    labels = [f"c{i}" for i in range(k)]
    y, proba = scores(6001, k, seed=10 + k)
    test, predictions, schema = write_tables(tmp_path, y, proba, labels, label_groups=1000, prob_groups=777)
    stats = streamed_card_stats(test, predictions, schema, level=0.95, calibration_bins=10, auc_bins=1 << 18)
    expected = analytic_intervals(y, proba, labels)
    assert stats.intervals.method == expected.method and stats.intervals.replicates == 0
    for name in METRICS:
        tolerance = 1e-4 if name == "roc_auc" else 1e-9  # AUC placements are taken per histogram bin
        assert stats.intervals.low[name] == pytest.approx(expected.low[name], abs=tolerance), name
        assert stats.intervals.high[name] == pytest.approx(expected.high[name], abs=tolerance), name
    assert stats.confusion.tolist() == np.bincount(y * k + proba.argmax(axis=1), minlength=k * k).reshape(k, k).tolist()
    assert stats.per_class == class_metrics(y, proba, labels)
    curve = calibration(y, proba, labels, 10)
    assert stats.curve.counts == curve.counts and stats.curve.confidence == pytest.approx(curve.confidence)
    assert stats.curve.observed == pytest.approx(curve.observed) and stats.curve.ece == pytest.approx(curve.ece)
