"""What the gate found comparing two regression models on the same rows (a record type only, no logic)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RegressionComparison:
    """Challenger against champion on the test rows neither trained or early-stopped on; errors in the target's
    units, differences challenger - champion (below 0: the challenger is closer).

    compared: False when no comparison was made (the row counts are still filled when a champion was fetched).
    rows / test_rows / seen_rows: as in gate.Comparison.
    challenger_rmse / champion_rmse / rmse_difference, challenger_mae / champion_mae: on those rows.
    tested: whether a paired test ran; without one the floors alone decide and a reason says so.
    rmse_ci_low / rmse_ci_high: the paired bootstrap interval of the RMSE difference at ``confidence``.
    wilcoxon_p: two-sided p-value of the Wilcoxon signed-rank test on the rows' paired absolute errors.
    replicates / seed: of the paired bootstrap (replicates 0 for the normal interval).
    method: how the interval was made (percentile bootstrap, or normal by the delta method from the gate's
        analytic_rows on, the rows then streamed and the Wilcoxon test binned); wilcoxon_method: exact or normal.
    challenger_closer / champion_closer: rows where that model's absolute error is strictly smaller.
    verdict: "significantly worse", "significantly better" or "no significant difference" ("" untested).
    """

    compared: bool = False
    rows: int = 0
    test_rows: int = 0
    seen_rows: int = 0
    challenger_rmse: float = 0.0
    champion_rmse: float = 0.0
    rmse_difference: float = 0.0
    challenger_mae: float = 0.0
    champion_mae: float = 0.0
    tested: bool = False
    rmse_ci_low: float = 0.0
    rmse_ci_high: float = 0.0
    wilcoxon_p: float = 1.0
    confidence: float = 0.0
    replicates: int = 0
    seed: int = 0
    method: str = ""
    wilcoxon_method: str = ""
    challenger_closer: int = 0
    champion_closer: int = 0
    verdict: str = ""
