"""The quality gate for a regression model: RMSE and R² floors, and the paired comparison with its champion."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from flyte.core.artifact.schema import ModelSchema
from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import num_rows, read_columns
from flyte.core.data.target import read_values
from flyte.core.evaluation.predict import PREDICTION_COLUMN
from flyte.core.evaluation.regression_metrics import RegressionMetrics, regression_metrics
from flyte.core.evaluation.score import Metrics
from flyte.core.evaluation.score_stream import score_regression_streamed
from flyte.core.evaluation.scored import check_same_regression_rows, read_regression_rows
from flyte.core.gate.comparison import Comparison, GateRules
from flyte.core.gate.champion import meet_champion
from flyte.core.gate.decision import FloorCheck, GateDecision, Judgement
from flyte.core.gate.gate_rows import champion_batches, judgeable_rows, sample_for_judging
from flyte.core.gate import regression_stats as stats
from flyte.core.gate.regression_comparison import RegressionComparison
from flyte.core.gate.regression_stream import PairedErrorSketch
from flyte.core.registry.registry import Registry

log = logging.getLogger(__name__)


def check_regression_floors(m: RegressionMetrics, rules: GateRules) -> list[FloorCheck]:
    """The regression floors of ``rules``: R² at least min_r2, and RMSE at most max_rmse when it is set (above 0)."""
    floors = [FloorCheck("r2", m.r2, rules.min_r2, "at least", m.r2 >= rules.min_r2)]
    if rules.max_rmse > 0:
        floors.append(FloorCheck("rmse", m.rmse, rules.max_rmse, "at most", m.rmse <= rules.max_rmse))
    return floors


#: Rows folded into the streamed comparison at a time when they are already in memory (a block's temporaries only).
STREAM_BLOCK = 1 << 16


def paired_error_test(
    y: np.ndarray, ours: np.ndarray, theirs: np.ndarray, rules: GateRules, comparison: RegressionComparison,
    budget: int = 0, analytic_rows: int = 0,
) -> RegressionComparison:  # fmt: skip
    """Fill ``comparison``'s paired test of the challenger's (``ours``) and the champion's (``theirs``) per-row
    errors on the same rows and set ``tested``: a Wilcoxon signed-rank test on the absolute errors and an interval
    of the RMSE difference at 1 - rules.alpha.

    Below ``analytic_rows`` rows (0: always), regression_stats: the exact or normal Wilcoxon p and a paired
    bootstrap of rules.bootstrap_replicates resamples from rules.bootstrap_seed, fewer when resamples x rows would
    pass ``budget`` (0: no cap). From ``analytic_rows`` on, a PairedErrorSketch: a normal interval by the delta
    method and the Wilcoxon test on |d| binned to 0.4%, in fixed memory and one pass."""
    if analytic_rows > 0 and len(y) >= analytic_rows:
        sketch = PairedErrorSketch()
        for i in range(0, len(y), STREAM_BLOCK):
            sketch.add(y[i : i + STREAM_BLOCK], theirs[i : i + STREAM_BLOCK], ours[i : i + STREAM_BLOCK])
        return streamed_error_test(sketch, rules, comparison)
    found = stats.compare_regression(y, theirs, ours, rules.alpha, rules.bootstrap_replicates, rules.bootstrap_seed, budget)
    return _tested(comparison, found)


def streamed_error_test(sketch: PairedErrorSketch, rules: GateRules, comparison: RegressionComparison) -> RegressionComparison:
    """``paired_error_test``'s large-n path from a sketch already filled with (target, champion, challenger) rows."""
    return _tested(comparison, sketch.comparison(rules.alpha))


def _tested(comparison: RegressionComparison, found: stats.PairedErrorTest) -> RegressionComparison:
    comparison.tested = True
    comparison.rmse_ci_low, comparison.rmse_ci_high, comparison.wilcoxon_p = found.rmse_ci_low, found.rmse_ci_high, found.wilcoxon_p
    comparison.replicates, comparison.seed, comparison.method = found.replicates, found.seed, found.method
    comparison.wilcoxon_method, comparison.verdict = found.wilcoxon_method, found.verdict
    comparison.challenger_closer, comparison.champion_closer = found.challenger_closer, found.champion_closer
    return comparison


def compare_regression(y: np.ndarray, ours: np.ndarray, theirs: np.ndarray, rules: GateRules, budget: int = 0, analytic_rows: int = 0) -> RegressionComparison:
    """Both models' RMSE and MAE on the same rows, and (paired_error_test) the paired test of their errors."""
    a, b = regression_metrics(y, ours), regression_metrics(y, theirs)
    found = RegressionComparison(
        compared=True, rows=len(y), challenger_rmse=a.rmse, champion_rmse=b.rmse, rmse_difference=a.rmse - b.rmse,
        challenger_mae=a.mae, champion_mae=b.mae, confidence=1 - rules.alpha, seed=rules.bootstrap_seed,
    )  # fmt: skip
    return paired_error_test(y, ours, theirs, rules, found, budget, analytic_rows)


def decide_regression(floors: list[FloorCheck], c: RegressionComparison, rules: GateRules, preamble: list[str]) -> tuple[bool, list[str]]:
    """Promote when every floor holds and, when a paired test ran, the challenger is not significantly worse, or
    with ``require_better`` significantly better. Worse: the RMSE difference's 1 - alpha interval wholly above 0,
    or Wilcoxon's p < alpha with the challenger's errors ranking larger (in effect one-sided at alpha / 2, as
    McNemar's is for classifiers); better: the mirror image (regression_stats.compare_regression's verdict)."""
    reasons = list(preamble) + [f"{f.metric} {f.value:.4g} fails the floor: must be {f.kind} {f.bound:.4g}" for f in floors if not f.passed]
    ok = all(f.passed for f in floors)
    if c.compared:
        text = (f"on the {c.rows} test rows neither model trained on ({c.seen_rows} of {c.test_rows} left out), RMSE "
                f"{c.challenger_rmse:.4g} vs {c.champion_rmse:.4g} (difference {c.rmse_difference:+.4g}), MAE "
                f"{c.challenger_mae:.4g} vs {c.champion_mae:.4g}")  # fmt: skip
        if not c.tested:
            reasons.append(f"no paired test of the errors is available: the floors alone decide; {text}")
            if rules.require_better:
                reasons.append("require_better needs a paired test, which is not available: not promoted")
                ok = False
        else:
            text += (f", {c.confidence:.0%} CI of the RMSE difference [{c.rmse_ci_low:+.4g}, {c.rmse_ci_high:+.4g}], "
                     f"Wilcoxon signed-rank p = {c.wilcoxon_p:.4g}")  # fmt: skip
            text += f" ({c.challenger_closer} rows the challenger was closer on, {c.champion_closer} the champion)"
            worse, better = c.verdict == stats.WORSE, c.verdict == stats.BETTER
            if worse:
                reasons.append(f"significantly worse than the champion: {text}")
                ok = False
            elif rules.require_better and not better:
                reasons.append(f"not significantly better than the champion, which require_better asks: {text}")
                ok = False
            elif ok:
                reasons.append(f"{'significantly better' if better else 'not significantly worse'} than the champion: {text}")
    if ok:
        reasons.append("promote: every floor holds" + (" and the comparison allows it" if c.compared and c.tested else ""))
    return ok, reasons


def judge_regression(
    model_dir: Path, schema: ModelSchema, test: Path, predictions: Path, metrics: Metrics, registry: str | Registry,
    champion: str, rules: GateRules, scratch: Path, n_threads: int = 1, bootstrap_budget: int = 0, analytic_rows: int = 0,
    judge_rows: int = 0,
) -> Judgement:  # fmt: skip
    """``gate.judge`` for a regression challenger (``schema``): its RMSE and R² floors, then the comparison with
    ``champion`` on the test rows it never saw (``bootstrap_budget``, ``analytic_rows`` and ``judge_rows`` as in
    ``gate.judge``: from ``analytic_rows`` unseen rows on, the champion's predictions are streamed, batch by batch,
    into the test; above ``judge_rows`` test rows, the floors come from the score task's streamed metrics and the
    champion is met on a seeded sample of about ``judge_rows`` rows)."""
    keep, sampled = sample_for_judging(num_rows(test), judge_rows, rules.bootstrap_seed)
    if keep is not None:
        # As gate.judge: every target and prediction in memory (and their errors' temporaries) grows with the rows.
        found = score_regression_streamed(test, predictions, schema)[0].regression
        y, ours = read_regression_rows(test, predictions, schema.target, keep)
    else:
        y = read_values(test, schema.target)
        table = read_columns(predictions, [PREDICTION_COLUMN])
        if table.num_rows != len(y):
            raise DataValidationError(f"{predictions}: {table.num_rows} predictions for {len(y)} test rows")
        ours = table.column(0).to_numpy()
        found = regression_metrics(y, ours)
    check_same_regression_rows(metrics, found)
    floors = check_regression_floors(found, rules)
    met = meet_champion(model_dir, schema, test, registry, champion, rules.replace_incompatible, scratch, n_threads)
    comparison, preamble, version = RegressionComparison(), [*met.preamble, *sampled], met.version
    if met.kept:
        decision = GateDecision(False, met.kept, floors, Comparison(), champion, version, regression=comparison)
        return Judgement(decision, schema.target)
    if met.reigning is not None:
        comparison, note = compare_unseen(test, y, ours, met.reigning, met.directory, rules, bootstrap_budget, analytic_rows, keep)
        if note:
            preamble.append(note)
    promote, reasons = decide_regression(floors, comparison, rules, preamble)
    floors_only = bool(champion) and not (comparison.compared and comparison.tested)
    decision = GateDecision(promote, reasons, floors, Comparison(), champion, version, floors_only=floors_only, regression=comparison)
    log.info("gate: promote=%s against champion %s; %s", promote, version or "none", "; ".join(reasons))
    return Judgement(decision, schema.target)


def compare_unseen(test: Path, y: np.ndarray, ours: np.ndarray, reigning, champion_dir: Path, rules: GateRules,
                   budget: int, analytic_rows: int, keep: np.ndarray | None = None) -> tuple[RegressionComparison, str]:  # fmt: skip
    """The comparison with the loaded champion ``reigning`` on the test rows it neither trained nor early-stopped on,
    or (with a reason) no comparison when there are fewer than ``rules.min_unseen_rows`` of them. ``keep``: as in
    ``gate.compare_unseen``, the sample's mask over every test row when ``y`` and ``ours`` are a sample."""
    everything = len(keep) if keep is not None else len(y)
    mask, too_few = judgeable_rows(test, everything, champion_dir, reigning.schema, rules.min_unseen_rows, keep)
    n = int(mask.sum())
    if too_few:
        return RegressionComparison(rows=n, test_rows=len(y), seen_rows=len(y) - n), too_few
    batches = champion_batches(test, list(reigning.schema.features), keep)
    if analytic_rows > 0 and n >= analytic_rows:
        comparison = _streamed(y, ours, mask, (reigning.predict_values(b) for b in batches), rules)
    else:
        rows = np.flatnonzero(mask)
        theirs = np.concatenate([reigning.predict_values(b) for b in batches])
        comparison = compare_regression(y[rows], ours[rows], theirs[rows], rules, budget)
    comparison.test_rows, comparison.seen_rows = len(y), len(y) - n
    return comparison, ""


def _streamed(y: np.ndarray, ours: np.ndarray, mask: np.ndarray, theirs, rules: GateRules) -> RegressionComparison:
    """The comparison on the rows ``mask`` keeps, the champion's predictions ``theirs`` arriving batch by batch (in
    the test rows' order) into a PairedErrorSketch: its predictions are never all held at once."""
    sketch, start = PairedErrorSketch(), 0
    for batch in theirs:
        end = start + len(batch)
        keep = mask[start:end]
        sketch.add(y[start:end][keep], np.asarray(batch)[keep], ours[start:end][keep])
        start = end
    if start != len(y):
        raise DataValidationError(f"the champion predicted {start} rows of {len(y)} test rows")
    s = sketch.comparison(rules.alpha)
    found = RegressionComparison(
        compared=True, rows=s.rows, challenger_rmse=s.challenger_rmse, champion_rmse=s.champion_rmse,
        rmse_difference=s.rmse_difference, challenger_mae=s.challenger_mae, champion_mae=s.champion_mae,
        confidence=1 - rules.alpha, seed=rules.bootstrap_seed,
    )  # fmt: skip
    return _tested(found, s)
