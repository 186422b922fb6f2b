"""The champion comparison's rules and its paired test on the same rows: McNemar's exact test and paired intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flyte.core.common.validation import check_types, require
from flyte.core.evaluation.score import score_predictions
from flyte.core.gate.gate_stats import mcnemar_exact, paired_intervals


@dataclass
class GateRules:
    """What a challenger must meet. Every field is required here; the Flyte-facing ``GateCriteria``
    (flyte/workflows/gate/tasks.py) gives each its default.

    min_accuracy / min_roc_auc: floors (fractions in [0, 1]); max_log_loss: ceiling (natural log, >= 0).
    alpha: significance level of the comparison with the champion (two-sided tests and 1 - alpha intervals).
    bootstrap_replicates / bootstrap_seed: resamples of the paired bootstrap, and its seed.
    require_better: promote only a challenger significantly better than the champion (on accuracy by McNemar,
        or on ROC AUC by its interval), rather than one not significantly worse.
    replace_incompatible: when the champion cannot score these test rows (another target, other labels,
        missing features), judge the challenger by the floors alone instead of refusing it.
    min_unseen_rows: the fewest test rows the champion never saw (neither trained nor early-stopped on) that
        the comparison needs; with fewer, the floors alone decide, and the decision says so.
    max_rmse / min_r2: a regression model's floors: RMSE at most max_rmse (the target's units; 0 for no
        ceiling), R² at least min_r2 (0: better than predicting the mean). The class floors above apply to
        classifiers only, these to regression models only.
    """

    min_accuracy: float
    min_roc_auc: float
    max_log_loss: float
    alpha: float
    bootstrap_replicates: int
    bootstrap_seed: int
    require_better: bool
    replace_incompatible: bool
    min_unseen_rows: int
    max_rmse: float = 0.0
    min_r2: float = 0.0

    def __post_init__(self) -> None:
        check_types(self)
        for name in ("min_accuracy", "min_roc_auc"):
            require(0 <= getattr(self, name) <= 1, f"{name} must be within [0, 1], got {getattr(self, name)}")
        require(self.max_log_loss >= 0, f"max_log_loss must be 0 or more, got {self.max_log_loss}")
        require(0 < self.alpha < 0.5, f"alpha must be within (0, 0.5), got {self.alpha}")
        require(self.bootstrap_replicates >= 100, f"bootstrap_replicates must be at least 100, got {self.bootstrap_replicates}")
        require(self.bootstrap_seed >= 0, f"bootstrap_seed must be 0 or more, got {self.bootstrap_seed}")
        require(self.min_unseen_rows >= 1, f"min_unseen_rows must be 1 or more, got {self.min_unseen_rows}")
        require(math.isfinite(self.max_rmse) and self.max_rmse >= 0, f"max_rmse must be 0 (no ceiling) or more, got {self.max_rmse}")
        require(math.isfinite(self.min_r2) and self.min_r2 <= 1, f"min_r2 must be at most 1, got {self.min_r2}")


@dataclass
class Comparison:
    """Challenger against champion on the same test rows, those neither model trained or early-stopped on;
    differences are challenger - champion (fractions).

    compared: False when no comparison was made (the counts below are still filled when a champion was fetched).
    rows: the rows compared; test_rows: the challenger's test rows; seen_rows: those left out because the
        champion may have trained or early-stopped on them (by its recorded split rule; all of them without one).
    challenger_only / champion_only: McNemar's discordant counts (rows only that model got right).
    mcnemar_p: two-sided exact p-value; the *_ci_* are percentile paired-bootstrap intervals at ``confidence``.
    """

    compared: bool = False
    rows: int = 0
    test_rows: int = 0
    seen_rows: int = 0
    challenger_accuracy: float = 0.0
    champion_accuracy: float = 0.0
    accuracy_difference: float = 0.0
    accuracy_ci_low: float = 0.0
    accuracy_ci_high: float = 0.0
    challenger_only: int = 0
    champion_only: int = 0
    mcnemar_p: float = 1.0
    challenger_roc_auc: float = 0.0
    champion_roc_auc: float = 0.0
    auc_difference: float = 0.0
    auc_ci_low: float = 0.0
    auc_ci_high: float = 0.0
    confidence: float = 0.0
    replicates: int = 0
    seed: int = 0


#: The fewest resamples a capped bootstrap still draws: its 2.5% quantile is then the 5th value.
MIN_CAPPED_REPLICATES = 200


def replicates_within(rules: GateRules, rows: int, budget: int) -> int:
    """Resamples to draw: ``rules.bootstrap_replicates``, fewer when replicates x rows would pass ``budget``
    (0: no cap), never fewer than MIN_CAPPED_REPLICATES. Fewer resamples make the interval's ends noisier, not
    biased: each is still a percentile of resamples of every row."""
    if budget <= 0:
        return rules.bootstrap_replicates
    return min(rules.bootstrap_replicates, max(MIN_CAPPED_REPLICATES, budget // max(rows, 1)))


def compare(
    y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, rules: GateRules, budget: int = 0, analytic_rows: int = 0
) -> Comparison:
    """McNemar's exact test on correct / incorrect and a paired bootstrap of the accuracy and AUC differences;
    ``budget`` caps resamples x rows (see ``replicates_within``); from ``analytic_rows`` rows on (0: never), paired
    normal intervals replace the bootstrap (gate_stats.paired_analytic)."""
    test = mcnemar_exact(challenger.argmax(axis=1) == y, champion.argmax(axis=1) == y)
    replicates = replicates_within(rules, len(y), budget)
    boot = paired_intervals(y, challenger, champion, replicates, rules.bootstrap_seed, 1 - rules.alpha, analytic_rows)
    texts = [str(i) for i in range(challenger.shape[1])]
    ours, theirs = score_predictions(y, challenger, texts), score_predictions(y, champion, texts)
    return Comparison(
        compared=True, rows=len(y), challenger_accuracy=ours.accuracy, champion_accuracy=theirs.accuracy,
        accuracy_difference=boot.accuracy_difference, accuracy_ci_low=boot.accuracy_ci[0], accuracy_ci_high=boot.accuracy_ci[1],
        challenger_only=test.challenger_only, champion_only=test.champion_only, mcnemar_p=test.p_value,
        challenger_roc_auc=ours.roc_auc, champion_roc_auc=theirs.roc_auc, auc_difference=boot.auc_difference,
        auc_ci_low=boot.auc_ci[0], auc_ci_high=boot.auc_ci[1], confidence=boot.confidence,
        replicates=boot.replicates, seed=rules.bootstrap_seed,
    )  # fmt: skip
