"""The quality gate: floors on the new model's metrics and a paired comparison with the champion, then a decision."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from flyte.core.data import labels as lbl
from flyte.core.common.errors import DataValidationError
from flyte.core.gate.gate_stats import mcnemar_exact, paired_intervals
from flyte.core.gate.regression_comparison import RegressionComparison
from flyte.core.artifact.manifest import MANIFEST_FILE, sha256
from flyte.core.evaluation.predict import probability_column
from flyte.core.registry.registry import Registry
from flyte.core.artifact.schema import ModelSchema, read_schema
from flyte.core.evaluation.score import Metrics, score_predictions
from flyte.core.data.tables import iter_batches, read_columns, schema as table_schema
from flyte.core.common.validation import check_types, require

log = logging.getLogger(__name__)


@dataclass
class GateRules:
    """What a challenger must meet. Every field is required here; the Flyte-facing ``GateCriteria``
    (flyte/workflows/gate/tasks.py) gives each its default from flyte/workflows/config.py.

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
class FloorCheck:
    """One floor: the challenger's ``value`` of ``metric`` against ``bound`` (``kind`` "at least" or "at most")."""

    metric: str = ""
    value: float = 0.0
    bound: float = 0.0
    kind: str = "at least"
    passed: bool = False


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


@dataclass
class GateDecision:
    """The gate's verdict. promote: whether the challenger becomes the champion; reasons: why, in words.

    champion: the champion judged against, ``<version>@<manifest sha256>`` ("" when none);
    champion_version: its version name; promoted_version: the version the challenger was stored under
    ("" unless promoted); model_name: the registry entry judged and promoted into ("" when not set).
    floors_only: a champion was there but the floors alone decided (too few rows it never saw, no recorded split
    rule, or replace_incompatible); a reason says which.
    regression: a regression challenger's comparison with its champion (None for a classifier, whose is ``comparison``).
    """

    promote: bool = False
    reasons: list[str] = field(default_factory=list)
    floors: list[FloorCheck] = field(default_factory=list)
    comparison: Comparison = field(default_factory=Comparison)
    champion: str = ""
    champion_version: str = ""
    promoted_version: str = ""
    model_name: str = ""
    floors_only: bool = False
    regression: Optional[RegressionComparison] = None


class Judgement(NamedTuple):
    decision: GateDecision
    html: str


def check_floors(metrics: Metrics, rules: GateRules) -> list[FloorCheck]:
    """The floors of ``rules`` applied to the challenger's metrics on the test rows."""
    return [
        FloorCheck("accuracy", metrics.accuracy, rules.min_accuracy, "at least", metrics.accuracy >= rules.min_accuracy),
        # A NaN AUC (a class missing from the test rows) passes no floor.
        FloorCheck("roc_auc", metrics.roc_auc, rules.min_roc_auc, "at least", bool(metrics.roc_auc >= rules.min_roc_auc)),
        FloorCheck("log_loss", metrics.log_loss, rules.max_log_loss, "at most", metrics.log_loss <= rules.max_log_loss),
    ]


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


def incompatibility(champion: ModelSchema, challenger: ModelSchema, columns: list[str]) -> str:
    """Why the champion cannot be scored on the challenger's test rows, or "" when it can."""
    if champion.target != challenger.target:
        return f"the champion predicts {champion.target!r}, the challenger {challenger.target!r}"
    if champion.label_texts != challenger.label_texts:
        return f"the champion's labels {champion.label_texts} differ from the challenger's {challenger.label_texts}"
    present = set(columns)
    missing = [f for f in champion.features if f not in present]
    if missing:
        return f"the test rows lack the champion's feature column(s) {missing}"
    return ""


def probabilities(predictions: Path, texts: list[str], rows: int) -> np.ndarray:
    """The probability columns of a predictions table, in ``texts`` order, as a rows x classes array."""
    table = read_columns(predictions, [probability_column(t) for t in texts])
    if table.num_rows != rows:
        raise DataValidationError(f"{predictions}: {table.num_rows} predictions for {rows} test rows")
    return np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])


def judge(
    model_dir: Path, test: Path, predictions: Path, metrics: Metrics, registry: str | Registry, champion: str,
    rules: GateRules, scratch: Path, n_threads: int = 1, bootstrap_budget: int = 0, analytic_rows: int = 0,
) -> Judgement:  # fmt: skip
    """Judge the challenger in ``model_dir`` (its ``predictions`` and ``metrics`` on ``test``) against ``champion``,
    the identity ``<version>@<sha256>`` read from ``registry`` (a model name's entry, or its location; "" for none),
    under ``rules``.
    ``bootstrap_budget``: the most resamples x rows the bootstrap may cost (0: no cap); ``analytic_rows``: from
    this many test rows on, paired normal intervals instead of the bootstrap (0: never)."""
    from flyte.core.gate.gate_report import render_gate

    schema = read_schema(model_dir)
    if schema.regression:
        from flyte.core.gate.regression_gate import judge_regression

        return judge_regression(model_dir, schema, test, predictions, metrics, registry, champion, rules, scratch, n_threads)
    texts = schema.label_texts
    y = lbl.read_codes(test, schema.target, texts, schema.label_kind)
    ours = probabilities(predictions, texts, len(y))
    recomputed = score_predictions(y, ours, texts)
    if recomputed.rows != metrics.rows or not math.isclose(recomputed.accuracy, metrics.accuracy, abs_tol=1e-12):
        raise DataValidationError(
            f"the metrics given (accuracy {metrics.accuracy}, {metrics.rows} rows) are not those of these predictions "
            f"(accuracy {recomputed.accuracy}, {recomputed.rows} rows)"
        )
    floors = check_floors(recomputed, rules)
    comparison, preamble, version = Comparison(), [], ""
    if not champion:
        preamble.append("no champion yet: the floors alone decide")
    else:
        version, _, digest = champion.partition("@")
        if digest == sha256((Path(model_dir) / MANIFEST_FILE).read_bytes()):
            decision = GateDecision(False, [f"the challenger is already the champion ({version}): nothing to promote"],
                                    floors, comparison, champion, version)  # fmt: skip
            return Judgement(decision, render_gate(decision, schema.target))
        from flyte.core.artifact.model import load_model

        entry = registry if isinstance(registry, Registry) else Registry(registry)
        champion_dir = entry.fetch(version, digest, Path(scratch) / "champion")
        reigning = load_model(champion_dir, n_threads=n_threads)
        if reigning.schema.problem_type != schema.problem_type:  # never judged, whatever replace_incompatible says
            from flyte.core.gate.regression_gate import refuse_other_problem

            return refuse_other_problem(floors, champion, version, reigning.schema, schema)
        why = incompatibility(reigning.schema, schema, table_schema(test).names)
        if why and not rules.replace_incompatible:
            decision = GateDecision(False, [f"the champion {version} cannot be compared on these test rows: {why}",
                                            "kept the champion; set replace_incompatible to judge by the floors alone"],
                                    floors, comparison, champion, version)  # fmt: skip
            return Judgement(decision, render_gate(decision, schema.target))
        if why:
            preamble.append(f"the champion {version} cannot be compared ({why}); replace_incompatible: the floors alone decide")
        else:
            from flyte.core.gate.gate_rows import compare_unseen

            comparison, note = compare_unseen(test, y, ours, reigning, champion_dir, rules, bootstrap_budget, analytic_rows)
            if note:
                preamble.append(note)
    promote, reasons = decide(floors, comparison, rules, preamble)
    floors_only = bool(champion) and not comparison.compared
    decision = GateDecision(promote, reasons, floors, comparison, champion, version, floors_only=floors_only)
    log.info("gate: promote=%s against champion %s; %s", promote, version or "none", "; ".join(reasons))
    return Judgement(decision, render_gate(decision, schema.target))


