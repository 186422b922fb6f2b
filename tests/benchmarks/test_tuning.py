"""benchmarks.tuning on a tiny search: both configurations scored on the same test rows, the default as trial 0."""

from __future__ import annotations

from benchmarks.tuning import compare
from flyte.core.data.dataset import pima_spec
from flyte.core.tuning.search import SearchSpace


def test_compare_scores_default_and_tuned_on_the_same_rows(tmp_path):
    out = compare("pima", pima_spec(), SearchSpace(trials=2, folds=3), tmp_path)
    assert out["default"]["trial"] == 0 and out["tuned"]["trial"] in (0, 1)
    assert out["default"]["test_rows"] == out["tuned"]["test_rows"] == 259
    assert out["tuned"]["cv_log_loss"] <= out["default"]["cv_log_loss"]  # the search never picks a worse CV score
