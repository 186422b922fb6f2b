"""The quality gate for a regression model: RMSE and R² floors, and the paired comparison with its champion."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from flyte.core.artifact.manifest import MANIFEST_FILE, read_manifest, sha256
from flyte.core.artifact.schema import ModelSchema
from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import iter_batches, read_columns, schema as table_schema
from flyte.core.data.target import read_values
from flyte.core.evaluation.predict import PREDICTION_COLUMN
from flyte.core.evaluation.regression_metrics import RegressionMetrics, regression_metrics
from flyte.core.evaluation.score import Metrics
from flyte.core.gate.comparison import Comparison, GateRules
from flyte.core.gate.decision import FloorCheck, GateDecision, Judgement, incompatibility
from flyte.core.gate.gate_rows import recorded_rule, unseen_rows
from flyte.core.gate.regression_comparison import RegressionComparison
from flyte.core.registry.registry import Registry

log = logging.getLogger(__name__)


def check_regression_floors(m: RegressionMetrics, rules: GateRules) -> list[FloorCheck]:
    """The regression floors of ``rules``: R² at least min_r2, and RMSE at most max_rmse when it is set (above 0)."""
    floors = [FloorCheck("r2", m.r2, rules.min_r2, "at least", m.r2 >= rules.min_r2)]
    if rules.max_rmse > 0:
        floors.append(FloorCheck("rmse", m.rmse, rules.max_rmse, "at most", m.rmse <= rules.max_rmse))
    return floors


def paired_error_test(y: np.ndarray, ours: np.ndarray, theirs: np.ndarray, rules: GateRules, comparison: RegressionComparison) -> RegressionComparison:
    """Fill ``comparison``'s paired test of the two models' per-row errors on the same rows (a Wilcoxon signed-rank
    p-value on the absolute errors, a paired bootstrap interval of the RMSE difference at 1 - rules.alpha with
    rules.bootstrap_replicates and bootstrap_seed) and set ``tested``. This is where those statistics are wired;
    until they are, it leaves ``tested`` False and the floors alone decide, which the decision says."""
    return comparison


def compare_regression(y: np.ndarray, ours: np.ndarray, theirs: np.ndarray, rules: GateRules) -> RegressionComparison:
    """Both models' RMSE and MAE on the same rows, and (paired_error_test) the paired test of their errors."""
    a, b = regression_metrics(y, ours), regression_metrics(y, theirs)
    found = RegressionComparison(
        compared=True, rows=len(y), challenger_rmse=a.rmse, champion_rmse=b.rmse, rmse_difference=a.rmse - b.rmse,
        challenger_mae=a.mae, champion_mae=b.mae, confidence=1 - rules.alpha, seed=rules.bootstrap_seed,
    )  # fmt: skip
    return paired_error_test(y, ours, theirs, rules, found)


def decide_regression(floors: list[FloorCheck], c: RegressionComparison, rules: GateRules, preamble: list[str]) -> tuple[bool, list[str]]:
    """Promote when every floor holds and, when a paired test ran, the challenger is not significantly worse (its
    RMSE difference interval wholly above 0 with Wilcoxon p < alpha), or with ``require_better`` significantly better."""
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
            worse = c.rmse_ci_low > 0 and c.wilcoxon_p < rules.alpha
            better = c.rmse_ci_high < 0 and c.wilcoxon_p < rules.alpha
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


def refuse_other_problem(floors, champion: str, version: str, theirs: ModelSchema, ours: ModelSchema) -> Judgement:
    """Keep a champion of the other problem type, whatever replace_incompatible says: neither can judge the other."""
    why = (f"the champion {version} is a {theirs.problem_type} model and the challenger a {ours.problem_type} model: "
           "neither judges the other; kept the champion (train under another model_name)")  # fmt: skip
    decision = GateDecision(False, [why], floors, Comparison(), champion, version)
    return Judgement(decision, ours.target)


def judge_regression(
    model_dir: Path, schema: ModelSchema, test: Path, predictions: Path, metrics: Metrics, registry: str | Registry,
    champion: str, rules: GateRules, scratch: Path, n_threads: int = 1,
) -> Judgement:  # fmt: skip
    """``gate.judge`` for a regression challenger (``schema``): its RMSE and R² floors, then the comparison with
    ``champion`` on the test rows it never saw."""
    y = read_values(test, schema.target)
    table = read_columns(predictions, [PREDICTION_COLUMN])
    if table.num_rows != len(y):
        raise DataValidationError(f"{predictions}: {table.num_rows} predictions for {len(y)} test rows")
    ours = table.column(0).to_numpy()
    found = regression_metrics(y, ours)
    given = metrics.regression
    if given is None or given.rows != found.rows or not math.isclose(given.rmse, found.rmse, rel_tol=1e-9):
        raise DataValidationError(
            f"the metrics given (RMSE {given.rmse if given else None}, {metrics.rows} rows) are not those of these "
            f"predictions (RMSE {found.rmse}, {found.rows} rows)"
        )
    floors = check_regression_floors(found, rules)
    comparison, preamble, version = RegressionComparison(), [], ""
    if not champion:
        preamble.append("no champion yet: the floors alone decide")
    else:
        version, _, digest = champion.partition("@")
        if digest == sha256((Path(model_dir) / MANIFEST_FILE).read_bytes()):
            decision = GateDecision(False, [f"the challenger is already the champion ({version}): nothing to promote"],
                                    floors, Comparison(), champion, version, regression=comparison)  # fmt: skip
            return Judgement(decision, schema.target)
        from flyte.core.artifact.model import load_model

        entry = registry if isinstance(registry, Registry) else Registry(registry)
        champion_dir = entry.fetch(version, digest, Path(scratch) / "champion")
        reigning = load_model(champion_dir, n_threads=n_threads)
        if reigning.schema.problem_type != schema.problem_type:
            return refuse_other_problem(floors, champion, version, reigning.schema, schema)
        why = incompatibility(reigning.schema, schema, table_schema(test).names)
        if why and not rules.replace_incompatible:
            decision = GateDecision(False, [f"the champion {version} cannot be compared on these test rows: {why}",
                                            "kept the champion; set replace_incompatible to judge by the floors alone"],
                                    floors, Comparison(), champion, version, regression=comparison)  # fmt: skip
            return Judgement(decision, schema.target)
        if why:
            preamble.append(f"the champion {version} cannot be compared ({why}); replace_incompatible: the floors alone decide")
        else:
            unseen = unseen_rows(test, len(y), recorded_rule(read_manifest(champion_dir, [])), reigning.schema)
            n = int(unseen.mask.sum())
            if n < rules.min_unseen_rows:
                comparison = RegressionComparison(rows=n, test_rows=len(y), seen_rows=len(y) - n)
                preamble.append(f"too few test rows to judge against the champion: {n} of {len(y)} are rows it neither "
                                f"trained nor early-stopped on{f' ({unseen.why})' if unseen.why else ''}, fewer than "
                                f"min_unseen_rows={rules.min_unseen_rows}; the floors alone decide")  # fmt: skip
            else:
                rows = np.flatnonzero(unseen.mask)
                theirs = np.concatenate([reigning.predict_values(b) for b in iter_batches(test, columns=list(reigning.schema.features))])
                comparison = compare_regression(y[rows], ours[rows], theirs[rows], rules)
                comparison.test_rows, comparison.seen_rows = len(y), len(y) - n
    promote, reasons = decide_regression(floors, comparison, rules, preamble)
    floors_only = bool(champion) and not (comparison.compared and comparison.tested)
    decision = GateDecision(promote, reasons, floors, Comparison(), champion, version, floors_only=floors_only, regression=comparison)
    log.info("gate: promote=%s against champion %s; %s", promote, version or "none", "; ".join(reasons))
    return Judgement(decision, schema.target)
