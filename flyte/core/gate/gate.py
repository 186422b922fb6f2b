"""The quality gate: floors on the new model's metrics and a paired comparison with the champion, then a decision."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from flyte.core.gate.comparison import MIN_CAPPED_REPLICATES, Comparison, GateRules, compare, replicates_within  # noqa: F401  (the gate's API)
from flyte.core.gate.decision import FloorCheck, GateDecision, Judgement, incompatibility  # noqa: F401  (the gate's API)
from flyte.core.gate import gate_rows
from flyte.core.gate.champion import meet_champion
from flyte.core.registry.registry import Registry
from flyte.core.artifact.schema import read_schema
from flyte.core.evaluation.score import Metrics, score_predictions
from flyte.core.evaluation.score_stream import ScoreSettings, score_streamed
from flyte.core.evaluation.scored import check_same_rows, read_scored, read_scored_rows
from flyte.core.data.tables import num_rows
from flyte.core.common.validation import require

log = logging.getLogger(__name__)


def check_floors(metrics: Metrics, rules: GateRules) -> list[FloorCheck]:
    """The floors of ``rules`` applied to the challenger's metrics on the test rows."""
    return [
        FloorCheck("accuracy", metrics.accuracy, rules.min_accuracy, "at least", metrics.accuracy >= rules.min_accuracy),
        # A NaN AUC (a class missing from the test rows) passes no floor.
        FloorCheck("roc_auc", metrics.roc_auc, rules.min_roc_auc, "at least", bool(metrics.roc_auc >= rules.min_roc_auc)),
        FloorCheck("log_loss", metrics.log_loss, rules.max_log_loss, "at most", metrics.log_loss <= rules.max_log_loss),
    ]


#: The fewest resamples a capped bootstrap still draws: its 2.5% quantile is then the 5th value.
def decide(floors: list[FloorCheck], comparison: Comparison, rules: GateRules, preamble: list[str]) -> tuple[bool, list[str]]:
    """Promote when every floor holds and the challenger is not significantly worse (or, with ``require_better``,
    significantly better). ``preamble``: reasons already known (no champion, an incompatible one).

    Significantly worse on accuracy: the champion wins more discordant rows AND McNemar's two-sided p < alpha
    (so a one-sided test at alpha / 2). On AUC: the whole 1 - alpha interval of the difference lies below 0.
    """
    reasons = list(preamble)
    for f in floors:
        if not f.passed:
            reasons.append(f"{f.metric} {f.value:.4f} fails the floor: must be {f.kind} {f.bound:.4f}")
    ok = all(f.passed for f in floors)
    if comparison.compared:
        c = comparison
        acc = (f"accuracy {c.challenger_accuracy:.4f} vs {c.champion_accuracy:.4f} (difference {c.accuracy_difference:+.4f}, "
               f"{c.confidence:.0%} CI [{c.accuracy_ci_low:+.4f}, {c.accuracy_ci_high:+.4f}]; McNemar exact p = {c.mcnemar_p:.4g}, "
               f"{c.challenger_only} rows only the challenger got right, {c.champion_only} only the champion)")  # fmt: skip
        auc = (f"ROC AUC {c.challenger_roc_auc:.4f} vs {c.champion_roc_auc:.4f} (difference {c.auc_difference:+.4f}, "
               f"{c.confidence:.0%} CI [{c.auc_ci_low:+.4f}, {c.auc_ci_high:+.4f}])")  # fmt: skip
        if c.test_rows:
            acc = f"on the {c.rows} test rows neither model trained on ({c.seen_rows} of {c.test_rows} left out), {acc}"
        acc_worse = c.champion_only > c.challenger_only and c.mcnemar_p < rules.alpha
        acc_better = c.challenger_only > c.champion_only and c.mcnemar_p < rules.alpha
        auc_worse, auc_better = c.auc_ci_high < 0, c.auc_ci_low > 0
        if acc_worse:
            reasons.append(f"significantly worse than the champion: {acc}")
        if auc_worse:
            reasons.append(f"significantly worse than the champion: {auc}")
        ok = ok and not acc_worse and not auc_worse
        if rules.require_better and not (acc_better or auc_better):
            reasons.append(f"not significantly better than the champion, which require_better asks: {acc}; {auc}")
            ok = False
        if ok:
            verdict = "significantly better" if acc_better or auc_better else "not significantly worse"
            reasons.append(f"{verdict} than the champion: {acc}; {auc}")
    if ok:
        reasons.append("promote: every floor holds" + (" and the comparison allows it" if comparison.compared else ""))
    return ok, reasons


def compare_unseen(test: Path, y: np.ndarray, ours: np.ndarray, reigning, champion_dir: Path, rules: GateRules, budget: int,
                   analytic_rows: int = 0, keep: np.ndarray | None = None) -> tuple[Comparison, str]:  # fmt: skip
    """``compare`` of the challenger's probabilities ``ours`` and the loaded champion ``reigning`` (fetched into
    ``champion_dir``) on the test rows the champion never saw; or, when fewer than ``rules.min_unseen_rows``
    remain, a Comparison holding only the counts, and the reason line. ``keep``: when ``y`` and ``ours`` are a
    sample, the mask over every test row that chose them; the champion then predicts the sampled rows only."""
    everything = len(keep) if keep is not None else len(y)
    mask, too_few = gate_rows.judgeable_rows(test, everything, champion_dir, reigning.schema, rules.min_unseen_rows, keep)
    n = int(mask.sum())
    if too_few:
        return Comparison(rows=n, test_rows=len(y), seen_rows=len(y) - n), too_few
    rows = np.flatnonzero(mask)
    columns = list(reigning.schema.features)
    theirs = np.concatenate([reigning.predict_proba(b) for b in gate_rows.champion_batches(test, columns, keep)])
    result = compare(y[rows], ours[rows], theirs[rows], rules, budget, analytic_rows)
    result.test_rows, result.seen_rows = len(y), len(y) - n
    return result, ""


def judge(
    model_dir: Path, test: Path, predictions: Path, metrics: Metrics, registry: str | Registry, champion: str,
    rules: GateRules, scratch: Path, n_threads: int = 1, bootstrap_budget: int = 0, analytic_rows: int = 0,
    judge_rows: int = 0,
) -> Judgement:  # fmt: skip
    """Judge the challenger in ``model_dir`` (its ``predictions`` and ``metrics`` on ``test``) against ``champion``,
    the identity ``<version>@<sha256>`` read from ``registry`` (a model name's entry, or its location; "" for none),
    under ``rules``.
    ``bootstrap_budget``: the most resamples x rows the bootstrap may cost (0: no cap); ``analytic_rows``: from
    this many test rows on, paired normal intervals instead of the bootstrap (0: never); ``judge_rows``: above this
    many test rows, the challenger is judged in bounded memory (0: never): its metrics for the floors and the
    same-rows check are recomputed streamed (as the score task streams them), and the comparison with the champion
    runs on a sample of about ``judge_rows`` test rows, seeded by ``rules.bootstrap_seed``."""
    schema = read_schema(model_dir)
    if schema.regression:
        from flyte.core.gate.regression_gate import judge_regression

        return judge_regression(model_dir, schema, test, predictions, metrics, registry, champion, rules, scratch, n_threads,
                                bootstrap_budget, analytic_rows, judge_rows)
    texts = schema.label_texts
    keep, sampled = gate_rows.sample_for_judging(num_rows(test), judge_rows, rules.bootstrap_seed)
    if keep is not None:
        # Every row in memory would cost ~100 bytes a test row (3.6 GiB at 33M): the counts and metrics stream in
        # fixed memory, and a paired comparison on a million sampled rows already resolves accuracy differences of
        # about a tenth of a percentage point (docs/statistics.md), so the champion is met on a sample.
        recomputed = score_streamed(test, predictions, schema, ScoreSettings())[0]
        y, ours = read_scored_rows(test, predictions, schema.target, texts, schema.label_kind, keep)
    else:
        y, ours = read_scored(test, predictions, schema.target, texts, schema.label_kind)
        recomputed = score_predictions(y, ours, texts)
    check_same_rows(metrics, recomputed)
    floors = check_floors(recomputed, rules)
    met = meet_champion(model_dir, schema, test, registry, champion, rules.replace_incompatible, scratch, n_threads)
    comparison, preamble, version = Comparison(), [*met.preamble, *sampled], met.version
    if met.kept:
        return Judgement(GateDecision(False, met.kept, floors, comparison, champion, version), schema.target)
    if met.reigning is not None:
        comparison, note = compare_unseen(test, y, ours, met.reigning, met.directory, rules, bootstrap_budget, analytic_rows, keep)
        if note:
            preamble.append(note)
    promote, reasons = decide(floors, comparison, rules, preamble)
    floors_only = bool(champion) and not comparison.compared
    decision = GateDecision(promote, reasons, floors, comparison, champion, version, floors_only=floors_only)
    log.info("gate: promote=%s against champion %s; %s", promote, version or "none", "; ".join(reasons))
    return Judgement(decision, schema.target)


